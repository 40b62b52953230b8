import { randomUUID } from 'node:crypto';
import type {
  GraphQLError} from 'graphql';
import {
  execute,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
} from 'graphql';
import { actualCost, requestedCost, MAX_QUERY_COST, type CostInput } from './cost.js';
import { SUPPORTED_API_VERSIONS, type Emulator } from './emulator.js';
import { preflight } from './preflight.js';
import { fieldResolver, typeResolver } from './resolvers.js';
import { emulatorSchema } from './schema.js';
import type { ShopState } from './state.js';

export const RATE_LIMIT_DOCS = 'https://shopify.dev/api/usage/rate-limits';

export interface GraphqlHttpRequest {
  version: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface GraphqlHttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering (a timeout that ends in a connection reset). */
  close?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function header(h: GraphqlHttpRequest['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const UNAUTHORIZED: GraphqlHttpAnswer = {
  status: 401,
  body: { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' },
};

/**
 * Names the shop: X-Shopify-Shop-Domain when sent (the token must belong to that shop), otherwise the shop that
 * owns the access token (tokens are unique per shop).
 */
export function resolveShop(emulator: Emulator, headers: GraphqlHttpRequest['headers']): ShopState | GraphqlHttpAnswer {
  const token = header(headers, 'x-shopify-access-token');
  if (!token) return UNAUTHORIZED;
  const domain = header(headers, 'x-shopify-shop-domain');
  if (domain) {
    const shop = emulator.shops.get(domain);
    if (!shop) return { status: 404, body: { errors: 'Not Found' } };
    return shop.config.accessToken === token ? shop : UNAUTHORIZED;
  }
  return emulator.shopByToken(token) ?? UNAUTHORIZED;
}

function costExtension(shop: ShopState, requested: number, actual: number | null) {
  return { cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: shop.bucket.status() } };
}

async function timeoutAnswer(shop: ShopState, mode: 'hang' | 'close', ms: number): Promise<GraphqlHttpAnswer> {
  shop.counters.timeouts += 1;
  await sleep(ms);
  if (mode === 'close') return { status: 0, body: null, close: true };
  shop.counters.errors5xx += 1;
  return { status: 504, body: { errors: 'Gateway Timeout' } };
}

export async function handleGraphql(emulator: Emulator, req: GraphqlHttpRequest): Promise<GraphqlHttpAnswer> {
  if (!SUPPORTED_API_VERSIONS.has(req.version)) return { status: 404, body: { errors: 'Not Found' } };
  const resolved = resolveShop(emulator, req.headers);
  if (!('config' in resolved)) return resolved;
  const shop = resolved;
  const domain = shop.config.domain;
  shop.counters.calls += 1;
  const faults = emulator.faults.resolved(domain);

  const early = emulator.faults.takeOneShot(domain, 'before');
  if (early?.reply) return { status: early.reply.status, body: early.reply.body, headers: early.reply.headers ?? {} };
  if (early?.timeout) return timeoutAnswer(shop, faults.timeoutMode, faults.timeoutMs);
  if (early?.throttle) {
    shop.counters.throttled += 1;
    return {
      status: 429,
      headers: { 'Retry-After': String(early.retryAfterSeconds ?? 1) },
      body: { errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: RATE_LIMIT_DOCS } }] },
    };
  }
  if (early) {
    shop.counters.errors5xx += 1;
    return { status: early.status ?? 503, body: { errors: 'Service Unavailable' } };
  }
  if (emulator.faults.roll(domain, faults.errorRate5xx)) {
    shop.counters.errors5xx += 1;
    return { status: 503, body: { errors: 'Service Unavailable' } };
  }
  if (emulator.faults.roll(domain, faults.timeoutRate)) return timeoutAnswer(shop, faults.timeoutMode, faults.timeoutMs);

  const body = (req.body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof body.query !== 'string' || body.query.trim() === '') {
    return { status: 400, body: { errors: { query: 'Required parameter missing or invalid' } } };
  }
  const schema = emulatorSchema();
  let document: DocumentNode;
  try {
    document = parse(body.query);
  } catch (e) {
    return { status: 200, body: { errors: [(e as GraphQLError).toJSON()] } };
  }
  const validationErrors = validate(schema, document);
  if (validationErrors.length > 0) return { status: 200, body: { errors: validationErrors.map((e) => e.toJSON()) } };
  const operationName = typeof body.operationName === 'string' ? body.operationName : undefined;
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    return { status: 200, body: { errors: [{ message: 'An operation name is required when the document has several operations.' }] } };
  }
  const rawVariables = body.variables && typeof body.variables === 'object' ? (body.variables as Record<string, unknown>) : {};
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables);
  if (coerced.errors) return { status: 200, body: { errors: coerced.errors.map((e) => e.toJSON()) } };
  const variables = coerced.coerced;

  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === 'FragmentDefinition') fragments[d.name.value] = d;
  const costInput: CostInput = { schema, operation, fragments, variables };
  const requested = requestedCost(costInput);

  const checks = preflight(schema, document, operation, variables);
  if (checks.errors.length > 0) {
    return { status: 200, body: { errors: checks.errors.map((e) => e.toJSON()), extensions: costExtension(shop, requested, null) } };
  }
  if (requested > MAX_QUERY_COST) {
    return {
      status: 200,
      body: {
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_QUERY_COST}).`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: MAX_QUERY_COST, documentation: RATE_LIMIT_DOCS },
          },
        ],
        extensions: costExtension(shop, requested, null),
      },
    };
  }
  if (faults.forceThrottle || !shop.bucket.tryTake(requested)) {
    shop.counters.throttled += 1;
    const status = shop.bucket.status();
    const waitS = Math.max(1, Math.ceil((requested - status.currentlyAvailable) / status.restoreRate));
    return {
      status: faults.throttleHttpStatus,
      headers: faults.throttleHttpStatus === 429 ? { 'Retry-After': String(faults.throttleRetryAfterSeconds ?? waitS) } : {},
      body: {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: RATE_LIMIT_DOCS } }],
        extensions: costExtension(shop, requested, null),
      },
    };
  }

  const requestId = randomUUID();
  for (const f of checks.idempotent) f.concurrent = !shop.idempotency.reserve(f.key, f.fingerprint, requestId);
  let result;
  try {
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    result = await execute({
      schema,
      document,
      operationName,
      variableValues: rawVariables,
      contextValue: emulator.context(shop, requestId, false, new Map(checks.idempotent.map((f) => [f.responseKey, f]))),
      fieldResolver,
      typeResolver,
    });
  } finally {
    shop.idempotency.release(requestId);
  }
  const actual = Math.min(requested, actualCost(costInput, result.data));
  shop.bucket.refund(requested - actual);
  shop.counters.costSpent += actual;
  shop.counters.requestedCost += requested;

  const rootFields = operation.selectionSet.selections.flatMap((sel) => (sel.kind === 'Field' ? [sel.name.value] : []));
  for (const f of rootFields) shop.counters.rootFields[f] = (shop.counters.rootFields[f] ?? 0) + 1;
  const late = emulator.faults.takeOneShot(domain, 'after', rootFields);
  if (late?.timeout) return timeoutAnswer(shop, faults.timeoutMode, faults.timeoutMs);
  if (late || emulator.faults.roll(domain, faults.failAfterApply5xxRate)) {
    shop.counters.errors5xx += 1;
    shop.counters.errors5xxAfterApply += 1;
    return { status: late?.status ?? 500, body: { errors: 'Internal Server Error' } };
  }
  const out: Record<string, unknown> = {};
  if (result.errors?.length) out.errors = result.errors.map((e) => e.toJSON());
  out.data = result.data ?? null;
  out.extensions = costExtension(shop, requested, actual);
  return { status: 200, body: out };
}
