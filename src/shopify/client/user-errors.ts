import { Errors, type InventorySyncError } from '../../domain/errors.js';

export interface ShopifyUserError {
  code: string | null;
  field: string[] | null;
  message: string;
}

/**
 * A compare-and-swap that found another quantity. Shopify 2026-10's InventorySetQuantitiesUserErrorCode lists both
 * codes (COMPARE_QUANTITY_STALE: "The compareQuantity value does not match persisted value"); a server may send either.
 */
export const STALE_COMPARE_CODES: ReadonlySet<string> = new Set(['CHANGE_FROM_QUANTITY_STALE', 'COMPARE_QUANTITY_STALE']);
export const IN_FLIGHT = 'IDEMPOTENCY_CONCURRENT_REQUEST';
export const KEY_MISMATCH = 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH';
export const PREVIOUS_ATTEMPT_FAILED = 'IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED';

/** The entry a userError points at, from a field path such as ["input", "quantities", "3", "quantity"]. */
export function entryIndexOf(error: ShopifyUserError): number | undefined {
  const field = error.field ?? [];
  for (let i = 0; i < field.length - 1; i += 1) {
    if (field[i] === 'quantities' || field[i] === 'changes') {
      const n = Number(field[i + 1]);
      if (Number.isInteger(n) && n >= 0) return n;
    }
  }
  return undefined;
}

/** The typed error for a userError the caller cannot work around by itself. */
export function userErrorToError(operation: string, error: ShopifyUserError): InventorySyncError {
  const details = { operation, code: error.code, field: error.field };
  if (isStaleCompare(error)) return Errors.ShopifyStaleCompare(`${operation}: ${error.message}`, details);
  switch (error.code) {
    case KEY_MISMATCH:
      return Errors.ShopifyIdempotencyMismatch(`${operation}: the idempotency key was used with other variables`, details);
    case IN_FLIGHT:
      return Errors.ShopifyIdempotencyInFlight(`${operation}: ${error.message}`, details);
    default:
      return Errors.ShopifyUserError(`${operation}: ${error.code ?? 'USER_ERROR'}: ${error.message}`, details);
  }
}

export function hasCode(errors: ShopifyUserError[], code: string): boolean {
  return errors.some((e) => e.code === code);
}

export function isStaleCompare(error: ShopifyUserError): boolean {
  return error.code !== null && STALE_COMPARE_CODES.has(error.code);
}

export function hasStaleCompare(errors: ShopifyUserError[]): boolean {
  return errors.some(isStaleCompare);
}
