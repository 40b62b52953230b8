import { readdirSync, readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import * as workflows from '../../src/workflows/index.js';

/**
 * Histories recorded from every workflow type (test/replay/record.test.ts) replayed against today's code. A change
 * to workflow code that would break executions already running fails here: such a change needs `patched()`.
 * Histories are only ever added (`<type>.<label>.json`), never re-recorded over: each stands for executions that
 * may still be running somewhere.
 */
const DIR = new URL('./histories/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('workflow replay against recorded histories', () => {
  it('has a recorded history for every workflow type the bundle exports', () => {
    // Every function the workflow index exports is a workflow type the worker serves: a new one without a recorded
    // history fails here until `record.test.ts` records one.
    const types = Object.entries(workflows)
      .filter(([, v]) => typeof v === 'function')
      .map(([name]) => name)
      .sort();
    expect(types.length).toBeGreaterThanOrEqual(5);
    const recorded = new Set(files.map((f) => f.split('.')[0]));
    expect(types.filter((t) => !recorded.has(t)), 'workflow types with no recorded history').toEqual([]);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(new URL(file, DIR), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file);
  });
});
