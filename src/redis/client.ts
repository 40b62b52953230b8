import { Redis } from 'ioredis';
import { Errors } from '../domain/errors.js';

export type RedisClient = Redis;

export function createRedis(url: string, keyPrefix: string): Redis {
  return new Redis(url, { keyPrefix, maxRetriesPerRequest: 3, lazyConnect: false, enableAutoPipelining: true });
}

export async function assertRedisAnswers(redis: Redis, url: string): Promise<void> {
  try {
    await redis.ping();
  } catch (err) {
    throw Errors.DependencyUnavailable(`Redis does not answer at ${url}: ${(err as Error).message}`, undefined, { cause: err });
  }
}
