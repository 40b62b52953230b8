import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Errors } from '../../../domain/errors.js';
import { MAX_ID_LENGTH } from '../../../domain/limits.js';
import { explainSku, type ExplainDeps } from '../../../reads/explain.js';
import type { HttpDeps } from '../deps.js';
import { readDepsOf } from '../read-deps.js';

export const explainQuery = z.strictObject({
  location: z.string().min(1, 'expected a location id').max(MAX_ID_LENGTH, `at most ${MAX_ID_LENGTH} characters`).optional(),
  writes: z.coerce.number({ error: 'expected a number' }).int('expected a whole number').min(1, 'expected 1 to 500').max(500, 'expected 1 to 500').optional(),
});

/** A query string checked against a schema; the first problem is a 400 naming its field. */
export function parseQuery<T>(schema: z.ZodType<T>, req: FastifyRequest): T {
  const parsed = schema.safeParse(req.query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'query';
  throw Errors.PayloadInvalid(`${field}: ${issue.message}`, { field });
}

export function explainDepsOf(deps: HttpDeps): ExplainDeps {
  const { sources, shopify } = readDepsOf(deps);
  return { db: deps.db, redis: deps.redis, config: deps.config, sources, shopify, temporal: deps.temporal };
}

/** GET /explain/:shop/:sku[?location=&writes=N]: why ATS and Shopify's numbers are what they are (operator reads). */
export function explainRoutes(app: FastifyInstance, deps: HttpDeps, guard: (req: FastifyRequest) => void): void {
  app.get<{ Params: { shop: string; sku: string } }>('/explain/:shop/:sku', async (req, reply) => {
    guard(req);
    const q = parseQuery(explainQuery, req);
    const keys = await explainSku(explainDepsOf(deps), req.params.shop, req.params.sku, q.location, q.writes === undefined ? {} : { writes: q.writes });
    reply.header('cache-control', 'no-store').send({ shopId: req.params.shop, sku: req.params.sku, locations: keys });
  });
}
