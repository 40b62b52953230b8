import { noConfigHint } from '../../config/load.js';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/schema.js';
import type { Db } from '../../db/pool.js';
import { countMappings } from '../../db/mappings.js';
import { countSnapshots } from '../../db/source-changes.js';
import type { ProgressReporter } from './progress.js';
import { Errors } from '../../domain/errors.js';
import { workflowIds } from '../../domain/keys.js';
import type { DeltaSyncProgress } from '../../workflows/delta-sync.js';
import type { ReconcileProgress } from '../../workflows/reconcile.js';

/** Runs one source's sync now (beside its schedule) and waits for it; the worker does the work. */
export async function syncNow(client: Client, config: Config, taskQueue: string, source: string, full: boolean, force = false): Promise<DeltaSyncProgress> {
  const configured = config.sources.find((s) => s.name === source);
  if (!configured) throw Errors.UnknownSource(`source "${source}" is not in the configuration (known: ${config.sources.map((s) => s.name).join(', ') || 'none'})${noConfigHint(config)}`);
  return client.workflow.execute('deltaSyncWorkflow', {
    taskQueue,
    workflowId: `${workflowIds.deltaSync(source)}:manual-${Date.now()}`,
    args: [{ source, mode: full ? 'full' : configured.mode, ...(force ? { force: true } : {}) }],
  });
}

/** Reconciles one shop, or every configured shop one after another, and waits for the reports. */
export async function reconcileNow(client: Client, config: Config, taskQueue: string, shopId?: string): Promise<ReconcileProgress[]> {
  const shops = shopId ? config.shops.filter((s) => s.id === shopId) : config.shops;
  if (shopId && shops.length === 0) throw Errors.UnknownShop(`shop "${shopId}" is not in the configuration${noConfigHint(config)}`);
  const results: ReconcileProgress[] = [];
  for (const shop of shops) {
    results.push(
      await client.workflow.execute('reconcileWorkflow', { taskQueue, workflowId: `${workflowIds.reconcile(shop.id)}:manual-${Date.now()}`, args: [{ shopId: shop.id }] }),
    );
  }
  return results;
}

/** How often the CLI asks a running workflow for its progress. */
const PROGRESS_POLL_MS = 250;
/** How often it looks for a failing step (a describe: heavier than the query). */
const RETRY_LOOK_MS = 2000;

/** Told each new failure of a step Temporal is retrying (the run goes on: it waits, it does not give up). */
export type RetryNotice = (line: string) => void;

type Followed<P> = {
  workflowId: string;
  result(): Promise<P>;
  query<T>(name: string): Promise<T>;
  describe(): Promise<{ raw: { pendingActivities?: { activityType?: { name?: string | null } | null; attempt?: number | null; lastFailure?: { message?: string | null; applicationFailureInfo?: { type?: string | null } | null } | null }[] | null } }>;
};

/**
 * The newest failure of a step being retried, once per distinct message: a source that answers 500, a bad row,
 * Shopify out of reach. Without it the CLI showed its last progress line and nothing else while the worker
 * retried without end (its log had the reason, the operator's terminal did not).
 */
async function lookForRetries<P>(handle: Followed<P>, shown: Set<string>, notice: RetryNotice): Promise<void> {
  const { raw } = await handle.describe();
  for (const a of raw.pendingActivities ?? []) {
    const failure = a.lastFailure;
    if (!failure?.message || (a.attempt ?? 0) < 2) continue;
    const type = failure.applicationFailureInfo?.type;
    const message = type && !failure.message.startsWith(type) ? `${type}: ${failure.message}` : failure.message;
    if (shown.has(message)) continue;
    shown.add(message);
    notice(
      `${a.activityType?.name ?? 'a step'} failed (attempt ${(a.attempt ?? 2) - 1}): ${message}; ` +
        `Temporal retries it. Ctrl-C stops waiting, not the run: temporal workflow cancel --workflow-id '${handle.workflowId}'`,
    );
  }
}

