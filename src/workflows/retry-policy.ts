import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Codes from src/domain/errors.ts that retrying cannot fix. Kept as literals: workflow code may not import the
 * catalogue's Node-side helpers, and a test checks this list against the catalogue.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'ISYNC_CONFIG_INVALID',
  'ISYNC_PAYLOAD_INVALID',
  'ISYNC_UNKNOWN_SHOP',
  'ISYNC_UNKNOWN_SOURCE',
  'ISYNC_UNKNOWN_SKU',
  'ISYNC_MAPPING_INVALID',
  'ISYNC_SHOPIFY_IDEMPOTENCY_MISMATCH',
  'ISYNC_SHOPIFY_USER_ERROR',
  'ISYNC_SHOPIFY_GRAPHQL_ERROR',
  'ISYNC_SHOPIFY_AUTH',
];

export const defaultActivityOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
};
