import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectTestServices, type TestServices } from '../support/services.js';
import { numericOrderId, reservationStatus } from '../../src/starters/reservation-status.js';
import { buildCli } from './cli.js';

const STACK = /\n\s+at /;

/**
 * Issue 11: processes that cannot reach a dependency exit non-zero naming its address (the worker used to hang
 * with a stack trace), and every CLI error is the catalogue code and a message, the stack only with LOG_LEVEL=debug.
 */
describe('the CLI as an operator meets it', () => {
  let cli: Awaited<ReturnType<typeof buildCli>>;
  let svc: TestServices;
  const dir = mkdtempSync(join(tmpdir(), 'isync-cli-'));
  let env: Record<string, string>;

  beforeAll(async () => {
    svc = await connectTestServices();
    cli = await buildCli();
    env = { DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), TEMPORAL_ADDRESS: inject('temporalAddress'), REDIS_KEY_PREFIX: `${svc.redisPrefix}cli:` };
  });
  afterAll(async () => {
    cli?.dispose();
    await svc?.close();
  });

  it('a worker that cannot reach Temporal exits 1 naming the address, without a stack trace', async () => {
    const started = Date.now();
    const res = await cli.run(['worker'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('ISYNC_DEPENDENCY_UNAVAILABLE: Temporal does not answer at 127.0.0.1:1');
    expect(res.stderr).not.toMatch(STACK);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a server that cannot reach PostgreSQL or Redis exits 1 naming the address (never the password)', async () => {
    const pg = await cli.run(['server'], { ...env, DATABASE_URL: 'postgres://app:s3cret@127.0.0.1:1/inventory' });
    expect(pg.code).toBe(1);
    expect(pg.stderr).toContain('ISYNC_DEPENDENCY_UNAVAILABLE: PostgreSQL does not answer at 127.0.0.1:1/inventory');
    expect(pg.stderr).not.toContain('s3cret');
    const redis = await cli.run(['server'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(redis.code).toBe(1);
    expect(redis.stderr).toContain('ISYNC_DEPENDENCY_UNAVAILABLE: Redis does not answer at redis://127.0.0.1:1');
  });

  it('history export of an unknown id, replay of a missing, empty or absent file, and a missing configuration file are named errors', async () => {
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '{"events": []}');
    const cases: [string[], Record<string, string>, string][] = [
      [['history', 'export', '--workflow-id', 'no-such-workflow'], {}, 'ISYNC_NOT_FOUND: no workflow with id "no-such-workflow"'],
      [['replay', '--file', join(dir, 'missing.json')], {}, 'ISYNC_PAYLOAD_INVALID: cannot read'],
      [['replay', '--file', empty], {}, 'holds no history events'],
      [['replay'], {}, 'ISYNC_PAYLOAD_INVALID: replay needs --workflow-id ID or --file F'],
      [['worker'], { INVENTORY_SYNC_CONFIG: join(dir, 'nope.yaml') }, `ISYNC_CONFIG_INVALID: cannot read the configuration ${join(dir, 'nope.yaml')} (INVENTORY_SYNC_CONFIG): no such file`],
      [['sync', '--source', 'erp', '--force'], {}, 'ISYNC_PAYLOAD_INVALID: --force goes with --full'],
    ];
    for (const [args, extra, message] of cases) {
      const res = await cli.run(args, { ...env, ...extra });
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr, args.join(' ')).toContain(message);
      expect(res.stderr, args.join(' ')).not.toMatch(STACK);
    }
    const debug = await cli.run(['replay', '--file', join(dir, 'missing.json')], { ...env, LOG_LEVEL: 'debug' });
    expect(debug.stderr).toMatch(STACK);
  });

  it('reservation status takes the order number or its gid', async () => {
    expect(numericOrderId('gid://shopify/Order/4242')).toBe('4242');
    expect(numericOrderId('4242')).toBe('4242');
    const shop = svc.uid('rs');
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shop, `${shop}.myshopify.com`]);
    await svc.db.query(`INSERT INTO reservations (shop_id, order_id, origin, state, workflow_id) VALUES ($1, '4242', 'shopify', 'fulfilled', 'w')`, [shop]);
    expect(await reservationStatus({ temporal: svc.temporal, db: svc.db }, shop, 'gid://shopify/Order/4242')).toMatchObject({ orderId: '4242', state: 'fulfilled' });
    // An order with no reservation exits 4; a shop nobody registered is named as such, not as a missing order.
    const missing = await cli.run(['reservation', 'status', shop, '999'], env);
    expect(missing).toMatchObject({ code: 4, stderr: expect.stringContaining(`no reservation for order 999 of shop ${shop}`) });
    const unknown = await cli.run(['reservation', 'status', 'no-such-shop', '4242'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ISYNC_UNKNOWN_SHOP: shop "no-such-shop" is not registered');
  });

  it('without INVENTORY_SYNC_CONFIG a command warns that nothing is configured, and an unknown name says no configuration was loaded', async () => {
    // An empty data directory: no configuration a local `npm start` wrote is picked up instead.
    const res = await cli.run(['sync', '--source', 'acme-erp'], { ...env, INVENTORY_SYNC_DATA_DIR: mkdtempSync(join(tmpdir(), 'isync-data-')) });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('warning: INVENTORY_SYNC_CONFIG is not set: running with no shops and no sources configured');
    expect(res.stderr).toContain('ISYNC_UNKNOWN_SOURCE: source "acme-erp" is not in the configuration (known: none) (no configuration was loaded: INVENTORY_SYNC_CONFIG is not set)');
  });
});
