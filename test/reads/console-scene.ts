import { reconcileWorkflow } from '../../src/workflows/index.js';
import { ensureConsoleBuilt } from '../support/console-build.js';
import { orderIdOf, startRig, waitFor, type Rig } from '../reservations/rig.js';

export const SCENE_SKU = 'CONSOLE-TEE';
export const SCENE_OTHER_SKU = 'CONSOLE-CAP';

export interface Scene {
  rig: Rig;
  orderId: string;
  /** What the order's webhook said about its customer: none of it may ever show in the console. */
  personal: string[];
}

/**
 * A shop with a history an on-call engineer would look at: a Shopify order (with a customer, as Shopify sends
 * it) claiming units, source events moving on-hand, a merchant edit in Shopify that reconciliation finds as
 * drift, corrects and alerts on.
 */
export async function startScene(): Promise<Scene> {
  await ensureConsoleBuilt();
  const rig = await startRig({ onHand: 40, skus: [SCENE_SKU, SCENE_OTHER_SKU], locations: ['WH1', 'WH2'] });
  const ids = (sku: string, loc: string) => rig.catalog.ids.get(`${sku}|${loc}`)!;
  const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SCENE_SKU, quantity: 3 }], locationId: ids(SCENE_SKU, 'WH1').locationId });
  const orderId = orderIdOf(order);
  const rest = order.rest as { email: string; customer: { first_name: string; last_name: string; phone: string | null; default_address: { address1: string; phone: string } } };
  const personal = [rest.email, rest.customer.first_name, rest.customer.last_name, rest.customer.default_address.address1, rest.customer.default_address.phone];
  await waitFor(() => rig.claimLines(orderId), (lines) => lines[0]?.claimed === 3);

  // On-hand moves a few times (ERP events), each carried to Shopify by a refresh.
  for (const [i, quantity] of [38, 35, 36].entries()) {
    const res = await fetch(`${rig.url}/sources/${rig.shopId}-erp/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${rig.erpToken}` },
      body: JSON.stringify({ events: [{ shopId: rig.shopId, sku: SCENE_SKU, locationId: 'WH1', quantity, occurredAt: new Date(Date.now() - 1000 + i).toISOString() }] }),
    });
    if (res.status >= 300) throw new Error(`source event: ${res.status} ${await res.text()}`);
    await waitFor(() => rig.available(SCENE_SKU, 'WH1'), (a) => a === quantity - 3);
  }

  // A merchant edits Shopify by hand; the nightly reconciliation finds it, corrects it and alerts.
  rig.emu.emulator.setQuantities(rig.domain, ids(SCENE_SKU, 'WH2').inventoryItemId, ids(SCENE_SKU, 'WH2').locationId, { available: 52 });
  await rig.svc.temporal.workflow.execute(reconcileWorkflow, { taskQueue: rig.svc.taskQueue, workflowId: rig.svc.uid('reconcile'), args: [{ shopId: rig.shopId }] });
  return { rig, orderId, personal: personal.filter((p): p is string => typeof p === 'string' && p.length > 2) };
}
