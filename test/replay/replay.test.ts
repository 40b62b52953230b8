import { readdirSync, readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

/**
 * Histories recorded from every workflow type (test/replay/record.test.ts) replayed against today's code. A change
 * to workflow code that would break executions already running fails here: such a change needs `patched()`.
 * Histories are only ever added (`<type>.<label>.json`), never re-recorded over: each stands for executions that
 * may still be running somewhere.
 */
const DIR = new URL('./histories/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('workflow replay against recorded histories', () => {
  it('has a recorded history for every workflow type', () => {
    expect([...new Set(files.map((f) => f.split('.')[0]))].sort()).toEqual(['deltaSyncWorkflow', 'reconcileWorkflow', 'refreshWorkflow', 'reservationWorkflow', 'shopRefreshWorkflow']);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(new URL(file, DIR), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file);
  });
});
