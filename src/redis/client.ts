import { Redis } from 'ioredis';
import { Errors } from '../domain/errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { redactUrl, redactUrlsIn } from '../observability/redact.js';

export type RedisClient = Redis;

export interface RedisClientOptions {
  /** Where a lost connection is reported: once per outage, and once when it is back. Default: a pino logger. */
  log?: Pick<Logger, 'warn' | 'info'>;
  /** Called with every connection error (tests count them). */
  onError?: (err: Error) => void;
}

/**
 * A Redis client that rides out a Redis restart: ioredis reconnects by itself, and its connection errors are
 * handled here. Without an 'error' listener ioredis prints a stack trace to stderr at every reconnect attempt
 * (and an EventEmitter without one would throw): one warning per outage instead, the URL redacted.
 */
export function createRedis(url: string, keyPrefix: string, opts: RedisClientOptions = {}): Redis {
  // No auto-pipelining: our Lua scripts are defined on first use (defineCommand), and an auto-pipeline opened in
  // the same tick before the definition throws outside any promise and kills the process (ioredis #1931;
  // test/redis/lazy-scripts.test.ts). Concurrent commands still share the connection without waiting on each other.
  const redis = new Redis(url, { keyPrefix, maxRetriesPerRequest: 3, lazyConnect: false });
  let log = opts.log;
  const logger = () => (log ??= createLogger(undefined, 'inventory-sync:redis'));
  let down = false;
  redis.on('error', (err: Error) => {
    opts.onError?.(err);
    if (down) return;
    down = true;
    logger().warn({ redis: redactUrl(url), err: redactUrlsIn(err.message) }, 'Redis connection lost; reconnecting (commands wait or fail until it is back)');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger().info({ redis: redactUrl(url) }, 'Redis connection back');
  });
  return redis;
}

export async function assertRedisAnswers(redis: Redis, url: string): Promise<void> {
  try {
    await redis.ping();
  } catch (err) {
    // The URL may carry the password (redis://:secret@host): never in an error.
    throw Errors.DependencyUnavailable(`Redis does not answer at ${redactUrl(url)}: ${redactUrlsIn((err as Error).message)}`);
  }
}
