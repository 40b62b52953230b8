/**
 * The quantities Shopify accepts for `available` (inventorySetQuantities answers INVALID_QUANTITY_NEGATIVE below 0
 * and INVALID_QUANTITY_TOO_HIGH above 1e9). A source reading outside this range can only end in a refused write,
 * so it is refused where it enters, naming the field.
 */
export const MIN_QUANTITY = 0;
export const MAX_QUANTITY = 1_000_000_000;

/** Why a quantity cannot be used, or null when it can. */
export function quantityProblem(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'expected a number';
  if (!Number.isInteger(value)) return 'expected a whole number';
  if (value < MIN_QUANTITY) return `expected a quantity >= ${MIN_QUANTITY}`;
  if (value > MAX_QUANTITY) return `expected a quantity <= ${MAX_QUANTITY} (the most Shopify accepts)`;
  return null;
}
