import type { FastifyRequest } from 'fastify';
import { boundShops, type Config, type SourceConfig } from '../../config/schema.js';
import { Errors } from '../../domain/errors.js';
import { clip } from '../../domain/limits.js';
import type { HttpDeps } from './deps.js';
import { secretsEqual } from './hmac.js';

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
function principals(config: Config, env: NodeJS.ProcessEnv): { principal: Principal; token: string | undefined }[] {
  return [
    ...config.sources.map((s) => ({ principal: { kind: 'source' as const, name: s.name, source: s, shops: boundShops(config, s) }, token: s.token_env ? env[s.token_env] : undefined })),
    ...config.channels.map((c) => ({ principal: { kind: 'channel' as const, name: c.name, shops: boundShops(config, c) }, token: env[c.token_env] })),
    ...(config.operator ? [{ principal: { kind: 'operator' as const, name: 'operator' as const }, token: env[config.operator.token_env] }] : []),
  ];
}

/** The principal whose token the request presents, or null. Compares against every token (constant time each). */
export function principalOf(deps: Pick<HttpDeps, 'config' | 'env'>, req: FastifyRequest): Principal | null {
  const token = bearer(req);
  if (!token) return null;
  let found: Principal | null = null;
  for (const p of principals(deps.config, deps.env)) {
    if (p.token !== undefined && p.token !== '' && secretsEqual(token, p.token) && found === null) found = p.principal;
  }
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
