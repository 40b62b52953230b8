import { Context } from '@temporalio/activity';
import type { InventorySyncError } from '../domain/errors.js';
import { Errors } from '../domain/errors.js';

/**
 * The life of one activity attempt, as a write needs it: which attempt this is (the fencing token), one abort
 * signal that fires when Temporal cancels the attempt (a timed-out attempt learns it through its heartbeat),
 * when the attempt's own time is nearly up, or when the attempt itself gives up its right to write (a lost
 * lease); and a heartbeat. Outside an activity (tests, the CLI) it is attempt 1 with no deadline.
 */
export interface AttemptScope {
  readonly attempt: number;
  readonly signal: AbortSignal;
  /** Epoch ms after which nothing may wait or send (the attempt's StartToClose, less a margin). */
  readonly deadlineMs: number | undefined;
  heartbeat(): void;
  /** Aborts everything in flight with ISYNC_WRITE_ABANDONED naming why. */
  abandon(reason: string, details?: Record<string, unknown>): void;
  close(): void;
}

/** Stop this long before Temporal's StartToClose, so an attempt ends itself before its retry can start. */
const DEADLINE_MARGIN_MS = 2_000;
const HEARTBEAT_EVERY_MS = 2_000;

export function openAttemptScope(): AttemptScope {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined;
  }
  const controller = new AbortController();
  const abandon = (reason: string, details?: Record<string, unknown>) => {
    if (!controller.signal.aborted) controller.abort(Errors.WriteAbandoned(reason, details));
  };
  const onCancel = () => abandon(`Temporal cancelled the attempt (${String(ctx?.cancellationSignal.reason ?? 'cancelled')})`);
  ctx?.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  if (ctx?.cancellationSignal.aborted) onCancel();

  const budget = ctx?.info.startToCloseTimeoutMs;
  const deadlineMs = budget ? Date.now() + Math.max(budget - DEADLINE_MARGIN_MS, budget / 2) : undefined;
  const timer = deadlineMs === undefined ? undefined : setTimeout(() => abandon("the attempt's time ran out"), deadlineMs - Date.now());
  // Heartbeats carry the cancellation of a timed-out attempt back to it; the SDK throttles what reaches the server.
  const beat = ctx === undefined ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  return {
    attempt: ctx?.info.attempt ?? 1,
    signal: controller.signal,
    deadlineMs,
    heartbeat: () => ctx?.heartbeat(),
    abandon,
    close: () => {
      clearTimeout(timer);
      clearInterval(beat);
      ctx?.cancellationSignal.removeEventListener('abort', onCancel);
    },
  };
}

export function isAbandoned(err: unknown): err is InventorySyncError {
  return Errors.WriteAbandoned.is(err);
}
