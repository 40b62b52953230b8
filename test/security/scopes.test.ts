import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startRig, withUnboundShop, type Rig } from '../reservations/rig.js';

const SKU = 'SCOPE-1';
const WH = 'WH1';
const OTHER = 'other-shop';

/** Sources and channels act for their shops only: on every route, and in sync (test/security/sync-bad-rows). */
describe('each source and channel is bound to its shops', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({
      onHand: 10,
      skus: [SKU],
      webhooks: false,
      configure: withUnboundShop(OTHER),
    });
  });
  afterAll(async () => {
    await rig?.close();
  });

  const now = () => new Date().toISOString();

  it('a WMS token cannot allocate on another shop\'s orders (403), and nothing is recorded', async () => {
    const res = await rig.postWms({ shopId: OTHER, orderId: '1001', allocationId: 'a-1', occurredAt: now(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }] });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'ISYNC_FORBIDDEN', details: { field: 'shopId' } });
    const { rows } = await rig.svc.db.query('SELECT count(*)::int AS n FROM wms_allocations WHERE shop_id = $1', [OTHER]);
    expect(rows[0].n).toBe(0);
  });

  it('a source cannot report events for another shop (403 naming the event), and nothing is recorded', async () => {
    const res = await fetch(`${rig.url}/sources/${rig.shopId}-erp/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${rig.erpToken}` },
      body: JSON.stringify({ events: [{ shopId: rig.shopId, sku: SKU, locationId: WH, quantity: 5, occurredAt: now() }, { shopId: OTHER, sku: SKU, locationId: WH, quantity: 0, occurredAt: now() }] }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'ISYNC_FORBIDDEN', details: { field: 'events.1.shopId' } });
    const { rows } = await rig.svc.db.query('SELECT count(*)::int AS n FROM source_changes WHERE shop_id = $1', [OTHER]);
    expect(rows[0].n).toBe(0);
  });

  it('a channel cannot place orders in another shop, and an unconfigured shop gets the same answer', async () => {
    const order = (shopId: string) => ({ shopId, orderId: 'c-1', updatedAt: now(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }] });
    const other = await rig.postOrder(order(OTHER));
    expect(other.status).toBe(403);
    const unknown = await rig.postOrder(order('no-such-shop'));
    expect(unknown.status).toBe(403);
    expect(((await other.json()) as { code: string }).code).toBe(((await unknown.json()) as { code: string }).code);
  });

  it('a token two callers share is neither\'s: the operator\'s variable set to the WMS token opens nothing (401)', async () => {
    const operator = rig.env.RES_OPERATOR_TOKEN!;
    expect((await fetch(`${rig.url}/metrics`, { headers: { authorization: `Bearer ${operator}` } })).status).toBe(200);
    rig.env.RES_OPERATOR_TOKEN = rig.wmsToken;
    try {
      expect((await fetch(`${rig.url}/metrics`, { headers: { authorization: `Bearer ${rig.wmsToken}` } })).status).toBe(401);
      const res = await rig.postWms({ shopId: rig.shopId, orderId: '1002', allocationId: 'a-2', occurredAt: now(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }] });
      expect(res.status).toBe(401);
    } finally {
      rig.env.RES_OPERATOR_TOKEN = operator;
    }
    expect((await fetch(`${rig.url}/metrics`, { headers: { authorization: `Bearer ${operator}` } })).status).toBe(200);
  });

  it('config check names what to add when several shops are configured and a source or channel lists none', () => {
    const { problems } = parseConfig(`
shops:
  - { id: a, domain: a.myshopify.com, access_token_env: A_TOKEN, webhook_secret_env: A_SECRET }
  - { id: b, domain: b.myshopify.com, access_token_env: B_TOKEN, webhook_secret_env: B_SECRET }
sources:
  - { name: erp, role: erp, type: postgres, token_env: ERP_TOKEN }
  - { name: wms, role: wms, type: postgres, token_env: WMS_TOKEN, shops: [a, c] }
channels:
  - { name: amazon, token_env: ERP_TOKEN, shops: [b] }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'sources.0.shops', message: 'required when several shops are configured: list the ids of the shops source "erp" serves' },
        { path: 'sources.1.shops.1', message: 'shop "c" is not configured' },
        { path: 'channels.0.token_env', message: 'ERP_TOKEN is also the token of source "erp"; each source, channel and the operator need a token of their own' },
      ]),
    );
  });
});
