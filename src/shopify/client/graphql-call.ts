import { Errors, type InventorySyncError } from '../../domain/errors.js';
import type { GraphqlReply, GraphqlTransport, QueryCost } from './admin-client.js';
import { sleep, type ShopBudget } from './budget.js';
import { backoffDelay } from './retry.js';
import type { ClientLogger, RetryPolicy } from './types.js';

export interface CallOptions {
  /** Names the call in logs and errors; never the variables (they may hold customer data). */
  operation: string;
  /** Points reserved from the shop's budget before sending. */
  estimatedCost: number;
  /** A reply whose data says "same idempotency key still running" is retried later with the same key. */
  isInFlight?: (data: unknown) => boolean;
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
}

/**
 * Sends one GraphQL document with budget pacing and retries. Variables (and so the idempotency key) are
 * identical on every attempt: a retry after a lost response replays the original result instead of
 * applying twice.
 */
export function createGraphqlCaller(deps: CallerDeps): GraphqlCaller {
  const { shopDomain, transport, budget, retry, logger } = deps;
  return async <T>(query: string, variables: Record<string, unknown>, opts: CallOptions): Promise<CallResult<T>> => {
    let failures = 0;
    let throttles = 0;
    for (;;) {
      const reservation = await budget.acquire(opts.estimatedCost);
      let reply: GraphqlReply;
      try {
        reply = await transport(query, variables, AbortSignal.timeout(retry.requestTimeoutMs));
      } catch (err) {
        reply = { status: undefined, data: undefined, errors: [], cost: undefined, retryAfterMs: undefined, networkError: String(err) };
      }
      await budget.settle(reservation, reply.cost?.throttleStatus);

      const verdict = judge(reply, opts);
      if (verdict.kind === 'ok') return { data: reply.data as T, cost: reply.cost };
      if (verdict.kind === 'fatal') throw verdict.error;

      const log = { shopDomain, operation: opts.operation, status: reply.status };
      if (verdict.kind === 'throttled') {
        throttles += 1;
        if (throttles >= retry.maxThrottledAttempts) {
          throw Errors.ShopifyThrottled(`Shopify kept throttling ${opts.operation}`, { ...log, attempts: throttles });
        }
        logger?.debug({ ...log, throttles }, 'shopify throttled; waiting for budget');
        // With a throttleStatus the budget already knows how long to wait; without one, back off.
        const delay = verdict.delayMs ?? (reply.cost?.throttleStatus ? 0 : backoffDelay(throttles, retry));
        if (delay > 0) await sleep(delay);
        continue;
      }
      failures += 1;
      if (failures >= retry.maxAttempts) {
        const details = { ...log, attempts: failures };
        throw verdict.inFlight
          ? Errors.ShopifyIdempotencyInFlight(`Shopify still runs an earlier ${opts.operation} with this key`, details)
          : Errors.ShopifyUnavailable(`Shopify call ${opts.operation} failed: ${verdict.reason}`, details);
      }
      logger?.debug({ ...log, attempt: failures, reason: verdict.reason }, 'shopify call failed; retrying with the same variables');
      await sleep(verdict.delayMs ?? backoffDelay(failures, retry));
    }
  };
}

function judge(reply: GraphqlReply, opts: CallOptions): Verdict {
  const { status, errors } = reply;
  if (status === undefined) {
    return { kind: 'transient', delayMs: undefined, reason: reply.networkError ?? 'no response' };
  }
  if (status === 401 || status === 403 || errors.some((e) => e.extensions?.code === 'ACCESS_DENIED')) {
    return { kind: 'fatal', error: Errors.ShopifyAuth(`Shopify refused the access token (HTTP ${status})`, { status }) };
  }
  if (status === 429 || errors.some((e) => e.extensions?.code === 'THROTTLED')) {
    return { kind: 'throttled', delayMs: reply.retryAfterMs };
  }
  if (status >= 500) return { kind: 'transient', delayMs: reply.retryAfterMs, reason: `HTTP ${status}` };
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
