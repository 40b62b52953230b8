import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { restoreRechecks, takeDueRechecks } from '../guard/unclaimed-recheck.js';
import type { MarkDirtyInput } from '../temporal/handoff.js';

export interface RecheckSweeperDeps {
  redis: Redis;
  shops: string[];
  markDirty(input: MarkDirtyInput): Promise<void>;
  logger?: Pick<Logger, 'warn'>;
  /** Between passes (default 5 s). */
  intervalMs?: number;
}

/**
 * Beside each worker: hands the keys whose committed reading has expired (src/guard/unclaimed-recheck.ts) to their
 * shop's refresh. Every worker runs one; a key is taken by one pass only, and put back if the hand-off fails.
 */
export function createRecheckSweeper(deps: RecheckSweeperDeps) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;

  /** One pass over every shop; returns how many keys it handed over. */
  async function runOnce(now = Date.now()): Promise<number> {
    let handed = 0;
    for (const shopId of deps.shops) {
      const keys = await takeDueRechecks(deps.redis, shopId, now);
      if (keys.length === 0) continue;
      try {
        await deps.markDirty({ shopId, keys, trigger: 'unclaimed_expired' });
        handed += keys.length;
      } catch (err) {
        await restoreRechecks(deps.redis, shopId, keys);
        deps.logger?.warn({ err, shopId, keys: keys.length }, 'keys to refresh after a committed reading expired could not be handed over; retrying');
      }
    }
    return handed;
  }

  return {
    runOnce,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = runOnce()
          .catch((err: unknown) => {
            deps.logger?.warn({ err }, 'recheck pass failed; the next one retries');
            return 0;
          })
          .finally(() => (running = null));
      }, deps.intervalMs ?? 5000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
