import { describe, expect, inject, it } from 'vitest';
import { useServicesAndEmulator } from '../support/services.js';

/** The Web UI server the Temporal CLI embeds (ui-server v2.42.1), serving the Temporal server on PostgreSQL. */
const uiUrl = inject('temporalUiUrl');

describe.skipIf(!uiUrl)('the Web UI against the Temporal server on PostgreSQL (skipped: run `inventory-sync temporal install --ui` to build the UI server)', () => {
  const services = useServicesAndEmulator();

  it('serves the UI, lists our search attributes and finds a workflow by ShopId through SQL visibility', { timeout: 60_000 }, async () => {
    const page = await fetch(`${uiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');

    const attributes = (await (await fetch(`${uiUrl}/api/v1/namespaces/default/search-attributes`)).json()) as { customAttributes: Record<string, string> };
    expect(attributes.customAttributes).toMatchObject({
      ShopId: 'INDEXED_VALUE_TYPE_KEYWORD',
      OrderId: 'INDEXED_VALUE_TYPE_KEYWORD',
      Sku: 'INDEXED_VALUE_TYPE_KEYWORD_LIST',
      ReservationState: 'INDEXED_VALUE_TYPE_KEYWORD',
      Source: 'INDEXED_VALUE_TYPE_KEYWORD',
    });

    // A workflow with our search attribute, found the way an operator searches in the UI.
    const shopId = services.svc.uid('ui');
    const handle = await services.svc.temporal.workflow.start('emptyBaselineWorkflow', {
      taskQueue: services.svc.taskQueue,
      workflowId: `ui-${shopId}`,
      searchAttributes: { ShopId: [shopId] },
    });
    const query = encodeURIComponent(`ShopId = '${shopId}'`);
    await expect
      .poll(async () => ((await (await fetch(`${uiUrl}/api/v1/namespaces/default/workflows?query=${query}`)).json()) as { executions?: { execution: { workflowId: string } }[] }).executions?.map((e) => e.execution.workflowId), { timeout: 30_000 })
      .toEqual([handle.workflowId]);
    await handle.terminate('test over');
  });
});
