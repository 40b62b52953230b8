import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertAllocation } from '../../src/db/claim-conversion.js';
import { applyClaims } from '../../src/db/claims.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { claimLineId } from '../../src/domain/reservation-model.js';
import { connectTestServices, type TestServices } from '../support/services.js';

const LOC = 'WH1';
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/**
 * A WMS confirmation names the order's line and a SKU. Only a confirmation of the line's own SKU may convert its
 * claim: otherwise a WMS (by mistake, or a token used against the shop) confirms line 111 as SKU DECOY, reports a
 * true DECOY total, and the claim on the line's real SKU is released while that SKU's total never held the units:
 * ATS of the real SKU rises by them, and they are sold twice.
 */
describe('a WMS confirmation that names another SKU than the order line', () => {
  let svc: TestServices;
  const shopId = `alsku-${Date.now().toString(36)}`;
  const wms = `${shopId}-wms`;
  const line = async (orderId: string) =>
    (await svc.db.query('SELECT sku, claimed, allocated FROM claim_lines WHERE shop_id = $1 AND order_id = $2', [shopId, orderId])).rows;
  beforeAll(async () => {
    svc = await connectTestServices();
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
    await recordSourceChanges(svc.db, wms, ['A', 'DECOY', 'B', 'DECOY2'].map((sku) => ({ shopId, sku, locationId: LOC, quantity: 0, occurredAt: at(0) })));
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('does not convert the claim of the line\'s real SKU', async () => {
    await applyClaims({ db: svc.db }, { shopId, orderId: 'o-1', workflowId: 'wf-o-1', origin: 'shopify', lastEventAt: at(1), expiresAt: null, lines: [{ lineId: claimLineId('111', LOC), sku: 'A', locationId: LOC, quantity: 5 }] });
    await convertAllocation({ db: svc.db }, { shopId, orderId: 'o-1', workflowId: 'wf-o-1', origin: 'shopify', allocation: { allocationId: 'x-1', source: wms, occurredAt: at(2), lines: [{ lineId: '111', sku: 'DECOY', locationId: LOC, quantity: 5 }] } });
    // The DECOY total that "shows" the confirmation: the trigger converts what is due.
    await recordSourceChanges(svc.db, wms, [{ shopId, sku: 'DECOY', locationId: LOC, quantity: 5, occurredAt: at(3) }]);
    expect(await line('o-1')).toEqual([{ sku: 'A', claimed: 5, allocated: 0 }]);
    // Released on cancel as any claim: the DECOY confirmation does not keep it waiting.
    const cancelled = await applyClaims({ db: svc.db }, { shopId, orderId: 'o-1', workflowId: 'wf-o-1', origin: 'shopify', lastEventAt: at(4), expiresAt: null, lines: [], terminal: 'cancelled' });
    expect(cancelled.lines).toMatchObject([{ sku: 'A', claimed: 0 }]);
  });

  it('gives a line a confirmation created first the order\'s SKU, and claims it in full', async () => {
    // The confirmation (of DECOY2) comes before the order, and its total with it.
    await convertAllocation({ db: svc.db }, { shopId, orderId: 'o-2', workflowId: 'wf-o-2', origin: 'shopify', allocation: { allocationId: 'x-2', source: wms, occurredAt: at(2), lines: [{ lineId: '222', sku: 'DECOY2', locationId: LOC, quantity: 3 }] } });
    await recordSourceChanges(svc.db, wms, [{ shopId, sku: 'DECOY2', locationId: LOC, quantity: 3, occurredAt: at(3) }]);
    const out = await applyClaims({ db: svc.db }, { shopId, orderId: 'o-2', workflowId: 'wf-o-2', origin: 'shopify', lastEventAt: at(4), expiresAt: null, lines: [{ lineId: claimLineId('222', LOC), sku: 'B', locationId: LOC, quantity: 3 }] });
    expect(await line('o-2')).toEqual([{ sku: 'B', claimed: 3, allocated: 0 }]);
    // Both keys are refreshed: B gained a claim, DECOY2 lost a line.
    expect(out.changedKeys).toEqual(expect.arrayContaining([{ sku: 'B', locationId: LOC }, { sku: 'DECOY2', locationId: LOC }]));
  });

  it('still converts a confirmation of the line\'s own SKU', async () => {
    await applyClaims({ db: svc.db }, { shopId, orderId: 'o-3', workflowId: 'wf-o-3', origin: 'shopify', lastEventAt: at(1), expiresAt: null, lines: [{ lineId: claimLineId('333', LOC), sku: 'A', locationId: LOC, quantity: 2 }] });
    await convertAllocation({ db: svc.db }, { shopId, orderId: 'o-3', workflowId: 'wf-o-3', origin: 'shopify', allocation: { allocationId: 'y-1', source: wms, occurredAt: at(5), lines: [{ lineId: '333', sku: 'A', locationId: LOC, quantity: 2 }] } });
    await recordSourceChanges(svc.db, wms, [{ shopId, sku: 'A', locationId: LOC, quantity: 2, occurredAt: at(6) }]);
    expect(await line('o-3')).toEqual([{ sku: 'A', claimed: 0, allocated: 2 }]);
  });

  it('keeps two WMS sources\' confirmations apart when they number them alike', async () => {
    const other = `${shopId}-wms2`;
    await recordSourceChanges(svc.db, other, [{ shopId, sku: 'C', locationId: 'WH2', quantity: 0, occurredAt: at(0) }]);
    await recordSourceChanges(svc.db, wms, [{ shopId, sku: 'C', locationId: LOC, quantity: 0, occurredAt: at(0) }]);
    await applyClaims({ db: svc.db }, { shopId, orderId: 'o-4', workflowId: 'wf-o-4', origin: 'shopify', lastEventAt: at(1), expiresAt: null, lines: [
      { lineId: claimLineId('444', LOC), sku: 'C', locationId: LOC, quantity: 1 },
      { lineId: claimLineId('444', 'WH2'), sku: 'C', locationId: 'WH2', quantity: 1 },
    ] });
    // Each warehouse's system confirms its part of line 444 as its allocation "1".
    await convertAllocation({ db: svc.db }, { shopId, orderId: 'o-4', workflowId: 'wf-o-4', origin: 'shopify', allocation: { allocationId: '1', source: wms, occurredAt: at(2), lines: [{ lineId: '444', sku: 'C', locationId: LOC, quantity: 1 }] } });
    await convertAllocation({ db: svc.db }, { shopId, orderId: 'o-4', workflowId: 'wf-o-4', origin: 'shopify', allocation: { allocationId: '1', source: other, occurredAt: at(2), lines: [{ lineId: '444', sku: 'C', locationId: 'WH2', quantity: 1 }] } });
    const recorded = await svc.db.query('SELECT source FROM wms_allocations WHERE shop_id = $1 AND order_id = $2 ORDER BY source', [shopId, 'o-4']);
    expect(recorded.rows).toEqual([{ source: wms }, { source: other }].sort((a, b) => a.source.localeCompare(b.source)));
    await recordSourceChanges(svc.db, wms, [{ shopId, sku: 'C', locationId: LOC, quantity: 1, occurredAt: at(3) }]);
    await recordSourceChanges(svc.db, other, [{ shopId, sku: 'C', locationId: 'WH2', quantity: 1, occurredAt: at(3) }]);
    const lines = await svc.db.query('SELECT location_id, claimed, allocated FROM claim_lines WHERE shop_id = $1 AND order_id = $2 ORDER BY location_id', [shopId, 'o-4']);
    expect(lines.rows).toEqual([{ location_id: LOC, claimed: 0, allocated: 1 }, { location_id: 'WH2', claimed: 0, allocated: 1 }]);
  });
});
