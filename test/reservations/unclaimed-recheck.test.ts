import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { RECHECK_AFTER_MS, takeDueRechecks } from '../../src/guard/unclaimed-recheck.js';
import type { MarkDirtyInput } from '../../src/temporal/handoff.js';
import { createRecheckSweeper } from '../../src/workers/recheck-sweeper.js';
import { startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';

/**
 * A key whose ATS subtracted a kept committed reading (a Shopify order not claimed yet) is refreshed again once
 * the reading has expired. Without it, a reading that counted an order Shopify cancelled before we ever claimed it
 * left Shopify low by that order until something else refreshed the key (test/reservations/unclaimed-orders.test.ts
 * shows how such a reading goes wrong; the chaos bench found it).
 */
describe('a refresh after a committed reading expires', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, webhooks: false, worker: false });
  });
  afterAll(async () => rig?.close());

  it('is scheduled by the refresh that subtracted the reading, and handed to the shop\'s refresh once due (again after a failed hand-off)', async () => {
    const key = { sku: SKU, locationId: 'WH1' };
    await rig.activities.refreshKeys({ shopId: rig.shopId, keys: [key], trigger: 'test' });
    expect(await takeDueRechecks(rig.svc.redis, rig.shopId, Date.now() + 10 * RECHECK_AFTER_MS)).toEqual([]); // no reading, nothing scheduled

    rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 2 }] });
    await recordSourceChanges(rig.svc.db, `${rig.shopId}-pos`, [{ shopId: rig.shopId, ...key, quantity: 1, occurredAt: new Date().toISOString() }]);
    const subtractedAt = Date.now();
    await rig.activities.refreshKeys({ shopId: rig.shopId, keys: [key], trigger: 'pos-sale' });
    expect(rig.available(SKU, 'WH1')).toBe(7); // 10 - 1 POS - 2 unclaimed

    const handed: MarkDirtyInput[] = [];
    let refuse = true;
    const sweeper = createRecheckSweeper({
      redis: rig.svc.redis,
      shops: [rig.shopId],
      markDirty: async (input) => {
        if (refuse) {
          refuse = false;
          throw new Error('Temporal refused the signal (test)');
        }
        handed.push(input);
      },
    });
    // Not before the reading has expired.
    expect(await sweeper.runOnce(subtractedAt + RECHECK_AFTER_MS - 5000)).toBe(0);
    expect(handed).toEqual([]);
    const due = Date.now() + RECHECK_AFTER_MS + 1000;
    expect(await sweeper.runOnce(due)).toBe(0); // the hand-off failed: the key is put back
    expect(await sweeper.runOnce(due)).toBe(1);
    expect(handed).toEqual([{ shopId: rig.shopId, keys: [key], trigger: 'unclaimed_expired' }]);
    expect(await sweeper.runOnce(due)).toBe(0); // taken once
  });
});
