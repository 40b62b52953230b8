import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_CODES } from '../domain/errors.js';

/** Catalogue codes that retrying cannot fix; activities raise them as ApplicationFailures of that type. */
export const NON_RETRYABLE_ERROR_TYPES = NON_RETRYABLE_CODES;

export const defaultActivityOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
};

/**
 * refreshKeys heartbeats while it runs: a timed-out attempt learns through its heartbeat that Temporal gave up on
 * it (its abort signal fires and it drops its write), and a crashed worker's attempt is retried after 30 s
 * instead of the whole StartToClose.
 */
export const refreshActivityOptions: ActivityOptions = {
  ...defaultActivityOptions,
  heartbeatTimeout: '30 seconds',
};
