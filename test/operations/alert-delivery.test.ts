import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertDispatcher } from '../../src/alerts/dispatcher.js';
import { resolveAlertEndpoints } from '../../src/alerts/endpoints.js';
import { testConfig, connectTestServices, type TestServices } from '../support/services.js';

/**
 * The dispatcher's promise: each alert reaches each endpoint at most once. A failure the endpoint answered (or a
 * connection that never opened) is retried; a request that got no answer may have arrived and is never resent.
 */
describe('alert delivery: at most once', () => {
  let svc: TestServices;
  let receiver: Server;
  let port: number;
  const hits: { path: string; alertId: string }[] = [];
  const quiet = { warn: () => undefined, info: () => undefined };

  beforeAll(async () => {
    svc = await connectTestServices();
    receiver = createServer((req, res) => {
      hits.push({ path: req.url ?? '', alertId: String(req.headers['x-inventory-sync-alert-id']) });
      if (req.url === '/hang') return; // never answers
      res.writeHead(req.url === '/refuse' ? 400 : 200).end();
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    port = (receiver.address() as { port: number }).port;
  });
  afterAll(async () => {
    receiver?.closeAllConnections();
    receiver?.close();
    await svc?.close();
  });

  async function dispatcherFor(path: string, kind: string) {
    const config = testConfig({
      inventory_sync: { alerts: { request_timeout_ms: 300, retry_initial_ms: 50, endpoints: [{ name: 'ep', url: `http://127.0.0.1:${path.startsWith(':') ? path.slice(1) : `${port}${path}`}`, kinds: [kind] }] } },
    });
    return new AlertDispatcher({ db: svc.db, config: config.inventory_sync.alerts, endpoints: resolveAlertEndpoints(config.inventory_sync.alerts), logger: quiet });
  }
  async function raise(kind: string): Promise<string> {
    const { rows } = await svc.db.query<{ id: string }>(`INSERT INTO alerts (kind, shop_id, subject, details) VALUES ($1, 'shop', 'SKU|WH', '{"drift": 7}') RETURNING id::text`, [kind]);
    return rows[0]!.id;
  }
  const delivery = async (id: string) => (await svc.db.query('SELECT status, attempts, last_error FROM alert_deliveries WHERE alert_id = $1', [id])).rows[0];

  it('a request that got no answer ends unknown and is never sent again', async () => {
    const kind = svc.uid('hang');
    const id = await raise(kind);
    const dispatcher = await dispatcherFor('/hang', kind);
    await dispatcher.runOnce();
    expect(await delivery(id)).toMatchObject({ status: 'unknown', attempts: 1, last_error: expect.stringContaining('no answer within 300 ms') });
    await dispatcher.runOnce();
    await dispatcher.runOnce();
    expect(hits.filter((h) => h.alertId === id)).toHaveLength(1);
  });

  it('a connection that never opened is retried; a refusal (4xx) is final', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const kind = svc.uid('refused');
    const id = await raise(kind);
    const down = await dispatcherFor(`:${closedPort}`, kind);
    await down.runOnce();
    expect(await delivery(id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'not sent: ECONNREFUSED' });

    const kind4xx = svc.uid('4xx');
    const id4xx = await raise(kind4xx);
    const refusing = await dispatcherFor('/refuse', kind4xx);
    await refusing.runOnce();
    expect(await delivery(id4xx)).toMatchObject({ status: 'failed', attempts: 1 });
    await new Promise((r) => setTimeout(r, 100));
    await refusing.runOnce();
    expect(hits.filter((h) => h.alertId === id4xx)).toHaveLength(1);
  });

  it('a url_env that is unset is a clear error naming the variable', () => {
    const config = testConfig({ inventory_sync: { alerts: { endpoints: [{ name: 'ops', format: 'slack', url_env: 'NO_SUCH_ALERT_URL' }] } } });
    expect(() => resolveAlertEndpoints(config.inventory_sync.alerts, {})).toThrowError('inventory_sync.alerts.endpoints.0.url_env: environment variable NO_SUCH_ALERT_URL is not set (alert endpoint "ops")');
  });
});
