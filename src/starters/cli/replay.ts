import { readFileSync, writeFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from '../../workers/bundle.js';

function bundleOptions(bundlePath?: string) {
  const path = bundlePath ?? (existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : undefined);
  return path ? { workflowBundle: { codePath: path } } : { workflowsPath: WORKFLOWS_PATH };
}

/** Writes a workflow's history as the same JSON the Web UI exports and `temporal workflow show --output json` prints. */
export async function exportHistory(client: Client, workflowId: string, file?: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const json = historyToJSON(history);
  if (file) writeFileSync(file, json);
  return json;
}

/**
 * Replays a history against the current workflow code; throws DeterminismViolationError when the code would take
 * another path than the recorded one (a change that needed `patched()`).
 */
export async function replay(source: { client: Client; workflowId: string } | { file: string }, bundlePath?: string): Promise<string> {
  if ('file' in source) {
    const history = historyFromJSON(JSON.parse(readFileSync(source.file, 'utf8')));
    await Worker.runReplayHistory(bundleOptions(bundlePath), history, 'replayed-from-file');
    return `replayed ${source.file}: deterministic`;
  }
  const history = await source.client.workflow.getHandle(source.workflowId).fetchHistory();
  await Worker.runReplayHistory(bundleOptions(bundlePath), history, source.workflowId);
  return `replayed ${source.workflowId} (${history.events?.length ?? 0} events): deterministic`;
}
