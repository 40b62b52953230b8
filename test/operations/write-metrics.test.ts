import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAudit } from '../../src/db/audit.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { eventToShopifySeconds, writes } from '../../src/observability/worker-metrics.js';
import { connectTestServices, type TestServices } from '../support/services.js';

/** isync_writes_total and the latency histogram are counted from the audit rows, in the statement that writes them. */
describe('write metrics from the audit log', () => {
  let svc: TestServices;
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => svc?.close());

  const count = async (shop: string, outcome: string) => (await writes.get()).values.find((v) => v.labels.shop === shop && v.labels.outcome === outcome)?.value ?? 0;
  const latencyCount = async (shop: string) => (await eventToShopifySeconds.get()).values.find((v) => v.labels.shop === shop && v.metricName === 'isync_event_to_shopify_seconds_count')?.value ?? 0;

  it('counts an applied write whose key a failed attempt sent as replayed, and others by their outcome', async () => {
    const shop = svc.uid('wm');
    const key = `refresh:${shop}:v1`;
    const row = { shopId: shop, sku: 'A', locationId: 'WH1', trigger: 'claim', ats: 3, version: 1n, idempotencyKey: key };
    await writeAudit(svc.db, [{ ...row, outcome: 'error', detail: 'network' }]);
    await writeAudit(svc.db, [{ ...row, outcome: 'applied' }, { ...row, sku: 'B', idempotencyKey: `${key}:other`, outcome: 'applied' }, { ...row, sku: 'C', outcome: 'stale' }]);
    expect(await count(shop, 'error')).toBe(1);
    expect(await count(shop, 'replayed')).toBe(1);
    expect(await count(shop, 'applied')).toBe(1);
    expect(await count(shop, 'stale')).toBe(1);
  });

  it("observes source-change-to-Shopify latency for writes a source change triggered, from the key's recorded change", async () => {
    const shop = svc.uid('wl');
    await recordSourceChanges(svc.db, `${shop}-erp`, [{ shopId: shop, sku: 'A', locationId: 'WH1', quantity: 5, occurredAt: new Date().toISOString() }]);
    await new Promise((r) => setTimeout(r, 300));
    const base = { shopId: shop, sku: 'A', locationId: 'WH1', ats: 5, version: 2n, idempotencyKey: `k-${shop}` };
    await writeAudit(svc.db, [{ ...base, trigger: 'claim', outcome: 'applied' }]);
    expect(await latencyCount(shop)).toBe(0);
    await writeAudit(svc.db, [{ ...base, trigger: 'claim,source_event', outcome: 'applied' }, { ...base, sku: 'B', trigger: 'source_event', outcome: 'stale' }]);
    expect(await latencyCount(shop)).toBe(1);
    const sum = (await eventToShopifySeconds.get()).values.find((v) => v.labels.shop === shop && v.metricName === 'isync_event_to_shopify_seconds_sum')!.value;
    expect(sum).toBeGreaterThanOrEqual(0.3);
    expect(sum).toBeLessThan(10);
  });
});
