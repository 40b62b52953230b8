import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { checkVersion, guardKey } from '../../src/guard/version-guard.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../../src/workflows/retry-policy.js';
import { connectTestServices, type TestServices } from '../support/services.js';

describe('infrastructure against the real services', () => {
  let svc: TestServices;
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => svc?.close());

  it('migrate a second time applies nothing and changes no table', async () => {
    const tables = async () =>
      (await svc.db.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).rows.map((r) => r.t);
    const before = await tables();
    const { applied } = await migrate(inject('databaseUrl'));
    expect(applied).toEqual([]);
    expect(await tables()).toEqual(before);
    expect(before).toEqual(
      expect.arrayContaining(['shops', 'mappings', 'source_snapshots', 'source_changes', 'watermarks', 'reservations', 'claim_lines', 'audit_log', 'webhook_deliveries', 'reconciliation_runs', 'reconciliation_rows']),
    );
  });

  it('the Temporal server has our search attributes registered', async () => {
    const res = await svc.temporal.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(res.customAttributes).toMatchObject({ ShopId: expect.anything(), OrderId: expect.anything(), Sku: expect.anything(), ReservationState: expect.anything(), Source: expect.anything() });
  });

  it('the version guard rejects an older version but lets the same version retry (the seed lost that update)', async () => {
    const key = { shopId: svc.uid('shop'), sku: 'SKU-1', locationId: 'WH1' };
    expect(await checkVersion(svc.redis, key, 5n, 10)).toEqual({ allowed: true });
    expect(await checkVersion(svc.redis, key, 4n, 99)).toEqual({ allowed: false, newerVersion: 5 });
    // the Shopify call for version 5 failed after the guard stored it; its retry must pass
    expect(await checkVersion(svc.redis, key, 5n, 10)).toEqual({ allowed: true });
    expect(await checkVersion(svc.redis, key, 6n, 12)).toEqual({ allowed: true });
    expect(await svc.redis.hgetall(guardKey(key))).toMatchObject({ v: '6', q: '12' });
    expect(await svc.redis.ttl(guardKey(key))).toBeGreaterThan(0);
  });

  it('an activity failing with a catalogue error reaches the workflow typed by its stable code', async () => {
    const { toFailure } = await import('../../src/activities/failures.js');
    const { Errors } = await import('../../src/domain/errors.js');
    const failure = toFailure(Errors.SourceTimeout('erp did not answer')) as { type: string; nonRetryable: boolean };
    expect(failure).toMatchObject({ type: 'ISYNC_SOURCE_TIMEOUT', nonRetryable: false });
    expect(toFailure(Errors.ShopifyAuth('bad token'))).toMatchObject({ type: 'ISYNC_SHOPIFY_AUTH', nonRetryable: true });
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('ISYNC_SHOPIFY_AUTH');
    expect(NON_RETRYABLE_ERROR_TYPES).not.toContain('ISYNC_SOURCE_TIMEOUT');
  });
});
