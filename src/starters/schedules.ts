import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../config/schema.js';
import { scheduleIds, workflowIds } from '../domain/keys.js';

export interface DesiredSchedule {
  scheduleId: string;
  describe: string;
  options: ScheduleOptions;
}

/** The schedules a configuration asks for: one delta sync per source, one reconciliation per shop, one housekeeping. */
export function desiredSchedules(config: Config, taskQueue: string): DesiredSchedule[] {
  const sync = config.sources.map((s): DesiredSchedule => {
    const minutes = s.interval_minutes ?? config.inventory_sync.delta_sync.interval_minutes;
    return {
      scheduleId: scheduleIds.deltaSync(s.name),
      describe: `${s.mode} sync of ${s.name} every ${minutes} min`,
      options: {
        scheduleId: scheduleIds.deltaSync(s.name),
        spec: { intervals: [{ every: `${minutes} minutes` }] },
        action: { type: 'startWorkflow', workflowType: 'deltaSyncWorkflow', taskQueue, workflowId: workflowIds.deltaSync(s.name), args: [{ source: s.name, mode: s.mode }] },
        // A run still going when the next is due makes the next one pointless: it would read the same feed.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      },
    };
  });
  const reconcile = config.shops.map((shop): DesiredSchedule => ({
    scheduleId: scheduleIds.reconcile(shop.id),
    describe: `reconciliation of ${shop.id} at "${config.inventory_sync.reconciliation.schedule}"`,
    options: {
      scheduleId: scheduleIds.reconcile(shop.id),
      spec: { cronExpressions: [config.inventory_sync.reconciliation.schedule] },
      action: { type: 'startWorkflow', workflowType: 'reconcileWorkflow', taskQueue, workflowId: workflowIds.reconcile(shop.id), args: [{ shopId: shop.id }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    },
  }));
  const retention = config.inventory_sync.retention;
  const housekeeping: DesiredSchedule = {
    scheduleId: scheduleIds.housekeeping,
    describe: `housekeeping (retention: source changes ${retention.source_changes_days} d, audit ${retention.audit_log_days} d, webhook deliveries ${retention.webhook_deliveries_days} d, unmapped readings ${retention.unmapped_snapshots_days} d, alerts ${retention.alerts_days} d, confirmations of orders that never came ${retention.confirmations_without_order_days} d) at "${retention.schedule}"`,
    options: {
      scheduleId: scheduleIds.housekeeping,
      spec: { cronExpressions: [retention.schedule] },
      action: { type: 'startWorkflow', workflowType: 'housekeepingWorkflow', taskQueue, workflowId: workflowIds.housekeeping, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    },
  };
  return [...sync, ...reconcile, housekeeping];
}

/** Create or update every desired schedule; an update keeps an operator's pause and notes. */
export async function applySchedules(client: Client, config: Config, taskQueue: string): Promise<{ scheduleId: string; describe: string; outcome: 'created' | 'updated' }[]> {
  const results = [];
  for (const desired of desiredSchedules(config, taskQueue)) {
    try {
      await client.schedule.create(desired.options);
      results.push({ scheduleId: desired.scheduleId, describe: desired.describe, outcome: 'created' as const });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      const { spec, action, policies } = desired.options;
      await client.schedule.getHandle(desired.scheduleId).update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, ...policies } }));
      results.push({ scheduleId: desired.scheduleId, describe: desired.describe, outcome: 'updated' as const });
    }
  }
  return results;
}

export interface ScheduleSummary {
  scheduleId: string;
  paused: boolean;
  workflowType: string | undefined;
  nextRun: Date | undefined;
  recentRuns: number;
}

export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const out: ScheduleSummary[] = [];
  for await (const s of client.schedule.list()) {
    out.push({
      scheduleId: s.scheduleId,
      paused: s.state.paused,
      workflowType: s.action?.type === 'startWorkflow' ? s.action.workflowType : undefined,
      nextRun: s.info.nextActionTimes[0],
      recentRuns: s.info.recentActions.length,
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}
