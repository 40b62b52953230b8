import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSnapshotSource } from '../../src/sources/postgres-snapshots.js';
import { SourceSimulator } from '../../src/sources/simulator.js';
import { connectTestServices, type TestServices } from '../support/services.js';

describe('simulated ERP, WMS and POS', () => {
  let svc: TestServices;
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => {
    await svc?.close();
  });

  function simulator(seed: number) {
    const prefix = svc.uid('sim');
    const shopId = `${prefix}-shop`;
    const sources = { erp: `${prefix}-erp`, wms: `${prefix}-wms`, pos: `${prefix}-pos` };
    const sim = new SourceSimulator({ db: svc.db, seed, shops: [{ shopId, skus: ['A', 'B', 'C'], locations: ['WH1', 'STORE'] }], sources, startAt: new Date('2026-11-30T08:00:00Z') });
    const read = (role: 'erp' | 'wms' | 'pos') => new PostgresSnapshotSource(sources[role], role, svc.db);
    return { sim, shopId, read };
  }

  it('records plausible changes through the event path: the snapshots equal what the simulated systems hold', async () => {
    const { sim, shopId, read } = simulator(7);
    const opened = await sim.open();
    expect(opened.get(shopId)).toHaveLength(6);
    let touched = 0;
    for (let i = 0; i < 20; i++) touched += (await sim.tick(10)).get(shopId)?.length ?? 0;
    expect(touched).toBeGreaterThan(0);

    const keys = ['A', 'B', 'C'].flatMap((sku) => ['WH1', 'STORE'].map((locationId) => ({ sku, locationId })));
    const [erp, wms, pos] = await Promise.all([read('erp').getComponents(shopId, keys), read('wms').getComponents(shopId, keys), read('pos').getComponents(shopId, keys)]);
    for (const key of keys) {
      const truth = sim.truth(shopId, key)!;
      const id = `${key.sku}|${key.locationId}`;
      expect({ onHand: erp.get(id), allocated: wms.get(id), pending: pos.get(id) }).toEqual(truth);
      expect(truth.allocated + truth.pending).toBeLessThanOrEqual(truth.onHand);
      expect(truth.onHand).toBeGreaterThanOrEqual(0);
    }
  });

  it('the same seed replays the same business day', async () => {
    const a = simulator(42);
    const b = simulator(42);
    await a.sim.open();
    await b.sim.open();
    await a.sim.tick(50);
    await b.sim.tick(50);
    for (const sku of ['A', 'B', 'C']) expect(a.sim.truth(a.shopId, { sku, locationId: 'WH1' })).toEqual(b.sim.truth(b.shopId, { sku, locationId: 'WH1' }));
  });

  it('a PostgreSQL source pages through its full snapshot in key order', async () => {
    const { sim, shopId, read } = simulator(3);
    await sim.open();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await read('erp').snapshot(cursor, 4);
      seen.push(...page.readings.map((r) => `${r.shopId}|${r.sku}|${r.locationId}`));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(2);
    expect(seen).toEqual(['A', 'B', 'C'].flatMap((sku) => ['STORE', 'WH1'].map((l) => `${shopId}|${sku}|${l}`)));
  });
});
