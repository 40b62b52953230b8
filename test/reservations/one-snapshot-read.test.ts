import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/pool.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { computeAts } from '../../src/domain/ats.js';
import { readComponents } from '../../src/sources/components.js';
import { PostgresSnapshotSource } from '../../src/sources/postgres-snapshots.js';
import { lineIdOf, orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

/**
 * A WMS total that shows confirmed units converts their claim (claimed -> allocated) in the transaction that
 * records it. A refresh that read the WMS total and the claims in two statements could land between them: the
 * total from before (0), the claims from after (3 of 5), so ATS two units too high, an oversell until the next
 * refresh. Forced here: the statement that reads the WMS reading runs, then the total commits, and only then may
 * any later statement run.
 */
describe('reading the claims and a WMS total that converts them', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 20 });
  });
  afterAll(async () => rig?.close());

  it('sees the conversion whole or not at all, whatever commits between its statements', async () => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 5 }] });
    const orderId = orderIdOf(order);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(5);
    expect((await rig.postWms({ shopId: rig.shopId, orderId, allocationId: 'a1', occurredAt: new Date().toISOString(), lines: [{ lineId: lineIdOf(order), sku: SKU, locationId: WH, quantity: 2 }] })).status).toBe(202);
    await expect.poll(async () => (await rig.status(orderId)).state, poll).toBe('partially_allocated');

    const wms = `${rig.shopId}-wms`;
    let opened!: () => void;
    const gate = new Promise<void>((resolve) => (opened = resolve));
    let gateKeeper = true;
    const statements: string[] = [];
    const db = {
      query: async (text: string, values?: unknown[]) => {
        statements.push(text);
        const readsWms = (values ?? []).some((v) => v === wms || (Array.isArray(v) && v.includes(wms)));
        if (readsWms && gateKeeper) {
          gateKeeper = false;
          const out = await rig.svc.db.query(text, values);
          // The WMS total catches up: the claim converts in that same transaction.
          await recordSourceChanges(rig.svc.db, wms, [{ shopId: rig.shopId, sku: SKU, locationId: WH, quantity: 2, occurredAt: new Date(Date.now() + 1000).toISOString() }]);
          opened();
          return out;
        }
        if (!gateKeeper) await gate;
        return rig.svc.db.query(text, values);
      },
    } as unknown as Db;
    const sources = rig.config.sources.map((s) => new PostgresSnapshotSource(s.name, s.role, db));

    const result = (await readComponents({ db, config: rig.config, sources }, rig.shopId, [{ sku: SKU, locationId: WH }])).get(`${SKU}|${WH}`);
    expect(gateKeeper).toBe(false);
    expect(await rig.claimLines(orderId)).toEqual([expect.objectContaining({ claimed: 3, allocated: 2 })]);
    if (result?.status !== 'ok') throw new Error(`expected components, got ${JSON.stringify(result)}`);
    // Before the total: 5 claimed + 0 in it; after: 3 + 2. Never 3 + 0.
    expect(result.components.openClaims + result.components.wmsAllocated).toBe(5);
    expect(computeAts(result.components)).toBe(15);
  });
});
