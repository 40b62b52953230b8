import { withFailureTypes } from './failures.js';
import { createRefreshActivities, type RefreshDeps } from './refresh.js';

export type ActivityDeps = RefreshDeps;

/** Every activity the worker registers, built from injected dependencies (no globals): tests pass real clients. */
export function createActivities(deps: ActivityDeps) {
  return withFailureTypes({
    ...createRefreshActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
