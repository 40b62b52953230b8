/**
 * Sets up a trace's catalogue in the emulator through its control API: one shop, one location per trace
 * location, one tracked DENY product per SKU, `available` at every key = initial units - buffer (what a correct
 * system shows before the sale). Returns the ids a mapping table and the driver need.
 */
import type { Trace } from './trace.js';

export type SeededShop = {
  domain: string;
  /** Location code -> Shopify Location gid. */
  locations: Record<string, string>;
  /** SKU -> Shopify ids. */
  items: Record<string, { inventoryItemId: string; variantId: string }>;
};

export type SeedShopOptions = {
  accessToken: string;
  plan?: 'standard' | 'advanced' | 'plus' | 'enterprise';
  webhookUrl?: string;
  webhookSecret?: string;
  /** `available` to start each key with; default max(0, units - trace.buffer). */
  availableOf?: (sku: string, locationId: string, units: number) => number;
};

async function control(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/_emulator${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`emulator ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

export async function seedShop(emulatorUrl: string, domain: string, trace: Pick<Trace, 'skus' | 'locations' | 'initialStock' | 'buffer'>, o: SeedShopOptions): Promise<SeededShop> {
  await control(emulatorUrl, '/shops', {
    domain,
    accessToken: o.accessToken,
    plan: o.plan ?? 'standard',
    ...(o.webhookUrl ? { webhookUrl: o.webhookUrl } : {}),
    ...(o.webhookSecret ? { webhookSecret: o.webhookSecret } : {}),
  });
  const locations: Record<string, string> = {};
  for (const code of trace.locations) locations[code] = (await control(emulatorUrl, `/shops/${domain}/locations`, { name: code })).id as string;
  const items: SeededShop['items'] = {};
  for (const sku of trace.skus) {
    const p = (await control(emulatorUrl, `/shops/${domain}/products`, { sku })) as { inventoryItemId: string; variantId: string };
    items[sku] = { inventoryItemId: p.inventoryItemId, variantId: p.variantId };
  }
  const availableOf = o.availableOf ?? ((_s: string, _l: string, units: number) => Math.max(0, units - trace.buffer));
  for (const s of trace.initialStock) {
    await control(emulatorUrl, `/shops/${domain}/inventory`, { inventoryItemId: items[s.sku]!.inventoryItemId, locationId: locations[s.locationId], quantities: { available: availableOf(s.sku, s.locationId, s.units) } });
  }
  return { domain, locations, items };
}
