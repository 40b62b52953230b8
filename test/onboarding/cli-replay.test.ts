import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';
import { buildCli } from './cli.js';

const STACK = /\n\s+at /;
const RECORDED = new URL('../replay/histories/refreshWorkflow.1-initial.json', import.meta.url);

/**
 * Issue 15 item 4: `history export` and `replay --file` run as an operator runs them, on a real completed workflow
 * and on a history today's code would not produce. The error cases of reading a file are in cli-errors.test.ts.
 */
describe('history export and replay, run as the CLI', () => {
  let cli: Awaited<ReturnType<typeof buildCli>>;
  let svc: TestServices;
  const dir = mkdtempSync(join(tmpdir(), 'isync-cli-replay-'));
  let env: Record<string, string>;

  beforeAll(async () => {
    svc = await connectTestServices();
    cli = await buildCli();
    // Where `npm run build` puts the prebuilt workflow bundle next to the compiled CLI: replay runs today's code from it.
    mkdirSync(join(cli.dir, 'src/workers'), { recursive: true });
    copyFileSync(inject('workflowBundlePath'), join(cli.dir, 'src/workers/workflow-bundle.js'));
    env = { DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), TEMPORAL_ADDRESS: inject('temporalAddress'), REDIS_KEY_PREFIX: `${svc.redisPrefix}cli:` };
    await svc.startWorker(svc.activities(testConfig(), () => {
      throw new Error('no Shopify call expected: the only key is unmapped');
    }));
  });
  afterAll(async () => {
    cli?.dispose();
    await svc?.close();
  });

  it('exports a completed workflow to a file, and replay --file of that file says it replays deterministically', async () => {
    const shopId = svc.uid('cli-replay');
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
    const workflowId = `${shopId}-refresh`;
    // A real execution: refreshKeys runs against PostgreSQL and Redis and audits the key as unmapped.
    const summary = await svc.temporal.workflow.execute('refreshWorkflow', {
      taskQueue: svc.taskQueue,
      workflowId,
      args: [{ shopId, keys: [{ sku: 'NOT-MAPPED', locationId: 'WH1' }], trigger: 'cli-test' }],
    });
    expect(summary).toMatchObject({ skipped: 1 });

    const file = join(dir, 'exported.json');
    const exported = await cli.run(['history', 'export', '--workflow-id', workflowId, '--out', file], env);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`history of ${workflowId} written to ${file}`);
    const events = (JSON.parse(readFileSync(file, 'utf8')) as { events: { eventType: string }[] }).events;
    expect(events[0]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    expect(events.at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(events.map((e) => e.eventType)).toContain('EVENT_TYPE_ACTIVITY_TASK_COMPLETED');

    // replay --file needs no Temporal: only the file and the workflow code.
    const replayed = await cli.run(['replay', '--file', file], { PATH: process.env.PATH ?? '' }, 120_000);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stderr).not.toContain('ISYNC_');
    expect(replayed.stdout).toContain(`replayed ${file}: deterministic`);
  });

  it('replay --file of a history today\'s code would not produce exits 1 naming the non-determinism, the stack only with LOG_LEVEL=debug', async () => {
    const history = JSON.parse(readFileSync(RECORDED, 'utf8')) as { events: { eventType: string; activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[] };
    const scheduled = history.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
    expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes!.activityType.name)).toEqual(['refreshKeys']);
    // As if the recorded execution had run an older version whose activity had another name.
    scheduled[0]!.activityTaskScheduledEventAttributes!.activityType.name = 'refreshKeysV0';
    const file = join(dir, 'renamed-activity.json');
    writeFileSync(file, JSON.stringify(history));

    const res = await cli.run(['replay', '--file', file], { PATH: process.env.PATH ?? '' }, 120_000);
    expect(res.code).toBe(1);
    expect(res.stdout).not.toContain('deterministic');
    expect(res.stderr).toContain('Replay failed with a nondeterminism error');
    expect(res.stderr).toContain("Activity type of scheduled event 'refreshKeysV0' does not match activity type of activity command 'refreshKeys'");
    expect(res.stderr).not.toMatch(STACK);

    const debug = await cli.run(['replay', '--file', file], { PATH: process.env.PATH ?? '', LOG_LEVEL: 'debug' }, 120_000);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(STACK);
  });
});
