import { readFileSync, writeFileSync } from 'node:fs';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { Errors } from '../../domain/errors.js';
import { PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from '../../workers/bundle.js';

function bundleOptions(bundlePath?: string) {
  const path = bundlePath ?? (existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : undefined);
  return path ? { workflowBundle: { codePath: path } } : { workflowsPath: WORKFLOWS_PATH };
}

/** Writes a workflow's history as the same JSON the Web UI exports and `temporal workflow show --output json` prints. */
export async function exportHistory(client: Client, workflowId: string, file?: string): Promise<string> {
  const history = await fetchHistory(client, workflowId);
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
    const history = readHistoryFile(source.file);
    await Worker.runReplayHistory(bundleOptions(bundlePath), history, 'replayed-from-file');
    return `replayed ${source.file}: deterministic`;
  }
  const history = await fetchHistory(source.client, source.workflowId);
  await Worker.runReplayHistory(bundleOptions(bundlePath), history, source.workflowId);
  return `replayed ${source.workflowId} (${history.events?.length ?? 0} events): deterministic`;
}

async function fetchHistory(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).fetchHistory();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5) {
      throw Errors.NotFound(`no workflow with id "${workflowId}" in this namespace (look it up in the Web UI or with "temporal workflow list")`, { workflowId });
    }
    throw err;
  }
}

/** A history file as the Web UI or `history export` writes it; anything else is named, not stack-traced. */
function readHistoryFile(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw Errors.PayloadInvalid(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw Errors.PayloadInvalid(`${file} is not JSON (expected a history exported from the Web UI or by "inventory-sync history export")`, { file });
  }
  const events = (json as { events?: unknown[] } | null)?.events;
  if (!Array.isArray(events) || events.length === 0) {
    throw Errors.PayloadInvalid(`${file} holds no history events (expected {"events": [...]} as the Web UI or "inventory-sync history export" writes it)`, { file });
  }
  try {
    return historyFromJSON(json);
  } catch (err) {
    throw Errors.PayloadInvalid(`${file} is not a workflow history: ${(err as Error).message}`, { file });
  }
}
