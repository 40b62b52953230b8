import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readComponents } from '../../src/sources/components.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { PostgresSnapshotSource } from '../../src/sources/postgres-snapshots.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';
import { insertClaim, nextEventTime } from './fixture.js';

describe('reading the ATS components of a batch', () => {
  let svc: TestServices;
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('sums sources of one role, sums open claims over orders, and takes the velocity buffer from recent daily sales', async () => {
    const shopId = svc.uid('comp');
    const names = { erpA: `${shopId}-erp-a`, erpB: `${shopId}-erp-b`, wms: `${shopId}-wms` };
    const record = (source: string, sku: string, quantity: number) => recordSourceChanges(svc.db, source, [{ shopId, sku, locationId: 'WH1', quantity, occurredAt: nextEventTime() }]);
    await record(names.erpA, 'FAST', 60);
    await record(names.erpB, 'FAST', 40);
    await record(names.wms, 'FAST', 7);
    await record(names.erpA, 'SLOW', 10);
    await svc.db.query(`INSERT INTO shops (id, domain) VALUES ($1, $2)`, [shopId, `${shopId}.myshopify.com`]);
    await insertClaim(svc, shopId, 'o1', 'FAST', 'WH1', 2);
    await insertClaim(svc, shopId, 'o2', 'FAST', 'WH1', 3);
    await insertClaim(svc, shopId, 'o3', 'FAST', 'STORE', 9); // another location: not this key's claim
    // FAST sold 0,4,0,4 over the last four days: sigma 2, so 1.65 * 2 * sqrt(7) = 8.73 -> 9
    await svc.db.query(
      `INSERT INTO sales_daily (shop_id, sku, day, units) SELECT $1, 'FAST', current_date - d, u FROM unnest(ARRAY[3,2,1,0], ARRAY[0,4,0,4]) AS x(d, u)`,
      [shopId],
    );
    const config = testConfig({ inventory_sync: { safety_buffers: { strategy: 'velocity_based', velocity: { window_days: 4, lead_time_days: 7, service_level_z: 1.65 } } } });
    const sources = [new PostgresSnapshotSource(names.erpA, 'erp', svc.db), new PostgresSnapshotSource(names.erpB, 'erp', svc.db), new PostgresSnapshotSource(names.wms, 'wms', svc.db)];

    const result = await readComponents({ db: svc.db, config, sources }, shopId, [
      { sku: 'FAST', locationId: 'WH1' },
      { sku: 'SLOW', locationId: 'WH1' },
      { sku: 'NEVER', locationId: 'WH1' },
    ]);
    expect(result.get('FAST|WH1')).toEqual({ status: 'ok', components: { erpOnHand: 100, wmsAllocated: 7, posPending: 0, openClaims: 5, safetyBuffer: 9 } });
    expect(result.get('SLOW|WH1')).toEqual({ status: 'ok', components: { erpOnHand: 10, wmsAllocated: 0, posPending: 0, openClaims: 0, safetyBuffer: 0 } });
    expect(result.get('NEVER|WH1')).toEqual({ status: 'no_on_hand' });
  });
});
