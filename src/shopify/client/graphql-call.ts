import { Errors, type InventorySyncError } from '../../domain/errors.js';
import type { GraphqlReply, GraphqlTransport, QueryCost } from './admin-client.js';
import { sleep, type ShopBudget } from './budget.js';
import { backoffDelay } from './retry.js';
import type { CallBounds, ClientFault, ClientLogger, RetryPolicy } from './types.js';

export interface CallOptions extends CallBounds {
  /** Names the call in logs and errors; never the variables (they may hold customer data). */
  operation: string;
  /** Points reserved from the shop's budget before sending. */
  estimatedCost: number;
  /** A reply whose data says "same idempotency key still running" is retried later with the same key. */
  isInFlight?: (data: unknown) => boolean;
  /**
   * Runs immediately before every send, after any wait: a write's fence (is this attempt still the one allowed
   * to write?). Throwing drops the send; the error reaches the caller unchanged.
   */
  beforeSend?: () => Promise<void>;
  /** Overrides the policy's attempts for 5xx/network failures (1 = no retry here; the caller decides). */
  maxAttempts?: number;
}

export interface CallResult<T> {
  data: T;
  cost: QueryCost | undefined;
}

export type GraphqlCaller = <T>(query: string, variables: Record<string, unknown>, opts: CallOptions) => Promise<CallResult<T>>;

type Verdict =
  | { kind: 'ok' }
  | { kind: 'throttled'; delayMs: number | undefined }
  | { kind: 'transient'; delayMs: number | undefined; reason: string; inFlight?: boolean }
  | { kind: 'fatal'; error: InventorySyncError };

export interface CallerDeps {
  shopDomain: string;
  transport: GraphqlTransport;
  budget: ShopBudget;
  retry: RetryPolicy;
  logger: ClientLogger | undefined;
  /** Told of every retry and throttle (metrics); the logger gets the same as a warn line. */
  onFault?: ((fault: ClientFault) => void) | undefined;
  /** Where the access token came from (an environment variable's name), named when Shopify refuses it. */
  tokenSource?: string | undefined;
}

/**
 * Sends one GraphQL document with budget pacing and retries. Variables (and so the idempotency key) are
 * identical on every attempt: a retry after a lost response replays the original result instead of
 * applying twice.
 */
export function createGraphqlCaller(deps: CallerDeps): GraphqlCaller {
  const { shopDomain, transport, budget, retry, logger } = deps;
  const report = (fault: ClientFault, message: string) => {
    deps.onFault?.(fault);
    logger?.warn({ ...fault }, message);
  };
  return async <T>(query: string, variables: Record<string, unknown>, opts: CallOptions): Promise<CallResult<T>> => {
    const { signal } = opts;
    const maxAttempts = opts.maxAttempts ?? retry.maxAttempts;
    let failures = 0;
    let throttles = 0;
    let cost = opts.estimatedCost;
    /** Waits `ms` unless the wait would outlast the caller's deadline: then the call fails now, with `error`. */
    const wait = async (ms: number, error: () => Error) => {
      if (opts.deadlineMs !== undefined && Date.now() + ms > opts.deadlineMs) throw error();
      await sleep(ms, signal);
    };
    for (;;) {
      signal?.throwIfAborted();
      const reservation = await budget.acquire(cost, signal);
      try {
        await opts.beforeSend?.();
      } catch (err) {
        // The fence said no: nothing is sent, and the points go back to the bucket.
        await budget.settle(reservation, undefined);
        throw err;
      }
      let reply: GraphqlReply;
      try {
        const timeout = AbortSignal.timeout(retry.requestTimeoutMs);
        reply = await transport(query, variables, signal === undefined ? timeout : AbortSignal.any([signal, timeout]));
      } catch (err) {
        if (signal?.aborted) {
          await budget.settle(reservation, undefined);
          throw signal.reason as Error;
        }
        reply = { status: undefined, data: undefined, errors: [], cost: undefined, retryAfterMs: undefined, networkError: String(err) };
      }
      await budget.settle(reservation, reply.cost?.throttleStatus);
      signal?.throwIfAborted();

      const verdict = judge(reply, opts, deps);
      if (verdict.kind === 'ok') return { data: reply.data as T, cost: reply.cost };
      if (verdict.kind === 'fatal') throw verdict.error;

      const base = { shopDomain, operation: opts.operation, status: reply.status, ...(opts.context ?? {}) };
      if (verdict.kind === 'throttled') {
        throttles += 1;
        const details = { ...base, attempts: throttles };
        if (throttles >= retry.maxThrottledAttempts) throw Errors.ShopifyThrottled(`Shopify kept throttling ${opts.operation}`, details);
        // Wait for what the answer says this query needs, not for our estimate: the bucket must hold
        // requestedQueryCost, and it refills at restoreRate. Retry-After, when sent, is a floor.
        const requested = reply.cost?.requestedQueryCost ?? undefined;
        const status = reply.cost?.throttleStatus;
        if (requested !== undefined && requested !== null) cost = Math.max(cost, requested);
        const refill = status === undefined ? undefined : refillDelay(Math.min(cost, status.maximumAvailable), status);
        // A bucket that already holds the cost says nothing about when to retry (Shopify throttled for another
        // reason): back off. Waiting 0 ms spent all 40 attempts in a few milliseconds of a 1-4 s THROTTLED burst
        // and failed the activity (found by bench/chaos: reconciliation's order listing failed for minutes).
        const fromBucket = refill !== undefined && refill > 0 ? refill : undefined;
        // Retry-After is a floor, never the whole wait: `Retry-After: 0` (or a date already past) with no bucket to
        // go by sent every attempt at once, as the case above did.
        const delay = Math.max(verdict.delayMs ?? 0, fromBucket ?? backoffDelay(throttles, retry));
        report(
          { kind: 'throttled', ...base, attempt: throttles, delayMs: delay, requestedCost: requested ?? null, currentlyAvailable: status?.currentlyAvailable ?? null },
          'shopify throttled; waiting for the bucket to hold the requested cost',
        );
        await wait(delay, () => Errors.ShopifyThrottled(`Shopify throttled ${opts.operation}; waiting ${delay} ms would outlast the attempt`, { ...details, delayMs: delay }));
        continue;
      }
      failures += 1;
      const details = { ...base, attempts: failures };
      const giveUp = () =>
        verdict.inFlight
          ? Errors.ShopifyIdempotencyInFlight(`Shopify still runs an earlier ${opts.operation} with this key`, details)
          : Errors.ShopifyUnavailable(`Shopify call ${opts.operation} failed: ${verdict.reason}`, details);
      if (failures >= maxAttempts) throw giveUp();
      const delay = Math.max(verdict.delayMs ?? 0, backoffDelay(failures, retry));
      report({ kind: 'retry', ...base, attempt: failures, delayMs: delay, reason: verdict.reason }, 'shopify call failed; retrying with the same variables');
      await wait(delay, giveUp);
    }
  };
}