async function followProgress<P>(handle: Followed<P>, show: (p: P) => void, notice?: RetryNotice): Promise<P> {
  let finished = false;
  const result = handle.result().finally(() => (finished = true));
  const shown = new Set<string>();
  let lookedAt = Date.now();
  while (!finished) {
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, PROGRESS_POLL_MS))]);
    if (finished) break;
    // A query can fail while the workflow continues as new or its worker restarts: the next one answers.
    show(await handle.query<P>('progress').catch(() => undefined as P));
    if (notice && Date.now() - lookedAt >= RETRY_LOOK_MS) {
      lookedAt = Date.now();
      await lookForRetries(handle, shown, notice).catch(() => undefined);
    }
  }
  return result;
}

/**
 * reconcileNow with progress: the total is the shop's mapping count, the position the workflow's `progress`
 * query (checked keys), so the bar's ETA follows the pages as they complete.
 */
export async function reconcileWithProgress(
  client: Client,
  db: Db,
  config: Config,
  taskQueue: string,
  shopId: string | undefined,
  reporterFor: (shopId: string) => ProgressReporter,
  notice?: RetryNotice,
): Promise<ReconcileProgress[]> {
  const shops = shopId ? config.shops.filter((s) => s.id === shopId) : config.shops;
  if (shopId && shops.length === 0) throw Errors.UnknownShop(`shop "${shopId}" is not in the configuration${noConfigHint(config)}`);
  const results: ReconcileProgress[] = [];
  for (const shop of shops) {
    const total = await countMappings(db, shop.id);
    const reporter = reporterFor(shop.id);
    reporter.update(0, total, 'looking for orders whose webhooks were lost');
    const handle = await client.workflow.start('reconcileWorkflow', { taskQueue, workflowId: `${workflowIds.reconcile(shop.id)}:manual-${Date.now()}`, args: [{ shopId: shop.id }] });
    try {
      const result = await followProgress<ReconcileProgress>(handle, (p) => {
        if (p && p.pages > 0) reporter.update(p.checked, total, `${p.drifted} drifted, ${p.corrected} corrected${p.linesTotal ? `, export line ${p.linesDone} of ${p.linesTotal}` : ''}`);
      }, notice && ((line) => notice(`reconcile ${shop.id}: ${line}`)));
      reporter.update(result.checked, Math.max(total, result.checked), `${result.drifted} drifted, ${result.corrected} corrected`);
      results.push(result);
    } finally {
      reporter.stop();
    }
  }
  return results;
}

/**
 * syncNow with progress. A full sync's total is what the source held last time (its stored snapshot); a delta
 * sync, or a first full sync, shows counts without an ETA.
 */
export async function syncWithProgress(client: Client, db: Db, config: Config, taskQueue: string, source: string, full: boolean, reporter: ProgressReporter, force = false, notice?: RetryNotice): Promise<DeltaSyncProgress> {
  const configured = config.sources.find((s) => s.name === source);
  if (!configured) throw Errors.UnknownSource(`source "${source}" is not in the configuration (known: ${config.sources.map((s) => s.name).join(', ') || 'none'})${noConfigHint(config)}`);
  const mode = full ? 'full' : configured.mode;
  let total: number | null = null;
  if (mode === 'full') {
    total = (await countSnapshots(db, source)) || null;
  }
  reporter.update(0, total, 'read');
  const handle = await client.workflow.start('deltaSyncWorkflow', { taskQueue, workflowId: `${workflowIds.deltaSync(source)}:manual-${Date.now()}`, args: [{ source, mode, ...(force ? { force: true } : {}) }] });
  try {
    const result = await followProgress<DeltaSyncProgress>(handle, (p) => {
      if (p && p.batches > 0) reporter.update(p.read, total === null ? null : Math.max(total, p.read), `read, ${p.keysMarked} key(s) handed to refresh`);
    }, notice && ((line) => notice(`sync ${source}: ${line}`)));
    reporter.update(result.read, total === null ? null : Math.max(total, result.read), `read, ${result.keysMarked} key(s) handed to refresh`);
    return result;
  } finally {
    reporter.stop();
  }
}
