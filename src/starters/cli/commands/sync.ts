import type { Command } from 'commander';
import { Errors } from '../../../domain/errors.js';
import { applySchedules, listSchedules } from '../../schedules.js';
import { progressReporter } from '../progress.js';
import { reconcileWithProgress, syncWithProgress } from '../sync-commands.js';
import { err, out, withDb, withTemporal } from './io.js';

/** Schedules, and running a sync or a reconciliation now with progress. */
export function registerSyncCommands(program: Command): void {
  const schedules = program.command('schedules').description('Temporal Schedules for delta sync, reconciliation and housekeeping');
  schedules
    .command('apply')
    .description('create or update one delta-sync schedule per source, one reconciliation schedule per shop, and the housekeeping schedule')
    .action(() =>
      withTemporal(async (client, env, config) => {
        for (const r of await applySchedules(client, config, env.TEMPORAL_TASK_QUEUE)) out(`${r.outcome.padEnd(8)} ${r.scheduleId.padEnd(32)} ${r.describe}`);
      }),
    );
  schedules.command('list').action(() =>
    withTemporal(async (client) => {
      for (const s of await listSchedules(client)) {
        out(`${s.scheduleId.padEnd(32)} ${(s.workflowType ?? '').padEnd(20)} ${s.paused ? 'paused ' : 'active '} next ${s.nextRun?.toISOString() ?? '-'}`);
      }
    }),
  );

  program
    .command('sync')
    .description("run a source's sync now and wait for it")
    .requiredOption('--source <name>', 'source to sync')
    .option('--full', 'full refresh instead of the change feed')
    .option('--force', 'with --full: hand every reading to refresh, not only the changed ones')
    .action((opts: { source: string; full?: boolean; force?: boolean }) =>
      withTemporal(async (client, env, config) => {
        if (opts.force && !opts.full) throw Errors.PayloadInvalid('--force goes with --full (it re-pushes every reading of a full read)');
        await withDb(env.DATABASE_URL, async (db) => {
          const reporter = progressReporter(`sync ${opts.source}`, out, 'readings');
          const p = await syncWithProgress(client, db, config, env.TEMPORAL_TASK_QUEUE, opts.source, opts.full ?? false, reporter, opts.force ?? false, err);
          const skipped = p.mode === 'full' && !opts.force ? ' (unchanged readings are not handed on; --force re-pushes every key)' : '';
          out(`${p.source} (${p.mode}): ${p.batches} batch(es), ${p.read} read, ${p.keysMarked} key(s) handed to refresh${skipped}, checkpoint ${p.cursor ?? '-'}`);
        });
      }),
    );

  program
    .command('reconcile')
    .description('reconcile a shop (or all) now and wait for the report')
    .option('--shop <id>')
    .action((opts: { shop?: string }) =>
      withTemporal(async (client, env, config) => {
        await withDb(env.DATABASE_URL, async (db) => {
          const results = await reconcileWithProgress(client, db, config, env.TEMPORAL_TASK_QUEUE, opts.shop, (shop) => progressReporter(`reconcile ${shop}`, out, 'keys'), err);
          for (const r of results) {
            out(`${r.shopId}: run ${r.runId}, ${r.checked} key(s) checked, ${r.drifted} drifted, ${r.corrected} corrected, ${r.alerted} alert(s)${r.badLines === undefined ? '' : `, ${r.badLines} bad export line(s), ${r.missing ?? 0} mapping(s) Shopify no longer lists (reconciliation_problems)`}`);
          }
        });
      }),
    );
}
