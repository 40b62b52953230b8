import { Errors, InventorySyncError } from '../../domain/errors.js';
import { sleep } from './budget.js';
import * as D from './documents.js';
import type { GraphqlCaller } from './graphql-call.js';
import type { CallBounds } from './types.js';
import type { ShopifyUserError } from './user-errors.js';

export interface BulkQueryOptions extends CallBounds {
  pollIntervalMs?: number;
  /** Give up waiting after this long (the operation keeps running at Shopify). */
  timeoutMs?: number;
  /** The JSONL download must finish within this (default 10 minutes). */
  downloadTimeoutMs?: number;
  /** The JSONL download is refused past this many bytes (default 2 GiB). */
  maxDownloadBytes?: number;
}

const ACTIVE = new Set(['CREATED', 'RUNNING']);
const START_ATTEMPTS = 4;

interface BulkOperation {
  id: string;
  status: string;
  errorCode: string | null;
  objectCount: string | number;
  url: string | null;
  partialDataUrl: string | null;
}

/** A finished bulk export: where its JSONL is, and how many lines it holds. */
export interface BulkExport {
  id: string;
  /** Null when the query matched nothing (Shopify gives no file then). */
  url: string | null;
  objectCount: number;
}

/** Starts a bulk query (or joins the one already running for it) and waits until its file is ready. */
export async function runBulkExport(call: GraphqlCaller, query: string, opts: BulkQueryOptions = {}): Promise<BulkExport> {
  const op = await waitForBulk(call, await startOrJoin(call, query, opts), opts);
  return { id: op.id, url: op.url, objectCount: Number(op.objectCount) };
}

/** One line of a bulk result file, numbered from 1, unparsed. */
export interface BulkLine {
  n: number;
  text: string;
}

export interface BulkLinesOptions extends BulkQueryOptions {
  /** Lines already processed (a resumed reader): counted, never parsed. */
  skipLines?: number;
  bulkOperationId?: string;
}

/**
 * Streams a bulk result file's lines (Shopify's file stays downloadable for a week, so a reader that stopped can
 * download it again and skip what it did). Bounded in bytes and time; a download that breaks off throws retryable.
 */
export async function* streamBulkLines(fetchImpl: typeof fetch, url: string, opts: BulkLinesOptions = {}): AsyncGenerator<BulkLine> {
  const details = opts.bulkOperationId === undefined ? {} : { bulkOperationId: opts.bulkOperationId };
  const maxBytes = opts.maxDownloadBytes ?? 2 * 1024 ** 3;
  const timeout = AbortSignal.timeout(opts.downloadTimeoutMs ?? 10 * 60_000);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
  let response: Response;
  try {
    response = await fetchImpl(url, { signal });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason as Error;
    throw Errors.ShopifyUnavailable(`bulk result download failed: ${(err as Error).message}`, details, { cause: err });
  }
  if (!response.ok || response.body === null) {
    throw Errors.ShopifyUnavailable(`bulk result download failed with HTTP ${response.status}`, details);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw Errors.PayloadTooLarge(`bulk result is ${declared} bytes, over the limit of ${maxBytes}`, { ...details, maxBytes });
  const skip = opts.skipLines ?? 0;
  const decoder = new TextDecoder();
  let pending = '';
  let received = 0;
  let n = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      if (received > maxBytes) throw Errors.PayloadTooLarge(`bulk result exceeded the limit of ${maxBytes} bytes`, { ...details, maxBytes });
      const parts = (pending + decoder.decode(chunk, { stream: true })).split('\n');
      pending = parts.pop()!;
      for (const part of parts) {
        n += 1;
        if (n <= skip) continue;
        const text = part.trim();
        if (text !== '') yield { n, text };
      }
    }
  } catch (err) {
    if (err instanceof InventorySyncError) throw err;
    if (opts.signal?.aborted) throw opts.signal.reason as Error;
    throw Errors.ShopifyUnavailable(`bulk result download broke off: ${(err as Error).message}`, details, { cause: err });
  }
  const last = (pending + decoder.decode()).trim();
  n += 1;
  if (last !== '' && n > skip) yield { n, text: last };
}

