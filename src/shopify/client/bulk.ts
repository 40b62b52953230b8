import { Errors, InventorySyncError } from '../../domain/errors.js';
import { sleep } from './budget.js';
import * as D from './documents.js';
import type { GraphqlCaller } from './graphql-call.js';
import type { ShopifyUserError } from './user-errors.js';

export interface BulkQueryOptions {
  pollIntervalMs?: number;
  /** Give up waiting after this long (the operation keeps running at Shopify). */
  timeoutMs?: number;
}

interface BulkOperation {
  id: string;
  status: string;
  errorCode: string | null;
  objectCount: string | number;
  url: string | null;
  partialDataUrl: string | null;
}

/**
 * Runs a bulk query and yields its JSONL rows (child rows carry `__parentId`). Polling costs one point,
 * so it shares the shop budget without crowding out writes.
 */
export async function* runBulkQuery(
  call: GraphqlCaller,
  fetchImpl: typeof fetch,
  query: string,
  opts: BulkQueryOptions = {},
): AsyncGenerator<Record<string, unknown>> {
  const { data } = await call<{ bulkOperationRunQuery: { bulkOperation: { id: string } | null; userErrors: ShopifyUserError[] } }>(
    D.BULK_RUN,
    { query },
    { operation: 'bulkOperationRunQuery', estimatedCost: D.MUTATION_COST },
  );
  const started = data.bulkOperationRunQuery;
  const firstError = started.userErrors[0];
  if (firstError !== undefined || started.bulkOperation === null) {
    throw Errors.ShopifyUserError(`bulkOperationRunQuery: ${firstError?.message ?? 'no operation started'}`, {
      code: firstError?.code ?? null,
      field: firstError?.field ?? null,
    });
  }
  const operation = await waitForBulk(call, started.bulkOperation.id, opts);
  if (operation.url === null) return; // Shopify gives no file when the query matched nothing.

  const details = { bulkOperationId: operation.id };
  let response: Response;
  try {
    response = await fetchImpl(operation.url);
  } catch (err) {
    throw Errors.ShopifyUnavailable(`bulk result download failed: ${(err as Error).message}`, details, { cause: err });
  }
  if (!response.ok || response.body === null) {
    throw Errors.ShopifyUnavailable(`bulk result download failed with HTTP ${response.status}`, details);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line !== '') yield parseRow(line, details);
        newline = buffer.indexOf('\n');
      }
    }
  } catch (err) {
    if (err instanceof InventorySyncError) throw err;
    throw Errors.ShopifyUnavailable(`bulk result download broke off: ${(err as Error).message}`, details, { cause: err });
  }
  const last = (buffer + decoder.decode()).trim();
  if (last !== '') yield parseRow(last, details);
}

function parseRow(line: string, details: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw Errors.ShopifyGraphqlError('bulk result holds a line that is not JSON', details, { cause: err });
  }
}

async function waitForBulk(call: GraphqlCaller, id: string, opts: BulkQueryOptions): Promise<BulkOperation> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  let interval = opts.pollIntervalMs ?? 250;
  for (;;) {
    const { data } = await call<{ bulkOperation: BulkOperation | null }>(D.BULK_STATUS, { id }, {
      operation: 'bulkOperation',
      estimatedCost: D.BULK_STATUS_COST,
    });
    const op = data.bulkOperation;
    if (op === null) throw Errors.NotFound(`bulk operation ${id} not found`, { bulkOperationId: id });
    if (op.status === 'COMPLETED') return op;
    if (op.status !== 'CREATED' && op.status !== 'RUNNING' && op.status !== 'CANCELING') {
      throw Errors.ShopifyUnavailable(`bulk operation ended ${op.status}`, { bulkOperationId: id, status: op.status, errorCode: op.errorCode });
    }
    if (Date.now() > deadline) throw Errors.ShopifyUnavailable(`bulk operation still ${op.status} at the deadline`, { bulkOperationId: id });
    await sleep(interval);
    interval = Math.min(interval * 2, 5_000);
  }
}
