import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_ID_LENGTH } from '../../../domain/limits.js';
import { keyHistory, shopHealth } from '../../../reads/console-data.js';
import { explainSku } from '../../../reads/explain.js';
import { requireShop, resolveKeys } from '../../../reads/lookup.js';
import type { HttpDeps } from '../deps.js';
import { readDepsOf } from '../read-deps.js';
import { explainDepsOf, explainQuery, parseQuery } from './explain.js';

/** Where `npm run build` puts the console (vite, console/vite.config.ts); the same path from src/ and dist/. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../../dist/console/', import.meta.url));

const keyQuery = z.strictObject({
  sku: z.string({ error: 'required' }).min(1, 'required').max(MAX_ID_LENGTH, `at most ${MAX_ID_LENGTH} characters`),
  location: z.string().min(1, 'expected a location id').max(MAX_ID_LENGTH, `at most ${MAX_ID_LENGTH} characters`).optional(),
});

/**
 * The operator console: static files at /console/ (the page carries no data), and its data under /console/api/,
 * every route behind the operator token. Everything it shows is ids, quantities and times: order ids, never
 * anything about a customer (the webhook parser drops that before anything is stored).
 */
export function consoleRoutes(app: FastifyInstance, deps: HttpDeps, guard: (req: FastifyRequest) => void): void {
  app.get('/console/api/shops', async (req, reply) => {
    guard(req);
    reply.header('cache-control', 'no-store').send({ shops: deps.config.shops.map((s) => ({ shopId: s.id, domain: s.domain })) });
  });
  app.get<{ Params: { shop: string } }>('/console/api/shops/:shop/health', async (req, reply) => {
    guard(req);
    const { shopify } = readDepsOf(deps);
    reply.header('cache-control', 'no-store').send(await shopHealth({ db: deps.db, config: deps.config, shopify }, req.params.shop));
  });
  app.get<{ Params: { shop: string } }>('/console/api/shops/:shop/explain', async (req, reply) => {
    guard(req);
    const q = parseQuery(explainQuery.extend({ sku: keyQuery.shape.sku }), req);
    const keys = await explainSku(explainDepsOf(deps), req.params.shop, q.sku, q.location, q.writes === undefined ? {} : { writes: q.writes });
    reply.header('cache-control', 'no-store').send({ shopId: req.params.shop, sku: q.sku, locations: keys });
  });
  app.get<{ Params: { shop: string } }>('/console/api/shops/:shop/history', async (req, reply) => {
    guard(req);
    requireShop(deps.config, req.params.shop);
    const q = parseQuery(keyQuery, req);
    const keys = await resolveKeys(deps.db, deps.config, req.params.shop, q.sku, q.location);
    const series = await Promise.all(keys.map(async (k) => ({ locationId: k.locationId, points: await keyHistory(deps.db, req.params.shop, k) })));
    reply.header('cache-control', 'no-store').send({ shopId: req.params.shop, sku: q.sku, series });
  });

  app.get('/console', async (_req, reply) => reply.redirect('/console/'));
  if (existsSync(`${CONSOLE_DIST}index.html`)) {
    void app.register(fastifyStatic, { root: CONSOLE_DIST, prefix: '/console/', index: 'index.html', wildcard: false });
  } else {
    app.get('/console/', async (_req, reply) => reply.status(503).type('text/plain').send('the console is not built: run `npm run build`\n'));
  }
}
