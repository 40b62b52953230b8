import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertAllocation } from '../../src/db/claim-conversion.js';
import { applyClaims, type ApplyClaimsInput } from '../../src/db/claims.js';
import { settleClaims, type ClaimStepDeps } from '../../src/activities/claim-steps.js';
import type { MarkDirtyInput } from '../../src/temporal/handoff.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { claimLineId } from '../../src/domain/reservation-model.js';
import { connectTestServices, type TestServices } from '../support/services.js';

const LOC = 'WH1';
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/**
 * A step re-run after its worker died (its commit done, its result never recorded) changes nothing, but the refresh
 * the first run owed was never handed over: every run of a step hands over all of the order's keys
 * (test/reservations/claim-retry-refresh.test.ts shows what a lost one costs).
 */
describe('the keys a claim step hands to the refresh', () => {
  let svc: TestServices;
  const shopId = `keys-${Date.now().toString(36)}`;
  beforeAll(async () => {
    svc = await connectTestServices();
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('are every key of the order, on the first run and on a repeat that changes nothing', async () => {
    const input: ApplyClaimsInput = {
      shopId, orderId: 'o-1', workflowId: 'wf-o-1', origin: 'external', lastEventAt: at(1), expiresAt: null,
      lines: [
        { lineId: claimLineId('1', LOC), sku: 'A', locationId: LOC, quantity: 2 },
        { lineId: claimLineId('2', LOC), sku: 'B', locationId: LOC, quantity: 1 },
      ],
    };
    const keys = [{ sku: 'A', locationId: LOC }, { sku: 'B', locationId: LOC }];
    const first = await applyClaims({ db: svc.db }, input);
    expect(first.changedKeys).toEqual(keys);
    const repeat = await applyClaims({ db: svc.db }, input);
    expect(repeat.lines).toEqual(first.lines);
    expect(repeat.changedKeys).toEqual(keys);
    // A line dropped from the order: its key is still handed over (its claim was released).
    const edited = await applyClaims({ db: svc.db }, { ...input, lines: input.lines.slice(0, 1) });
    expect(edited.changedKeys).toEqual(keys);
    expect(edited.lines.find((l) => l.sku === 'B')?.claimed).toBe(0);
  });

  it('are every key of a WMS confirmation, on a repeat that converts nothing', async () => {
    const wms = `${shopId}-wms`;
    await recordSourceChanges(svc.db, wms, [{ shopId, sku: 'C', locationId: LOC, quantity: 2, occurredAt: at(3) }]);
    await applyClaims({ db: svc.db }, { shopId, orderId: 'o-2', workflowId: 'wf-o-2', origin: 'shopify', lastEventAt: at(1), expiresAt: null, lines: [{ lineId: claimLineId('1', LOC), sku: 'C', locationId: LOC, quantity: 2 }] });
    const input = { shopId, orderId: 'o-2', workflowId: 'wf-o-2', origin: 'shopify' as const, allocation: { allocationId: 'a-1', source: wms, occurredAt: at(2), lines: [{ lineId: '1', sku: 'C', locationId: LOC, quantity: 2 }] } };
    const first = await convertAllocation({ db: svc.db }, input);
    expect(first.converted).toBe(2);
    expect(first.changedKeys).toEqual([{ sku: 'C', locationId: LOC }]);
    const repeat = await convertAllocation({ db: svc.db }, input);
    expect(repeat.converted).toBe(0);
    expect(repeat.changedKeys).toEqual([{ sku: 'C', locationId: LOC }]);
  });

  it('reach the refresh when the hand-off failed once and the step was retried (a release, here)', async () => {
    await applyClaims({ db: svc.db }, { shopId, orderId: 'o-3', workflowId: 'wf-o-3', origin: 'shopify', lastEventAt: at(1), expiresAt: null, lines: [{ lineId: claimLineId('1', LOC), sku: 'D', locationId: LOC, quantity: 4 }] });
    const handed: MarkDirtyInput[] = [];
    let refuse = true;
    const deps = {
      db: svc.db,
      shopify: () => { throw new Error('not used'); },
      // Temporal refused the signal (a refresh run continuing as new): the local activity fails and is retried.
      markDirty: async (input: MarkDirtyInput) => {
        if (refuse) {
          refuse = false;
          throw new Error('signal refused');
        }
        handed.push(input);
      },
    };
    const release = { shopId, orderId: 'o-3', workflowId: 'wf-o-3', origin: 'shopify' as const, lastEventAt: at(2), expiresAt: null, lines: [], terminal: 'cancelled' as const, trigger: 'reservation_cancelled' };
    await expect(settleClaims(deps as unknown as ClaimStepDeps, release)).rejects.toThrow('signal refused');
    const out = await settleClaims(deps as unknown as ClaimStepDeps, release);
    expect(out.state).toBe('cancelled');
    expect(handed).toEqual([{ shopId, keys: [{ sku: 'D', locationId: LOC }], trigger: 'reservation_cancelled' }]);
  });
});
