import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../onboarding/cli.js';

/**
 * `inventory-sync temporal start --persistence postgres` refuses to start, naming what to fix, when PostgreSQL
 * does not answer or when the server is not built and Go is not there to build it. No Temporal binary is needed:
 * these run in `npm test`. The schema that cannot be applied is in test/topology (it needs the schema tool).
 */
describe('temporal start --persistence postgres: start-up errors', () => {
  let cli: Awaited<ReturnType<typeof buildCli>>;
  let dir: string;
  beforeAll(async () => {
    cli = await buildCli();
    dir = mkdtempSync(join(tmpdir(), 'isync-pg-server-'));
  });
  afterAll(() => {
    cli?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function closedPort(): Promise<number> {
    return new Promise((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
  }

  it('PostgreSQL not reachable: ISYNC_DEPENDENCY_UNAVAILABLE naming the address and the option to fix it', async () => {
    const port = await closedPort();
    const res = await cli.run(['temporal', 'start', '--persistence', 'postgres', '--postgres-url', `postgres://temporal:s3cret@127.0.0.1:${port}`, '--port', '0', '--headless'], {});
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`ISYNC_DEPENDENCY_UNAVAILABLE: PostgreSQL is not reachable at 127.0.0.1:${port} as user "temporal"`);
    expect(res.stderr).toContain('--postgres-url');
    expect(res.stderr).not.toContain('s3cret');
  });

  it('no server built and no Go toolchain: ISYNC_TEMPORAL_SERVER_MISSING naming what to install', async () => {
    // A PATH with node and nothing else, and an empty cache.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const res = await cli.run(['temporal', 'start', '--persistence', 'postgres', '--port', '0', '--headless'], {
      PATH: bin,
      INVENTORY_SYNC_CACHE_DIR: join(dir, 'cache'),
      TEMPORAL_POSTGRES_URL: process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432',
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`ISYNC_TEMPORAL_SERVER_MISSING: the Temporal server is not in ${join(dir, 'cache', 'bin')} and Go is not installed`);
    expect(res.stderr).toContain('go install go.temporal.io/server/cmd/server@v1.29.1');
  });

  it('an unknown --persistence is ISYNC_ARGUMENT_INVALID naming the choices', async () => {
    const res = await cli.run(['temporal', 'start', '--persistence', 'mysql', '--port', '0'], {});
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('ISYNC_ARGUMENT_INVALID: --persistence "mysql": use sqlite or postgres');
  });
});
