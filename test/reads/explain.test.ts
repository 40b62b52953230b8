import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { doubtLastSeen, forgetCommitted, rememberLastSeen } from '../../src/guard/last-seen.js';
import { checkVersion, releaseLeases } from '../../src/guard/version-guard.js';
import { explainSku, type KeyExplanation } from '../../src/reads/explain.js';
import { formatExplanation } from '../../src/reads/explain-format.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { createSources } from '../../src/runtime/sources.js';
import { HttpJsonSource } from '../../src/sources/http-json.js';
import { buildCli } from '../../src/starters/cli/main.js';
import { keysDirtySignal, shopRefreshWorkflow } from '../../src/workflows/index.js';
import { orderIdOf, startRig, waitFor, type Rig } from '../reservations/rig.js';

const SKU = 'EXPLAIN-1';

describe('explain: GET /explain/:shop/:sku and inventory-sync explain', () => {
  let rig: Rig;
  let orderId: string;
  let person: { email: string; name: string };
  const saved = { ...process.env };

  beforeAll(async () => {
    rig = await startRig({ onHand: 20, skus: [SKU], locations: ['WH1', 'WH2'] });
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 2 }], locationId: rig.catalog.ids.get(`${SKU}|WH1`)!.locationId });
    orderId = orderIdOf(order);
    const customer = order.rest.customer as { email: string; first_name: string; last_name: string };
    person = { email: customer.email, name: `${customer.first_name} ${customer.last_name}` };
    await waitFor(() => rig.claimLines(orderId), (lines) => lines[0]?.claimed === 2);
    // The claim's refresh has written (and audited) the key.
    await waitFor(async () => (await rig.svc.db.query('SELECT count(*)::int AS n FROM audit_log WHERE shop_id = $1 AND sku = $2 AND location_id = $3', [rig.shopId, SKU, 'WH1'])).rows[0].n, (n) => n > 0);
  });
  afterAll(async () => {
    process.env = saved;
    await rig?.close();
  });

  const get = (path: string, token: string | null = rig.operatorToken) => fetch(`${rig.url}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const explain = async (location = 'WH1'): Promise<KeyExplanation> => {
    const res = await get(`/explain/${rig.shopId}/${SKU}?location=${location}`);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return (JSON.parse(text) as { locations: KeyExplanation[] }).locations[0]!;
  };

  it('shows ATS with each component, its source and age; claims by order id; the buffer; Shopify now; the last writes', async () => {
    const e = await explain();
    expect(e).toMatchObject({ shopId: rig.shopId, sku: SKU, locationId: 'WH1', ats: 18 });
    const c = Object.fromEntries(e.components.map((x) => [x.name, x]));
    expect(c.erpOnHand).toMatchObject({ units: 20, from: `${rig.shopId}-erp` });
    expect(c.erpOnHand!.sources![0]).toMatchObject({ source: `${rig.shopId}-erp`, role: 'erp', units: 20, ageSeconds: expect.any(Number), recordedAt: expect.any(String) });
    expect(c.wmsAllocated).toMatchObject({ units: 0 });
    expect(c.posPending).toMatchObject({ units: 0 });
    expect(c.openClaims).toMatchObject({ units: 2 });
    expect(c.safetyBuffer).toMatchObject({ units: 0 });
    expect(e.buffer).toMatchObject({ units: 0, strategy: 'static', from: 'default', rule: 'static: 0 units' });
    expect(e.claims).toEqual([{ orderId, units: 2, state: 'claimed', updatedAt: expect.any(String) }]);
    expect(e.shopify).toMatchObject({ available: 18, committed: 2 });
    expect(e.writes.length).toBeGreaterThan(0);
    for (const w of e.writes) expect(Object.keys(w).sort()).toEqual(['at', 'ats', 'delta', 'errorCode', 'outcome', 'previousShopify', 'trigger', 'version']);
    expect(e.inFlight).toMatchObject({ dirty: null, lease: null });
    // Nothing about the customer, anywhere in the answer.
    const raw = JSON.stringify(e);
    expect(raw).not.toContain(person.email);
    expect(raw).not.toContain(person.name);
  });

  it('derives a dynamic buffer in words', async () => {
    const { explainSafetyBuffer } = await import('../../src/domain/safety-buffer.js');
    const cfg = { ...rig.config.inventory_sync.safety_buffers, strategy: 'dynamic' as const, default_percentage: 10 };
    expect(explainSafetyBuffer(cfg, { sku: SKU, erpOnHand: 31 })).toEqual({ units: 4, strategy: 'dynamic', from: 'default', rule: 'dynamic: ceil(10% of on-hand 31) = 4' });
    expect(explainSafetyBuffer({ ...cfg, overrides: { [SKU]: { units: 5 } } }, { sku: SKU, erpOnHand: 31 })).toMatchObject({ units: 5, strategy: 'static', from: 'override' });
  });

  it('shows a key whose write lease a computation holds (the guard hash in Redis)', async () => {
    const key = { shopId: rig.shopId, sku: SKU, locationId: 'WH2' };
    const writer = { version: 10n ** 15n, attempt: 2 };
    expect(await checkVersion(rig.svc.redis, key, writer, 20, 20_000)).toEqual({ allowed: true });
    try {
      const e = await explain('WH2');
      expect(e.inFlight.lease).toMatchObject({ version: String(writer.version), attempt: 2 });
      expect(e.inFlight.lease!.expiresInMs).toBeGreaterThan(0);
      expect(e.inFlight.guard).toMatchObject({ version: String(writer.version), quantity: 20 });
    } finally {
      await releaseLeases(rig.svc.redis, [key], writer);
    }
    expect((await explain('WH2')).inFlight.lease).toBeNull();
  });

  it("shows a remembered Shopify value as doubtful once Shopify moved the key itself, until it is seen again", async () => {
    const key = { sku: SKU, locationId: 'WH2' };
    await rememberLastSeen(rig.svc.redis, rig.shopId, [[key, 20]]);
    expect((await explain('WH2')).inFlight.guard).toMatchObject({ lastSeenShopify: 20, lastSeenDoubtful: false });
    // A checkout of this key after the value was seen (what a Shopify order's claim reports).
    await doubtLastSeen(rig.svc.redis, rig.shopId, [key], Date.now() + 10_000);
    const e = await explain('WH2');
    expect(e.inFlight.guard).toMatchObject({ lastSeenShopify: 20, lastSeenDoubtful: true });
    expect(formatExplanation({ ...e, writes: [] })).toContain('Shopify last seen 20 (doubtful: Shopify moved it since; the next refresh reads it again)');
    // Seen again (a refresh's read or write): trusted again.
    await rememberLastSeen(rig.svc.redis, rig.shopId, [[key, 19]]);
    expect((await explain('WH2')).inFlight.guard).toMatchObject({ lastSeenShopify: 19, lastSeenDoubtful: false });
  });

  it("shows Shopify's units committed to orders whose claim we do not hold yet, as the refresh subtracts them", async () => {
    // A stale compare's re-read kept committed 5 at WH1 while our claims hold 2 there: 3 units belong to orders
    // whose webhook has not been handled yet, and the refresh would write 20 - 2 - 3 = 15, not 18.
    const key = { sku: SKU, locationId: 'WH1' };
    expect((await explain()).components.find((x) => x.name === 'shopifyUnclaimed')).toMatchObject({ units: 0, ageSeconds: null });
    await rememberLastSeen(rig.svc.redis, rig.shopId, [[key, 18, 5]]);
    try {
      const e = await explain();
      expect(e.ats).toBe(15);
      const part = e.components.find((x) => x.name === 'shopifyUnclaimed')!;
      expect(part).toMatchObject({ units: 3, ageSeconds: expect.any(Number) });
      expect(part.from).toContain('Shopify committed 5, our Shopify-order claims hold 2');
      expect(formatExplanation({ ...e, writes: [] })).toContain('= max(0, 20 - 0 - 0 - 2 - 0 - 3)');
    } finally {
      await forgetCommitted(rig.svc.redis, rig.shopId, [key]);
    }
    expect((await explain()).ats).toBe(18);
  });

  it('re-reads Shopify for a committed reading our claims released units since, as the refresh does', async () => {
    // Kept when our claims held 4 (committed 5); they hold 2 now: 2 of the 5 may be released units, not orders.
    const key = { sku: SKU, locationId: 'WH1' };
    await rememberLastSeen(rig.svc.redis, rig.shopId, [[key, 18, 5, 4]]);
    try {
      const part = (await explain()).components.find((x) => x.name === 'shopifyUnclaimed')!;
      // Shopify now: committed 2 (the one order), our claims hold 2: nothing unclaimed.
      expect(part).toMatchObject({ units: 0, ageSeconds: 0 });
      expect(part.from).toContain('released 2 unit(s) since the kept reading (committed 5)');
      expect(part.from).toContain('Shopify committed 2 now, our claims hold 2');
    } finally {
      await forgetCommitted(rig.svc.redis, rig.shopId, [key]);
    }
  });

  it('Shopify that cannot be read is shown failing, and leaves nothing unhandled behind (the process lives on)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const real = createShopifyClients(rig.config, { baseUrl: rig.emu.url, env: rig.env });
      const shopify = (id: string) => new Proxy(real(id), { get: (t, p, r) => (p === 'readLevels' ? () => Promise.reject(new Error('Shopify is down')) : Reflect.get(t, p, r)) });
      const [e] = await explainSku({ db: rig.svc.db, redis: rig.svc.redis, config: rig.config, sources: createSources(rig.config, rig.svc.db), shopify, temporal: rig.svc.temporal }, rig.shopId, SKU, 'WH1');
      expect(e!.shopify).toMatchObject({ available: null, error: expect.stringContaining('Shopify is down') });
      expect(e!.ats).toBe(18);
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it("shows a key that is dirty: pending in the shop's refresh workflow, with its trigger", async () => {
    const refreshId = `refresh:${rig.shopId}`;
    await rig.svc.temporal.workflow.getHandle(refreshId).terminate('explain test: a queue that holds its keys').catch(() => undefined);
    // A refresh queue whose coalescing window outlasts the test: the key stays pending until it is asked about.
    await rig.svc.temporal.workflow.signalWithStart(shopRefreshWorkflow, {
      workflowId: refreshId,
      taskQueue: rig.svc.taskQueue,
      args: [{ shopId: rig.shopId, pending: [], coalesceWindowMs: 600_000 }],
      signal: keysDirtySignal,
      signalArgs: [{ keys: [{ sku: SKU, locationId: 'WH2' }], trigger: 'source_event' }],
    });
    await expect.poll(async () => (await explain('WH2')).inFlight.dirty, { timeout: 15_000 }).toMatchObject({ triggers: ['source_event'], since: expect.any(String) });
    expect((await explain('WH1')).inFlight.dirty).toBeNull();
    await rig.svc.temporal.workflow.getHandle(refreshId).terminate('explain test over');
  });

  it('a source that does not answer is shown failing, and no ATS is given (a refresh would write nothing)', async () => {
    const { createServer } = await import('node:net');
    // A port that was just free: nothing listens there, so the WMS refuses every connection.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const sources = [...createSources(rig.config, rig.svc.db), new HttpJsonSource({ name: 'dead-wms', role: 'wms', url: `http://127.0.0.1:${port}` })];
    const shopify = createShopifyClients(rig.config, { baseUrl: rig.emu.url, env: rig.env });
    const [e] = await explainSku({ db: rig.svc.db, redis: rig.svc.redis, config: rig.config, sources, shopify, temporal: rig.svc.temporal }, rig.shopId, SKU, 'WH1');
    expect(e!.ats).toBeNull();
    const wms = e!.components.find((c) => c.name === 'wmsAllocated')!.sources!.find((s) => s.source === 'dead-wms')!;
    expect(wms).toMatchObject({ units: null, error: expect.stringContaining('dead-wms') });
    expect(e!.note).toContain('dead-wms');
    // The rest is still explained.
    expect(e!.components.find((c) => c.name === 'erpOnHand')!.units).toBe(20);
    expect(e!.shopify.available).toBe(18);
    expect(formatExplanation(e!)).toMatch(/wmsAllocated\s+FAILED\s+dead-wms \(wms\)/);
  });

  it('an unknown shop, SKU or location gets a 404 naming which; a missing or wrong token 401', async () => {
    const cases: [string, string, string][] = [
      [`/explain/no-such-shop/${SKU}`, 'ISYNC_UNKNOWN_SHOP', 'shop'],
      [`/explain/${rig.shopId}/NO-SUCH-SKU`, 'ISYNC_SKU_NOT_FOUND', 'sku'],
      [`/explain/${rig.shopId}/${SKU}?location=WH9`, 'ISYNC_LOCATION_NOT_FOUND', 'location'],
    ];
    for (const [path, code, field] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { message: string };
      expect(body).toMatchObject({ code, details: { field } });
    }
    expect(((await (await get(`/explain/${rig.shopId}/${SKU}?location=WH9`)).json()) as { message: string }).message).toContain('"WH9"');
    for (const token of [null, 'wrong', rig.orderToken]) expect((await get(`/explain/${rig.shopId}/${SKU}`, token)).status).toBe(401);
  });

  describe('the CLI', () => {
    beforeAll(() => {
      const dir = mkdtempSync(join(tmpdir(), 'explain-'));
      const file = join(dir, 'config.yaml');
      writeFileSync(file, stringify(rig.config));
      Object.assign(process.env, rig.env, {
        INVENTORY_SYNC_CONFIG: file,
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        REDIS_KEY_PREFIX: rig.svc.redisPrefix,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: rig.svc.taskQueue,
        SHOPIFY_API_BASE_URL: rig.emu.url,
        LOG_LEVEL: 'silent',
      });
    });

    async function run(...args: string[]): Promise<{ out: string; err: string }> {
      const out: string[] = [];
      const err: string[] = [];
      const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
      const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
      try {
        await buildCli().parseAsync(['node', 'inventory-sync', ...args]);
      } finally {
        o.mockRestore();
        e.mockRestore();
      }
      return { out: out.join(''), err: err.join('') };
    }

    it('inventory-sync explain SHOP SKU LOCATION prints a readable explanation', async () => {
      const { out } = await run('explain', rig.shopId, SKU, 'WH1');
      expect(out).toContain(`${SKU} @ WH1`);
      expect(out).toContain('ATS 18 = max(0, erpOnHand - wmsAllocated - posPending - openClaims - safetyBuffer - shopifyUnclaimed)');
      expect(out).toContain('= max(0, 20 - 0 - 0 - 2 - 0 - 0)');
      expect(out).toMatch(new RegExp(`order ${orderId}\\s+2 unit\\(s\\)\\s+claimed`));
      expect(out).toContain('Shopify now: available 18, committed 2');
      expect(out).toMatch(/last \d+ write\(s\), newest first/);
      expect(out).not.toContain(person.email);
    });

    it('--json prints every location of the SKU as JSON', async () => {
      const { out } = await run('explain', rig.shopId, SKU, '--json', '--writes', '3');
      const parsed = JSON.parse(out) as { locations: KeyExplanation[] };
      expect(parsed.locations.map((l) => [l.locationId, l.ats])).toEqual([['WH1', 18], ['WH2', 20]]);
      expect(parsed.locations[0]!.writes.length).toBeLessThanOrEqual(3);
    });

    it('names an unknown location', async () => {
      await expect(run('explain', rig.shopId, SKU, 'WH9')).rejects.toThrow(/ISYNC_LOCATION_NOT_FOUND|location "WH9"/);
    });
  });
});
