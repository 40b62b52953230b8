import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MAX_ID_LENGTH } from '../../../domain/limits.js';
import { requireShop, resolveKeys } from '../../../reads/lookup.js';
import { authenticate, requireShopScope, type Principal } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { readDepsOf } from '../read-deps.js';
import { parseQuery } from './explain.js';

const query = z.strictObject({
  sku: z.string({ error: 'required' }).min(1, 'required').max(MAX_ID_LENGTH, `at most ${MAX_ID_LENGTH} characters`),
  location: z.string().min(1, 'expected a location id').max(MAX_ID_LENGTH, `at most ${MAX_ID_LENGTH} characters`).optional(),
});

const mayRead = (p: Principal): p is Extract<Principal, { kind: 'channel' | 'operator' }> => p.kind === 'channel' || p.kind === 'operator';

/**
 * GET /ats/:shop?sku=&location= — current ATS for other channels (marketplaces, POS): a channel's token for its
 * own shops, or the operator's. Answers may come from the read cache (`aggregation.cache_ttl_seconds`); Shopify
 * is never written from it (src/reads/ats-reader.ts).
 */
export function atsRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get<{ Params: { shop: string }; Querystring: Record<string, string> }>('/ats/:shop', async (req, reply) => {
    const p = authenticate(deps, req, mayRead);
    const shopId = req.params.shop;
    if (p.kind === 'channel') requireShopScope(p, shopId, 'shop');
    else requireShop(deps.config, shopId);
    const q = parseQuery(query, req);
    const keys = await resolveKeys(deps.db, deps.config, shopId, q.sku, q.location);
    const { atsReader } = readDepsOf(deps);
    const readings = await Promise.all(keys.map((k) => atsReader.read(shopId, k)));
    reply.header('cache-control', 'no-store').send({
      shopId,
      sku: q.sku,
      locations: readings.map((r) => ({ locationId: r.locationId, ats: r.ats, computedAt: r.computedAt, cached: r.cached })),
    });
  });
}
