import { Redis } from 'ioredis';
import { Errors } from '../domain/errors.js';
import { redactUrl, redactUrlsIn } from '../observability/redact.js';

export type RedisClient = Redis;

export function createRedis(url: string, keyPrefix: string): Redis {
  return new Redis(url, { keyPrefix, maxRetriesPerRequest: 3, lazyConnect: false, enableAutoPipelining: true });
}

export async function assertRedisAnswers(redis: Redis, url: string): Promise<void> {
  try {
    await redis.ping();
  } catch (err) {
    // The URL may carry the password (redis://:secret@host): never in an error.
    throw Errors.DependencyUnavailable(`Redis does not answer at ${redactUrl(url)}: ${redactUrlsIn((err as Error).message)}`);
  }
}
