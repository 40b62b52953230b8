import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { boundShops, type Config, type SourceConfig } from '../../config/schema.js';
import { Errors } from '../../domain/errors.js';
import { clip } from '../../domain/limits.js';
import type { HttpDeps } from './deps.js';

/**
 * Who a bearer token belongs to (docs/security.md): a source (erp/wms/pos: its events, and a WMS's allocations),
 * a channel (its own orders), or the operator (reads). Each source and channel acts for its shops only.
 */
export type Principal =
  | { kind: 'source'; name: string; source: SourceConfig; shops: string[] }
  | { kind: 'channel'; name: string; shops: string[] }
  | { kind: 'operator'; name: 'operator' };

/** The one answer to every failed authentication, so it tells nothing about which part was wrong. */
export const UNAUTHORIZED_MESSAGE = 'a valid bearer token for this route is required';

function bearer(req: FastifyRequest): string {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice(7).trim() : '';
}

/** Every configured principal with its token; a principal whose variable is unset has none and matches nothing. */
function principals(config: Config, env: NodeJS.ProcessEnv): { principal: Principal; token: string | undefined; path: string; variable: string | undefined }[] {
  return [
    ...config.sources.map((s, i) => ({ principal: { kind: 'source' as const, name: s.name, source: s, shops: boundShops(config, s) }, token: s.token_env ? env[s.token_env] : undefined, path: `sources.${i}.token_env`, variable: s.token_env })),
    ...config.channels.map((c, i) => ({ principal: { kind: 'channel' as const, name: c.name, shops: boundShops(config, c) }, token: env[c.token_env], path: `channels.${i}.token_env`, variable: c.token_env })),
    ...(config.operator ? [{ principal: { kind: 'operator' as const, name: 'operator' as const }, token: env[config.operator.token_env], path: 'operator.token_env', variable: config.operator.token_env }] : []),
  ];
}

/**
 * Callers whose tokens have the same value (under different variables): a request with it could only be taken as
 * one of them, so the value would grant one caller's rights to the other. `config check` reports each pair and the
 * HTTP server refuses to start; until then such a token matches no caller at all.
 */
export function sharedTokens(config: Config, env: NodeJS.ProcessEnv): { path: string; message: string }[] {
  const first = new Map<string, { path: string; variable: string | undefined; principal: Principal }>();
  const problems: { path: string; message: string }[] = [];
  for (const p of principals(config, env)) {
    if (!p.token) continue;
    const seen = first.get(p.token);
    if (seen) problems.push({ path: p.path, message: `${p.variable} holds the same token as ${seen.variable} (${seen.path}): each caller needs a token of its own, or one could act as the other (${p.principal.kind} "${p.principal.name}", ${seen.principal.kind} "${seen.principal.name}")` });
    else first.set(p.token, p);
  }
  return problems;
}

const digestOf = (token: string) => createHash('sha256').update(token).digest('base64');

/**
 * The principals by the SHA-256 digest of their token, built once per configuration and rebuilt when a token
 * variable changes. A request costs one digest and one map lookup instead of a constant-time comparison with every
 * configured token (twice: the rate limiter asks too), which showed in the ingest profile at 1,000 requests/s.
 * Looking up a digest leaks nothing usable about the token (finding a token by its digest's timing is a preimage
 * search). A token two principals share matches neither (see sharedTokens).
 */
interface PrincipalTable {
  stamp: string;
  byDigest: Map<string, Principal>;
}
const tables = new WeakMap<Config, WeakMap<NodeJS.ProcessEnv, PrincipalTable>>();

function principalTable(config: Config, env: NodeJS.ProcessEnv): PrincipalTable {
  const all = principals(config, env);
  const stamp = all.map((p) => p.token ?? '').join('\u0000');
  const perEnv = tables.get(config) ?? new WeakMap<NodeJS.ProcessEnv, PrincipalTable>();
  tables.set(config, perEnv);
  const cached = perEnv.get(env);
  if (cached?.stamp === stamp) return cached;
  const byDigest = new Map<string, Principal>();
  const shared = new Set<string>();
  for (const p of all) {
    if (p.token === undefined || p.token === '') continue;
    const d = digestOf(p.token);
    if (byDigest.has(d) && byDigest.get(d) !== p.principal) shared.add(d);
    else byDigest.set(d, p.principal);
  }
  // A token two callers share is nobody's (sharedTokens): refused rather than given to the first configured.
  for (const d of shared) byDigest.delete(d);
  const table = { stamp, byDigest };
  perEnv.set(env, table);
  return table;
}

/** Each request is authenticated once, though the rate limiter and the route both ask. */
const resolved = new WeakMap<FastifyRequest, Principal | null>();

/** The principal whose token the request presents, or null. */
export function principalOf(deps: Pick<HttpDeps, 'config' | 'env'>, req: FastifyRequest): Principal | null {
  if (resolved.has(req)) return resolved.get(req)!;
  const token = bearer(req);
  const found = token ? (principalTable(deps.config, deps.env).byDigest.get(digestOf(token)) ?? null) : null;
  resolved.set(req, found);
  return found;
}

/** The principal, if it may use this route; otherwise the same 401 for every reason. */
export function authenticate<P extends Principal>(deps: Pick<HttpDeps, 'config' | 'env'>, req: FastifyRequest, allowed: (p: Principal) => p is P): P {
  const p = principalOf(deps, req);
  if (!p || !allowed(p)) throw Errors.Unauthorized(UNAUTHORIZED_MESSAGE);
  return p;
}

export const isChannel = (p: Principal): p is Extract<Principal, { kind: 'channel' }> => p.kind === 'channel';
export const isOperator = (p: Principal): p is Extract<Principal, { kind: 'operator' }> => p.kind === 'operator';
export const isSourceOfRole =
  (...roles: SourceConfig['role'][]) =>
  (p: Principal): p is Extract<Principal, { kind: 'source' }> =>
    p.kind === 'source' && roles.includes(p.source.role);
export const isSourceNamed =
  (name: string) =>
  (p: Principal): p is Extract<Principal, { kind: 'source' }> =>
    p.kind === 'source' && p.name === name;

/** A source or channel may act for its shops only; an unconfigured shop gets the same answer as another's. */
export function requireShopScope(p: Exclude<Principal, { kind: 'operator' }>, shopId: string, field = 'shopId'): void {
  if (!p.shops.includes(shopId)) {
    throw Errors.Forbidden(`${field}: ${p.kind} "${p.name}" may not act for shop "${clip(shopId, 64)}"`, { field });
  }
}

/** What rate limits count by: the principal when the token is valid, else the caller's address. */
export function rateLimitKey(deps: Pick<HttpDeps, 'config' | 'env'>, req: FastifyRequest): string {
  const p = principalOf(deps, req);
  if (p) return `${p.kind}:${p.name}`;
  // An invalid token is not a key of its own (an attacker could mint endless buckets): its address is.
  return `ip:${req.ip}`;
}
