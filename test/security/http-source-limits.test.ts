import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors } from '../../src/domain/errors.js';
import { HttpJsonSource } from '../../src/sources/http-json.js';

/** An ERP whose change feed answers far more than any sane reply: declared (content-length) or streamed without end. */
describe('HTTP source replies are bounded', () => {
  let server: Server;
  let url = '';
  let streamed = 0;
  beforeAll(async () => {
    const change = (i: number) => ({ shop: 's', sku: `SKU-${i}`, location: 'WH1', quantity: 1, occurred_at: '2026-11-30T08:00:00Z', cursor: String(i) });
    const big = JSON.stringify({ changes: Array.from({ length: 20_000 }, (_, i) => change(i)) });
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/declared/changes')) return res.end(big);
      // Chunked, no length: keeps sending until the client goes away.
      res.write('{"changes":[');
      const timer = setInterval(() => {
        streamed++;
        res.write(`${JSON.stringify(change(streamed))},`.repeat(200));
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const source = (path: string) => new HttpJsonSource({ name: 'big-erp', role: 'erp', url: `${url}/${path}`, maxReplyBytes: 64 * 1024, requestTimeoutMs: 5_000 });

  it('refuses a reply whose size passes max_reply_bytes', async () => {
    const err = await source('declared').changesSince(null, 100, new AbortController().signal).catch((e: unknown) => e);
    expect(Errors.SourceFailed.is(err)).toBe(true);
    expect((err as Error).message).toMatch(/answered more than 65536 bytes \(max_reply_bytes\)/);
  });

  it('cuts off a reply that streams without end, long before the request timeout', async () => {
    const started = Date.now();
    const err = await source('stream').changesSince(null, 100, new AbortController().signal).catch((e: unknown) => e);
    expect(Errors.SourceFailed.is(err)).toBe(true);
    expect((err as Error).message).toMatch(/max_reply_bytes/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
