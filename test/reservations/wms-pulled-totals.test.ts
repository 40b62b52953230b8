import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deltaSyncWorkflow } from '../../src/workflows/index.js';
import { lineIdOf, orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

/** A WMS served over the HTTP JSON contract: its allocated total per key, as a change feed and as a snapshot. */
async function startWms() {
  const state = { allocated: 0, feed: [] as { shop: string; sku: string; location: string; quantity: number; occurred_at: string; cursor: string }[], shop: '' };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    res.setHeader('content-type', 'application/json');
    if (url.pathname === '/components') {
      return res.end(JSON.stringify({ quantities: [{ sku: SKU, location: WH, quantity: state.allocated }] }));
    }
    if (url.pathname === '/changes') {
      const after = url.searchParams.get('after');
      const start = after === null ? 0 : state.feed.findIndex((c) => c.cursor === after) + 1;
      return res.end(JSON.stringify({ changes: state.feed.slice(start, start + Number(url.searchParams.get('limit'))) }));
    }
    if (url.pathname === '/snapshot') {
      return res.end(JSON.stringify({ readings: [{ shop: state.shop, sku: SKU, location: WH, quantity: state.allocated }], next_cursor: null }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const report = (quantity: number) => {
    state.allocated = quantity;
    state.feed.push({ shop: state.shop, sku: SKU, location: WH, quantity, occurred_at: new Date(Date.now() + 1000).toISOString(), cursor: `c${state.feed.length + 1}` });
  };
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, state, report, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Issue 11: a WMS that is pulled (`type: http`) reports its allocated total through delta or full sync. The
 * claim of a confirmed allocation must convert however that total arrives, or a fulfilled order keeps holding
 * its units as a claim (undersold) beside the WMS total.
 */
describe.each(['delta', 'full'] as const)('WMS allocation totals pulled by %s sync', (mode) => {
  let rig: Rig;
  let wms: Awaited<ReturnType<typeof startWms>>;
  beforeAll(async () => {
    wms = await startWms();
    rig = await startRig({ onHand: 20, wmsHttp: { url: wms.url, mode } });
    wms.state.shop = rig.shopId;
  });
  afterAll(async () => {
    await rig?.close();
    await wms?.close();
  });

  const sync = () =>
    rig.svc.temporal.workflow.execute(deltaSyncWorkflow, { taskQueue: rig.svc.taskQueue, workflowId: rig.svc.uid('wms-sync'), args: [{ source: `${rig.shopId}-wms`, mode }] });

  it('converts the confirmed claim when the pulled total shows the units, and the fulfilled order holds nothing twice', async () => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 3 }] });
    const orderId = orderIdOf(order);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(3);
    const res = await rig.postWms({ shopId: rig.shopId, orderId, allocationId: 'alloc-1', occurredAt: new Date().toISOString(), lines: [{ lineId: lineIdOf(order), sku: SKU, locationId: WH, quantity: 3 }] });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await rig.status(orderId)).state, poll).toBe('allocated');
    // Not in the WMS total yet: still counted once, as a claim.
    expect(await rig.counted(SKU, WH)).toEqual({ openClaims: 3, wmsAllocated: 0 });

    wms.report(3);
    await sync();
    expect(await rig.claimLines(orderId)).toEqual([expect.objectContaining({ claimed: 0, allocated: 3 })]);
    expect(await rig.counted(SKU, WH)).toEqual({ openClaims: 0, wmsAllocated: 3 });

    rig.emu.emulator.fulfillOrder(rig.domain, order.id);
    await expect.poll(async () => (await rig.status(orderId)).state, poll).toBe('fulfilled');
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 0 });
  });
});
