import type { Redis, Result } from 'ioredis';
import type { ThrottleStatus } from './admin-client.js';
import type { BucketModel, BudgetStore, ReserveOutcome } from './budget.js';

/**
 * The shop budget in Redis, so every worker process of one shop paces against the one bucket Shopify keeps
 * for the app and shop. One hash per shop holds the last reported bucket; reservations live in a sorted set
 * scored by expiry, so a process that dies mid-call frees its points after `reservationTtlMs` instead of
 * starving the shop. Time comes from Redis (TIME) so hosts with skewed clocks agree.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local maxInFlight = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local token = ARGV[4]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local live = redis.call('ZRANGE', KEYS[2], 0, -1)
local reserved = 0
for _, member in ipairs(live) do
  reserved = reserved + tonumber(string.match(member, '^[^:]+:(.+)$'))
end
if #live >= maxInFlight then return {0, 5} end
local m = redis.call('HMGET', KEYS[1], 'max', 'cur', 'rate', 'at')
if not m[1] then
  if #live > 0 then return {0, 10} end
else
  local max, cur, rate, at = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
  local projected = math.min(max, cur + rate * math.max(0, now - at) / 1000)
  local need = math.min(cost, max)
  local free = projected - reserved
  if free < need then
    return {0, math.max(2, math.ceil((need - free) / math.max(rate, 1) * 1000))}
  end
end
redis.call('ZADD', KEYS[2], now + ttl, token .. ':' .. cost)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return {1, 0}
`;

const SETTLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, member in ipairs(members) do
  if string.sub(member, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then redis.call('ZREM', KEYS[2], member) end
end
if ARGV[2] ~= '' then
  -- A response settling out of order (another call or process heard a newer figure) never raises the bucket:
  -- keep the lower of the report and the stored model's projection (budget.ts, settledAvailable).
  local cur = tonumber(ARGV[3])
  local m = redis.call('HMGET', KEYS[1], 'max', 'cur', 'rate', 'at')
  if m[1] then
    local projected = math.min(tonumber(m[1]), tonumber(m[2]) + tonumber(m[3]) * math.max(0, now - tonumber(m[4])) / 1000)
    if projected < cur then cur = projected end
  end
  redis.call('HSET', KEYS[1], 'max', ARGV[2], 'cur', cur, 'rate', ARGV[4], 'at', now)
  redis.call('PEXPIRE', KEYS[1], 3600000)
end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    shopBudgetReserve(bucketKey: string, reservationsKey: string, cost: number, maxInFlight: number, ttlMs: number, token: string): Result<[number, number], Context>;
    shopBudgetSettle(bucketKey: string, reservationsKey: string, token: string, max: string, cur: string, rate: string): Result<number, Context>;
  }
}

export interface RedisBudgetStoreOptions {
  maxInFlight?: number;
  /** How long a reservation may stay unsettled before it is presumed dead; above the request timeout. */
  reservationTtlMs?: number;
  keyPrefix?: string;
}

export class RedisBudgetStore implements BudgetStore {
  private readonly maxInFlight: number;
  private readonly ttlMs: number;
  private readonly prefix: string;

  constructor(private readonly redis: Redis, opts: RedisBudgetStoreOptions = {}) {
    this.maxInFlight = opts.maxInFlight ?? 8;
    this.ttlMs = opts.reservationTtlMs ?? 60_000;
    this.prefix = opts.keyPrefix ?? 'shopify:budget:';
    if (typeof redis.shopBudgetReserve !== 'function') {
      redis.defineCommand('shopBudgetReserve', { numberOfKeys: 2, lua: RESERVE });
      redis.defineCommand('shopBudgetSettle', { numberOfKeys: 2, lua: SETTLE });
    }
  }

  private keys(shopKey: string): [string, string] {
    // One hash tag per shop keeps both keys on one cluster slot.
    return [`${this.prefix}{${shopKey}}:bucket`, `${this.prefix}{${shopKey}}:reservations`];
  }

  async tryReserve(shopKey: string, cost: number): Promise<ReserveOutcome> {
    const token = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}`;
    const [bucketKey, reservationsKey] = this.keys(shopKey);
    const [granted, waitMs] = await this.redis.shopBudgetReserve(bucketKey, reservationsKey, cost, this.maxInFlight, this.ttlMs, token);
    return granted === 1 ? { granted: true, token } : { granted: false, waitMs };
  }

  async settle(shopKey: string, token: string, status: ThrottleStatus | undefined): Promise<void> {
    const [bucketKey, reservationsKey] = this.keys(shopKey);
    await this.redis.shopBudgetSettle(
      bucketKey,
      reservationsKey,
      token,
      status === undefined ? '' : String(status.maximumAvailable),
      status === undefined ? '' : String(status.currentlyAvailable),
      status === undefined ? '' : String(status.restoreRate),
    );
  }

  async peek(shopKey: string): Promise<BucketModel | undefined> {
    const [bucketKey] = this.keys(shopKey);
    const m = await this.redis.hgetall(bucketKey);
    if (m.max === undefined) return undefined;
    return { maximumAvailable: Number(m.max), currentlyAvailable: Number(m.cur), restoreRate: Number(m.rate), observedAt: Number(m.at) };
  }
}
