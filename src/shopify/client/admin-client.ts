import { createAdminApiClient } from '@shopify/admin-api-client';
import { Errors } from '../../domain/errors.js';
import type { ClientLogger } from './types.js';

export const DEFAULT_API_VERSION = '2026-10';

export interface GraphqlError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface QueryCost {
  requestedQueryCost?: number | null;
  actualQueryCost?: number | null;
  throttleStatus?: ThrottleStatus;
}

/** One HTTP exchange, flattened: the package reports non-2xx, bad JSON and network failures in three shapes. */
export interface GraphqlReply {
  /** Undefined when no response arrived (network error, timeout). */
  status: number | undefined;
  data: unknown;
  errors: GraphqlError[];
  cost: QueryCost | undefined;
  /** Retry-After as Shopify sends it (seconds), converted to ms. */
  retryAfterMs: number | undefined;
  networkError: string | undefined;
}

export interface TransportOptions {
  shopDomain: string;
  accessToken: string;
  apiVersion?: string;
  baseUrl?: string;
  fetchImpl?: typeof fetch;
  logger?: ClientLogger;
}

export type GraphqlTransport = (
  query: string,
  variables: Record<string, unknown>,
  signal: AbortSignal,
) => Promise<GraphqlReply>;

/** The origin a shop's calls go to: https://{shop}, or SHOPIFY_API_BASE_URL's. */
function endpointOf(shopDomain: string, baseUrl: string | undefined): string {
  return rewriteOrigin(`https://${shopDomain}/admin/api/graphql.json`, baseUrl).replace(/\/admin\/.*$/, '');
}

/**
 * Rewrites the package's https://{shop} URL onto baseUrl (SHOPIFY_API_BASE_URL): the package forces https
 * and keeps only the origin, so a local server is reachable only from inside customFetchApi.
 */
export function rewriteOrigin(url: string, baseUrl: string | undefined): string {
  if (baseUrl === undefined || baseUrl === '') return url;
  const target = new URL(url);
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/$/, '');
  return `${base.origin}${basePath}${target.pathname}${target.search}`;
}

/** The package throws plain Errors for a bad domain or a missing token; ours carry a stable code. */
function createPackageClient(options: Parameters<typeof createAdminApiClient>[0]): ReturnType<typeof createAdminApiClient> {
  try {
    return createAdminApiClient(options);
  } catch (err) {
    throw Errors.ConfigInvalid(`cannot build the Shopify client for ${options.storeDomain}: ${(err as Error).message}`, undefined, { cause: err });
  }
}

export function createGraphqlTransport(opts: TransportOptions): GraphqlTransport {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const shopDomain = opts.shopDomain;
  const client = createPackageClient({
    storeDomain: shopDomain,
    apiVersion: opts.apiVersion ?? DEFAULT_API_VERSION,
    accessToken: opts.accessToken,
    // The package reads Retry-After as milliseconds and never retries THROTTLED-200: retries are ours.
    retries: 0,
    // Its log records carry request headers (the access token): forward only the version notice.
    logger: (entry) => {
      if (entry.type === 'Unsupported_Api_Version') opts.logger?.debug({ shopDomain }, 'api version not in package list');
    },
    customFetchApi: (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('X-Shopify-Shop-Domain', shopDomain);
      return fetchImpl(rewriteOrigin(url, opts.baseUrl), { ...init, headers });
    },
  });

  return async (query, variables, signal) => {
    const res = await client.request(query, { variables, signal });
    const failure = res.errors;
    const response = failure?.response;
    let rawErrors: unknown = failure?.graphQLErrors;
    let data: unknown = res.data;
    let extensions: unknown = res.extensions;
    // On non-2xx the package returns only statusText; the JSON body (e.g. a 429 THROTTLED) is still unread.
    if (response !== undefined && !response.ok && !response.bodyUsed) {
      const body = await readJsonQuietly(response);
      if (body !== undefined) {
        rawErrors = body.errors ?? rawErrors;
        data = body.data ?? data;
        extensions = body.extensions ?? extensions;
      }
    }
    const errors = normaliseErrors(rawErrors);
    const status = failure === undefined ? 200 : failure.networkStatusCode;
    const headers = response?.headers ?? res.headers;
    return {
      status,
      data,
      errors,
      cost: sanitiseCost(isRecord(extensions) ? extensions.cost : undefined),
      retryAfterMs: parseRetryAfter(headers?.get('Retry-After') ?? null),
      // Names where it went: with SHOPIFY_API_BASE_URL unset (or wrong) a fetch failure is otherwise a riddle.
      networkError: failure !== undefined && failure.networkStatusCode === undefined ? `${failure.message} (${endpointOf(shopDomain, opts.baseUrl)})` : undefined,
    };
  };
}

/**
 * `errors` as a list of {message, extensions?}. GraphQL says a list, but Shopify answers auth and REST-style
 * failures with a string (`"[API] Invalid API key ..."`) or an object (`{"query": "Required parameter missing"}`),
 * and another compatible server may do either anywhere: whatever the shape, the caller sees one.
 */
export function normaliseErrors(raw: unknown): GraphqlError[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) return raw.map(toGraphqlError);
  if (isRecord(raw) && typeof raw.message !== 'string') {
    // A REST-style object: each key names what is wrong.
    return Object.entries(raw).map(([key, value]) => ({ message: `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}` }));
  }
  return [toGraphqlError(raw)];
}

function toGraphqlError(raw: unknown): GraphqlError {
  if (typeof raw === 'string') return { message: raw };
  if (isRecord(raw)) {
    const message = typeof raw.message === 'string' ? raw.message : JSON.stringify(raw);
    if (!isRecord(raw.extensions)) return { message };
    const { code, ...rest } = raw.extensions;
    return { message, extensions: typeof code === 'string' ? { ...rest, code } : rest };
  }
  return { message: String(raw) };
}

/**
 * extensions.cost kept only where its numbers can be trusted: the budget does arithmetic on throttleStatus, and
 * one missing restoreRate made every projection NaN (acquire() then waited forever). A throttleStatus is kept
 * whole or not at all.
 */
export function sanitiseCost(raw: unknown): QueryCost | undefined {
  if (!isRecord(raw)) return undefined;
  const cost: QueryCost = {};
  for (const field of ['requestedQueryCost', 'actualQueryCost'] as const) {
    const value = raw[field];
    if (value === null) cost[field] = null;
    else if (isFiniteNumber(value)) cost[field] = value;
  }
  const status = raw.throttleStatus;
  if (
    isRecord(status) &&
    isFiniteNumber(status.maximumAvailable) &&
    isFiniteNumber(status.currentlyAvailable) &&
    isFiniteNumber(status.restoreRate) &&
    status.maximumAvailable > 0 &&
    status.currentlyAvailable >= 0 &&
    status.restoreRate >= 0
  ) {
    cost.throttleStatus = { maximumAvailable: status.maximumAvailable, currentlyAvailable: status.currentlyAvailable, restoreRate: status.restoreRate };
  }
  return Object.keys(cost).length === 0 ? undefined : cost;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Retry-After is seconds (or an HTTP date); the package's milliseconds reading is the bug we avoid. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function readJsonQuietly(response: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const text = await response.text();
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