/**
 * Runs a bulk query and yields its JSONL rows (child rows carry `__parentId`). Polling costs one point,
 * so it shares the shop budget without crowding out writes. A line that is not JSON fails the read.
 */
export async function* runBulkQuery(
  call: GraphqlCaller,
  fetchImpl: typeof fetch,
  query: string,
  opts: BulkQueryOptions = {},
): AsyncGenerator<Record<string, unknown>> {
  const op = await runBulkExport(call, query, opts);
  if (op.url === null) return; // Shopify gives no file when the query matched nothing.
  const details = { bulkOperationId: op.id };
  for await (const line of streamBulkLines(fetchImpl, op.url, { ...opts, bulkOperationId: op.id })) yield parseRow(line.text, details);
}

interface CurrentBulk {
  id: string;
  status: string;
  query: string;
  createdAt: string;
}

/**
 * Starts the export, or joins the one already running for the same query: a start whose answer was lost
 * (5xx after Shopify created it, a timeout) is never followed by a second export. Before every start the shop's
 * current bulk query is asked for; one with our query that is still running, or that was created by our own
 * unanswered start, is the one we wait for.
 */
async function startOrJoin(call: GraphqlCaller, query: string, opts: BulkQueryOptions): Promise<string> {
  const firstStart = Date.now();
  let startSent = false;
  for (let attempt = 1; ; attempt += 1) {
    const { data: current } = await call<{ currentBulkOperation: CurrentBulk | null }>(D.BULK_CURRENT, {}, { operation: 'currentBulkOperation', estimatedCost: D.BULK_STATUS_COST });
    const op = current.currentBulkOperation;
    // Shopify's clock, not ours: a 5 s allowance for the skew between the two.
    const ours = startSent && op !== null && Date.parse(op.createdAt) >= firstStart - 5_000 && op.status !== 'FAILED' && op.status !== 'CANCELED';
    if (op !== null && op.query === query && (ACTIVE.has(op.status) || ours)) return op.id;
    startSent = true;
    try {
      const { data } = await call<{ bulkOperationRunQuery: { bulkOperation: { id: string } | null; userErrors: ShopifyUserError[] } }>(
        D.BULK_RUN,
        { query },
        // One send per start: whether to send again is decided above, after asking what is running.
        { operation: 'bulkOperationRunQuery', estimatedCost: D.MUTATION_COST, maxAttempts: 1 },
      );
      const started = data.bulkOperationRunQuery;
      const firstError = started.userErrors[0];
      if (firstError !== undefined || started.bulkOperation === null) {
        throw Errors.ShopifyUserError(`bulkOperationRunQuery: ${firstError?.message ?? 'no operation started'}`, {
          code: firstError?.code ?? null,
          field: firstError?.field ?? null,
        });
      }
      return started.bulkOperation.id;
    } catch (err) {
      if (!(err instanceof InventorySyncError) || !err.retryable || attempt >= START_ATTEMPTS) throw err;
      await sleep(Math.min(250 * 2 ** attempt, 5_000), opts.signal);
    }
  }
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
    // Missing access scopes: polling or starting again gets the same answer until someone grants them.
    if (op.status === 'FAILED' && op.errorCode === 'ACCESS_DENIED') {
      throw Errors.ShopifyAuth('bulk operation failed with ACCESS_DENIED: the app lacks an access scope its query needs', { bulkOperationId: id, status: op.status, errorCode: op.errorCode });
    }
    if (op.status !== 'CREATED' && op.status !== 'RUNNING' && op.status !== 'CANCELING') {
      throw Errors.ShopifyUnavailable(`bulk operation ended ${op.status}`, { bulkOperationId: id, status: op.status, errorCode: op.errorCode });
    }
    if (Date.now() > deadline) throw Errors.ShopifyUnavailable(`bulk operation still ${op.status} at the deadline`, { bulkOperationId: id });
    await sleep(interval, opts.signal);
    interval = Math.min(interval * 2, 5_000);
  }
}