/** The same caller with `bounds` applied to every call (for reads made on behalf of one bounded operation). */
export function withBounds(call: GraphqlCaller, bounds: CallBounds | undefined): GraphqlCaller {
  if (bounds === undefined) return call;
  return (query, variables, opts) => call(query, variables, { ...bounds, ...opts, context: { ...bounds.context, ...opts.context } });
}

/** How long until a bucket in `status` holds `need` points. */
export function refillDelay(need: number, status: { currentlyAvailable: number; restoreRate: number }): number {
  const missing = need - status.currentlyAvailable;
  return missing <= 0 ? 0 : Math.ceil((missing / Math.max(status.restoreRate, 1)) * 1000);
}

function judge(reply: GraphqlReply, opts: CallOptions, shop: Pick<CallerDeps, 'shopDomain' | 'tokenSource'>): Verdict {
  const { status, errors } = reply;
  if (status === undefined) {
    return { kind: 'transient', delayMs: undefined, reason: reply.networkError ?? 'no response' };
  }
  if (status === 401 || status === 403 || errors.some((e) => e.extensions?.code === 'ACCESS_DENIED')) {
    const source = shop.tokenSource ? ` (from ${shop.tokenSource})` : '';
    const why = status === 401 ? 'is not valid for this shop' : 'lacks an access scope this call needs';
    return { kind: 'fatal', error: Errors.ShopifyAuth(`Shopify refused the access token of ${shop.shopDomain}${source}: it ${why} (HTTP ${status})`, { status, shopDomain: shop.shopDomain }) };
  }
  if (status === 429 || errors.some((e) => e.extensions?.code === 'THROTTLED')) {
    return { kind: 'throttled', delayMs: reply.retryAfterMs };
  }
  if (status >= 500) return { kind: 'transient', delayMs: reply.retryAfterMs, reason: `HTTP ${status}` };
  // Shopify's own failure, sent with HTTP 200: nothing says the request was wrong, so it goes again (same key).
  if (errors.some((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR')) {
    return { kind: 'transient', delayMs: reply.retryAfterMs, reason: 'Shopify answered INTERNAL_SERVER_ERROR' };
  }
  if (errors.length > 0) {
    const codes = errors.map((e) => e.extensions?.code).filter((c): c is string => typeof c === 'string');
    const message = errors.map((e) => e.message).join('; ');
    return {
      kind: 'fatal',
      error: Errors.ShopifyGraphqlError(`Shopify rejected ${opts.operation}: ${message}`, { status, codes, operation: opts.operation }),
    };
  }
  if (status !== 200) {
    return { kind: 'fatal', error: Errors.ShopifyGraphqlError(`Shopify answered ${opts.operation} with HTTP ${status}`, { status }) };
  }
  if (reply.data === undefined || reply.data === null) return { kind: 'transient', delayMs: undefined, reason: 'empty response' };
  if (opts.isInFlight?.(reply.data) === true) return { kind: 'transient', delayMs: undefined, reason: 'idempotency key in flight', inFlight: true };
  return { kind: 'ok' };
}
