import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/redis/client.js';
import { freePort } from '../../src/temporal/dev-server.js';

// A redis-server of the test's own, on a free port: killed and restarted here, never the machine's Redis.
function startRedis(port: number, dir: string): ChildProcess {
  return spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
}

describe('a Redis restart under a client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isync-redis-'));
  const servers: ChildProcess[] = [];
  afterAll(() => {
    for (const s of servers) s.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reported once through the error listener, the process lives on, and the client works again once Redis is back', async () => {
    const port = await freePort();
    servers.push(startRedis(port, dir));
    const errors: Error[] = [];
    const logged: string[] = [];
    const log = { warn: (_o: object, msg: string) => void logged.push(`warn: ${msg}`), info: (_o: object, msg: string) => void logged.push(`info: ${msg}`) };
    const redis = createRedis(`redis://127.0.0.1:${port}`, 'restart-test:', { log: log as never, onError: (e) => errors.push(e) });
    try {
      await expect.poll(() => redis.set('k', '1').catch(() => null), { timeout: 10_000 }).toBe('OK');
      // The server may have come up after the client's first attempt (one outage already): count from here.
      logged.length = 0;
      errors.length = 0;

      servers[0]!.kill('SIGKILL');
      await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
      // A command while Redis is down fails (after maxRetriesPerRequest) rather than killing the process.
      await expect(redis.get('k')).rejects.toThrow();
      expect(logged.filter((l) => l.startsWith('warn')).length).toBe(1);

      servers.push(startRedis(port, dir));
      // Started empty (nothing persisted): the client reconnected by itself and serves commands again.
      await expect.poll(() => redis.get('k').catch((e: Error) => `error: ${e.message}`), { timeout: 20_000 }).toBeNull();
      expect(logged).toEqual(['warn: Redis connection lost; reconnecting (commands wait or fail until it is back)', 'info: Redis connection back']);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
