import type { FastifyRequest } from 'fastify';
import type { SourceConfig } from '../../config/schema.js';
import { Errors } from '../../domain/errors.js';
import type { HttpDeps } from './deps.js';
import { secretsEqual } from './hmac.js';

/**
 * The configured source whose token (`sources[].token_env`) the request presents as `Authorization: Bearer`.
 * `roles` narrows who may call: POST /wms/allocations takes only WMS sources.
 */
export function authenticateSource(deps: HttpDeps, req: FastifyRequest, roles?: SourceConfig['role'][]): SourceConfig {
  const header = req.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  if (!token) throw Errors.SourceUnauthorized('Authorization: Bearer <source token> is required');
  const match = deps.config.sources.find((s) => {
    const expected = s.token_env ? deps.env[s.token_env] : undefined;
    return expected !== undefined && expected !== '' && secretsEqual(token, expected);
  });
  if (!match || (roles && !roles.includes(match.role))) {
    throw Errors.SourceUnauthorized(roles ? `the token is not one of a configured ${roles.join('/')} source` : 'the token is not one of a configured source');
  }
  return match;
}
