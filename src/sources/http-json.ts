import { z } from 'zod';
import { Errors, InventorySyncError } from '../domain/errors.js';
import type { SnapshotPage, SourceAdapter, SourceChange, SourceRole } from './adapter.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';

/**
 * A source system that exposes REST/JSON (an ERP, a WMS). The contract it must serve is in docs/sources.md:
 *   POST {url}/components   {shop, keys:[{sku, location}]} -> {quantities:[{sku, location, quantity}]}
 *   GET  {url}/changes?after=&limit=                       -> {changes:[{shop, sku, location, quantity, occurred_at, cursor}]}
 *   GET  {url}/snapshot?after=&limit=                      -> {readings:[{shop, sku, location, quantity}], next_cursor}
 */
export interface HttpJsonSourceOptions {
  name: string;
  role: SourceRole;
  /** Base URL; the paths above are appended. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Bound on change-feed and snapshot requests; component reads are bound by parallel_fetch_timeout_ms instead. */
  requestTimeoutMs?: number;
  /** A reply larger than this is refused (read as it streams in, so a huge reply is cut off, not buffered). */
  maxReplyBytes?: number;
  /** Keys per components request; a batch larger than this is split into parallel requests. */
  maxKeysPerRequest?: number;
  fetchImpl?: typeof fetch;
}

const quantity = z.number({ error: 'expected a number' }).int('expected a whole number');
const componentsReply = z.object({
  quantities: z.array(z.object({ sku: z.string(), location: z.string(), quantity })),
});
const changesReply = z.object({
  changes: z.array(
    z.object({
      shop: z.string(),
      sku: z.string(),
      location: z.string(),
      quantity,
      occurred_at: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time' }),
      cursor: z.union([z.string(), z.number()]).transform(String),
    }),
  ),
});
const snapshotReply = z.object({
  readings: z.array(z.object({ shop: z.string(), sku: z.string(), location: z.string(), quantity })),
  next_cursor: z.union([z.string(), z.number()]).transform(String).nullable(),
});

export const DEFAULT_SOURCE_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_SOURCE_MAX_REPLY_BYTES = 16 * 1024 * 1024;

export class HttpJsonSource implements SourceAdapter {
  readonly name: string;
  readonly role: SourceRole;
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: HttpJsonSourceOptions) {
    this.name = opts.name;
    this.role = opts.role;
    this.base = opts.url.replace(/\/+$/, '');
    this.fetchImpl = opts.fetchImpl ?? fetch;
  }

  async getComponents(shopId: string, keys: SkuLocation[], signal: AbortSignal): Promise<Map<string, number>> {
    const size = this.opts.maxKeysPerRequest ?? 1000;
    const chunks: SkuLocation[][] = [];
    for (let i = 0; i < keys.length; i += size) chunks.push(keys.slice(i, i + size));
    const replies = await Promise.all(
      chunks.map((chunk) =>
        this.request('POST', '/components', componentsReply, this.bounded(signal), { shop: shopId, keys: chunk.map((k) => ({ sku: k.sku, location: k.locationId })) }),
      ),
    );
    const asked = new Set(keys.map(skuLocationKey));
    const result = new Map<string, number>();
    for (const reply of replies) {
      for (const q of reply.quantities) {
        const id = skuLocationKey({ sku: q.sku, locationId: q.location });
        // A reading we did not ask for is ignored rather than trusted.
        if (asked.has(id)) result.set(id, q.quantity);
      }
    }
    return result;
  }

  async changesSince(cursor: string | null, limit: number, signal: AbortSignal): Promise<SourceChange[]> {
    const reply = await this.request('GET', `/changes?${query(cursor, limit)}`, changesReply, this.bounded(signal));
    return reply.changes.map((c) => ({ shopId: c.shop, sku: c.sku, locationId: c.location, quantity: c.quantity, occurredAt: new Date(c.occurred_at).toISOString(), cursor: c.cursor }));
  }

  async snapshot(cursor: string | null, limit: number, signal: AbortSignal): Promise<SnapshotPage> {
    const reply = await this.request('GET', `/snapshot?${query(cursor, limit)}`, snapshotReply, this.bounded(signal));
    return { readings: reply.readings.map((r) => ({ shopId: r.shop, sku: r.sku, locationId: r.location, quantity: r.quantity })), nextCursor: reply.next_cursor };
  }

  private bounded(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? DEFAULT_SOURCE_REQUEST_TIMEOUT_MS)]);
  }

  /** The reply's text, refused as soon as it passes maxReplyBytes (declared or streamed); bounded by the same signal. */
  private async readBounded(res: Response, what: string, signal: AbortSignal): Promise<string> {
    const limit = this.opts.maxReplyBytes ?? DEFAULT_SOURCE_MAX_REPLY_BYTES;
    const tooLarge = () => Errors.SourceFailed(`${what} answered more than ${limit} bytes (max_reply_bytes)`, { source: this.name, limit });
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > limit) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (!res.body) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge();
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof InventorySyncError) throw err;
      if (signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError') throw Errors.SourceTimeout(`${what} did not answer in time`, { source: this.name });
      throw Errors.SourceFailed(`${what} failed while answering: ${(err as Error).message}`, { source: this.name });
    }
    return decodeUtf8(chunks);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, signal: AbortSignal, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const what = `source "${this.name}" ${method} ${path.split('?')[0]}`;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${path}`, { method, headers, signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (err) {
      if (signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError') {
        throw Errors.SourceTimeout(`${what} did not answer in time`, { source: this.name });
      }
      throw Errors.SourceFailed(`${what} failed: ${(err as Error).message}`, { source: this.name }, { cause: err });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw Errors.SourceFailed(`${what} answered HTTP ${res.status}`, { source: this.name, status: res.status });
    }
    const text = await this.readBounded(res, what, signal);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw Errors.SourceFailed(`${what} answered with a body that is not JSON`, { source: this.name });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw Errors.SourceFailed(`${what} answered an unexpected body: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { source: this.name, field: issue.path.join('.') });
    }
    return parsed.data;
  }
}

function decodeUtf8(chunks: Uint8Array[]): string {
  return Buffer.concat(chunks).toString('utf8');
}

function query(cursor: string | null, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor !== null) q.set('after', cursor);
  return q.toString();
}
