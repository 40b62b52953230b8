import { describe, expect, inject, it } from 'vitest';
import { readLastSeen } from '../../src/guard/last-seen.js';
import { createRedis } from '../../src/redis/client.js';

// Our Lua scripts are registered on a client the first time they are used (defineCommand), on a client other
// code is already using. With ioredis's auto-pipelining on, a command issued in the same tick as the first use
// opened a pipeline that was built before the script existed: the script call threw "pipeline[functionName] is
// not a function" and the pipeline's reply handler then threw "results[i] is not iterable" outside any promise,
// which killed the worker process (CI, two-of-each topology test, 2026-12-01; ioredis issue #1931).
describe('a Lua script registered while the client is busy', () => {
  it('answers, and the command issued in the same tick answers too', async () => {
    const redis = createRedis(inject('redisUrl'), `lazy-scripts-${process.pid}-${Date.now()}:`);
    try {
      await redis.ping();
      const busy = redis.set('other', '1'); // same tick as the script's first use
      const seen = readLastSeen(redis, 'shop-lazy', [{ sku: 'SKU-1', locationId: 'L1' }]);
      await expect(busy).resolves.toBe('OK');
      const { unknown } = await seen;
      expect(unknown).toEqual([{ sku: 'SKU-1', locationId: 'L1' }]);
    } finally {
      redis.disconnect();
    }
  });
});
