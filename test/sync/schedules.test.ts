import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchedules, desiredSchedules, listSchedules } from '../../src/starters/schedules.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

describe('schedules', () => {
  let svc: TestServices;
  const id = `sc${Date.now().toString(36)}`;
  const config = testConfig({
    inventory_sync: { delta_sync: { interval_minutes: 15 }, reconciliation: { schedule: '0 2 * * *' } },
    shops: [{ id: `${id}-shop`, domain: `${id}-shop.myshopify.com`, access_token_env: 'T', webhook_secret_env: 'S' }],
    sources: [
      { name: `${id}-erp`, role: 'erp', type: 'postgres' },
      { name: `${id}-legacy`, role: 'erp', type: 'postgres', mode: 'full', interval_minutes: 60 },
    ],
  });

  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => {
    for (const d of desiredSchedules(config, svc.taskQueue)) await svc.temporal.schedule.getHandle(d.scheduleId).delete().catch(() => undefined);
    await svc?.close();
  });

  it('apply creates one schedule per source and per shop, and a second apply updates them in place', async () => {
    const first = await applySchedules(svc.temporal, config, svc.taskQueue);
    expect(first.map((r) => [r.scheduleId, r.outcome])).toEqual([
      [`delta-sync:${id}-erp`, 'created'],
      [`delta-sync:${id}-legacy`, 'created'],
      [`reconcile:${id}-shop`, 'created'],
      // One per installation, not per shop: another test file of the run may have created it first.
      ['housekeeping', expect.stringMatching(/^(created|updated)$/)],
    ]);
    const housekeeping = await svc.temporal.schedule.getHandle('housekeeping').describe();
    expect(housekeeping.action).toMatchObject({ type: 'startWorkflow', workflowType: 'housekeepingWorkflow', workflowId: 'housekeeping' });
    expect(housekeeping.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] });
    const legacy = await svc.temporal.schedule.getHandle(`delta-sync:${id}-legacy`).describe();
    expect(legacy.spec.intervals?.[0]?.every).toBe(3_600_000);
    expect(legacy.action).toMatchObject({ type: 'startWorkflow', workflowType: 'deltaSyncWorkflow', args: [{ source: `${id}-legacy`, mode: 'full' }] });
    const reconcile = await svc.temporal.schedule.getHandle(`reconcile:${id}-shop`).describe();
    expect(reconcile.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });

    // An operator paused one; a config change must not unpause it.
    await svc.temporal.schedule.getHandle(`delta-sync:${id}-erp`).pause('investigating the ERP');
    const changed = testConfig({ ...config, inventory_sync: { ...config.inventory_sync, delta_sync: { ...config.inventory_sync.delta_sync, interval_minutes: 5 } } });
    const second = await applySchedules(svc.temporal, changed, svc.taskQueue);
    expect(second.every((r) => r.outcome === 'updated')).toBe(true);
    const erp = await svc.temporal.schedule.getHandle(`delta-sync:${id}-erp`).describe();
    expect(erp.state.paused).toBe(true);
    expect(erp.spec.intervals?.[0]?.every).toBe(300_000);

    const listed = (await listSchedules(svc.temporal)).filter((s) => s.scheduleId.includes(id));
    expect(listed.map((s) => [s.scheduleId, s.paused, s.workflowType])).toEqual([
      [`delta-sync:${id}-erp`, true, 'deltaSyncWorkflow'],
      [`delta-sync:${id}-legacy`, false, 'deltaSyncWorkflow'],
      [`reconcile:${id}-shop`, false, 'reconcileWorkflow'],
    ]);
  });
});
