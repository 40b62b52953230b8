import { Context } from '@temporalio/activity';
import type { Redis } from 'ioredis';

/** Identifies one activity execution across its Temporal retries; undefined outside an activity. */
export function activityExecutionId(): string | undefined {
  try {
    const { workflowExecution, activityId } = Context.current().info;
    return workflowExecution ? `${workflowExecution.workflowId}:${workflowExecution.runId}:${activityId}` : undefined;
  } catch {
    return undefined;
  }
}

/** Long enough to cover every retry of an activity (its retries back off to one minute). */
const MEMO_TTL_SECONDS = 24 * 3600;

const memoKey = (executionId: string) => `refresh-version:${executionId}`;

/**
 * The last version an activity execution took. A Temporal retry reuses it, so the retry of a write whose Shopify
 * call failed after the guard stored that version is the *same* version (let through by the guard, same
 * idempotency key when nothing else changed). Losing the memo (Redis restart) only means the retry takes a
 * newer version, which the guard also lets through: correctness never depends on it.
 */
export async function recallVersion(redis: Redis, executionId: string): Promise<bigint | undefined> {
  const v = await redis.get(memoKey(executionId));
  return v === null ? undefined : BigInt(v);
}

export async function rememberVersion(redis: Redis, executionId: string, version: bigint): Promise<void> {
  await redis.set(memoKey(executionId), version.toString(), 'EX', MEMO_TTL_SECONDS);
}
