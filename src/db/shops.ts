import type { ShopConfig } from '../config/schema.js';
import { Errors } from '../domain/errors.js';
import { inTransaction, type Db } from './pool.js';

export interface ShopRegistration {
  added: string[];
  updated: string[];
}

/**
 * Makes the `shops` table hold the configured shops: new ones are added, a changed domain or plan is updated.
 * Shops that left the configuration are kept (their mappings and reservations stay explainable). Run by `migrate`
 * and by the worker and server at start, so nothing is inserted by hand.
 */
export async function registerShops(db: Db, shops: readonly ShopConfig[]): Promise<ShopRegistration> {
  if (shops.length === 0) return { added: [], updated: [] };
  return inTransaction(db, async (client) => {
    const { rows: clashes } = await client.query<{ id: string; domain: string }>(
      `SELECT s.id, s.domain FROM shops s JOIN unnest($1::text[], $2::text[]) AS c(id, domain) ON s.domain = c.domain AND s.id <> c.id`,
      [shops.map((s) => s.id), shops.map((s) => s.domain)],
    );
    if (clashes.length > 0) {
      const c = clashes[0]!;
      throw Errors.ConfigInvalid(`shop domain ${c.domain} is already registered as shop "${c.id}"; a shop's id cannot change (rename it back, or remove the old shop)`, { shopId: c.id, domain: c.domain });
    }
    const { rows } = await client.query<{ id: string; inserted: boolean }>(
      `INSERT INTO shops AS s (id, domain, plan) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (id) DO UPDATE SET domain = EXCLUDED.domain, plan = EXCLUDED.plan
         WHERE s.domain IS DISTINCT FROM EXCLUDED.domain OR s.plan IS DISTINCT FROM EXCLUDED.plan
       RETURNING id, (xmax = 0) AS inserted`,
      [shops.map((s) => s.id), shops.map((s) => s.domain), shops.map((s) => s.plan)],
    );
    return { added: rows.filter((r) => r.inserted).map((r) => r.id), updated: rows.filter((r) => !r.inserted).map((r) => r.id) };
  });
}
