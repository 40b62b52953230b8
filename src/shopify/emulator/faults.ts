import { seededRandom, type Random } from '../../domain/prng.js';

export interface FaultConfig {
  /** Seed for the PRNG behind every rate below; same seed, same outcomes. */
  seed?: number;
  /** Share of GraphQL requests answered 503 before anything runs. */
  errorRate5xx?: number;
  /** Share of GraphQL requests that time out (nothing runs). */
  timeoutRate?: number;
  /** 'hang' waits timeoutMs then answers 504; 'close' destroys the socket after timeoutMs. */
  timeoutMode?: 'hang' | 'close';
  timeoutMs?: number;
  /** Every GraphQL request answers THROTTLED. */
  forceThrottle?: boolean;
  /** HTTP status of THROTTLED answers: Shopify has been seen sending both. */
  throttleHttpStatus?: 200 | 429;
  /** Retry-After (seconds) on 429 THROTTLED answers; by default what the bucket needs to refill. */
  throttleRetryAfterSeconds?: number;
  /** Added to every GraphQL request (after idempotency keys are taken, so concurrent retries can collide). */
  latencyMs?: number;
  /** Share of requests that run (mutations applied) and then answer 500: the lost-response case. */
  failAfterApply5xxRate?: number;
  webhookDrop?: number;
  webhookDuplicate?: number;
  webhookReorder?: number;
}

export interface OneShotFault {
  afterApply?: boolean;
  status?: number;
  timeout?: boolean;
  /** Only a request whose root fields include this one (e.g. 'bulkOperationRunQuery'); `afterApply` faults only. */
  field?: string;
  /** Answer 429 THROTTLED with `Retry-After: retryAfterSeconds` (default 1); nothing runs. */
  throttle?: boolean;
  retryAfterSeconds?: number;
  /**
   * Answer exactly this HTTP status and JSON body; nothing runs and nothing is charged. For response shapes
   * another Shopify-compatible server may send and this emulator never does (a code it does not produce, a
   * string `errors`, a partial `throttleStatus`).
   */
  reply?: { status: number; body: unknown; headers?: Record<string, string> };
}

export type ResolvedFaults = Required<Omit<FaultConfig, 'seed' | 'throttleRetryAfterSeconds'>> & { throttleRetryAfterSeconds: number | undefined };

const DEFAULTS: ResolvedFaults = {
  errorRate5xx: 0,
  timeoutRate: 0,
  timeoutMode: 'hang',
  timeoutMs: 1000,
  forceThrottle: false,
  throttleHttpStatus: 200,
  latencyMs: 0,
  throttleRetryAfterSeconds: undefined,
  failAfterApply5xxRate: 0,
  webhookDrop: 0,
  webhookDuplicate: 0,
  webhookReorder: 0,
};

/** Fault settings per shop ('*' applies to every shop; a shop's own settings override it). */
export class Faults {
  private readonly configs = new Map<string, FaultConfig>();
  private readonly rngs = new Map<string, Random>();
  private readonly oneShots = new Map<string, OneShotFault[]>();

  set(target: string, config: FaultConfig): void {
    const merged = { ...(this.configs.get(target) ?? {}), ...config };
    this.configs.set(target, merged);
    if (config.seed !== undefined || !this.rngs.has(target)) {
      this.rngs.set(target, config.seed !== undefined ? seededRandom(config.seed) : Math.random);
    }
  }

  clear(target?: string): void {
    if (target === undefined) {
      this.configs.clear();
      this.rngs.clear();
      this.oneShots.clear();
    } else {
      this.configs.delete(target);
      this.rngs.delete(target);
      this.oneShots.delete(target);
    }
  }

  resolved(shop: string): ResolvedFaults {
    return { ...DEFAULTS, ...stripSeed(this.configs.get('*')), ...stripSeed(this.configs.get(shop)) };
  }

  /** True with probability `rate`, drawn from the shop's PRNG (or the global one). */
  roll(shop: string, rate: number): boolean {
    if (rate <= 0) return false;
    if (rate >= 1) return true;
    const rng = this.rngs.get(shop) ?? this.rngs.get('*') ?? Math.random;
    return rng() < rate;
  }

  failNext(shop: string, n: number, fault: OneShotFault = {}): void {
    const q = this.oneShots.get(shop) ?? [];
    for (let i = 0; i < n; i++) q.push({ ...fault });
    this.oneShots.set(shop, q);
  }

  /** Takes the next one-shot fault if it belongs to this phase of a request. */
  takeOneShot(shop: string, phase: 'before' | 'after', rootFields?: string[]): OneShotFault | undefined {
    const q = this.oneShots.get(shop);
    const head = q?.[0];
    if (!head) return undefined;
    if ((phase === 'after') !== !!head.afterApply) return undefined;
    if (head.field !== undefined && !(rootFields ?? []).includes(head.field)) return undefined;
    q.shift();
    return head;
  }

  snapshot(): Record<string, FaultConfig> {
    return Object.fromEntries(this.configs);
  }
}

function stripSeed(c: FaultConfig | undefined): Partial<ResolvedFaults> {
  if (!c) return {};
  const { seed: _seed, ...rest } = c;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<ResolvedFaults>;
}
