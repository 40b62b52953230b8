import { ApplicationFailure } from '@temporalio/common';
import { InventorySyncError } from '../domain/errors.js';

/**
 * Turns our catalogue errors into Temporal failures whose `type` is the stable code, so retry policies, the
 * Web UI and logs all show the same string.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof InventorySyncError) {
    return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: !err.retryable, details: err.details ? [err.details] : undefined, cause: err });
  }
  return err;
}

type AnyFn = (...args: never[]) => Promise<unknown>;

export function withFailureTypes<T extends Record<string, AnyFn>>(activities: T): T {
  const wrapped: Record<string, AnyFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toFailure(err);
      }
    };
  }
  return wrapped as T;
}
