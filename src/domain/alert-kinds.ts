/**
 * Every kind of alert the service raises (docs/operations.md, "Alerts"). An alert endpoint's `kinds` filter names
 * kinds from this list: a misspelt kind would otherwise silently stop that endpoint's delivery.
 */
export const ALERT_KINDS = [
  'drift',
  'missed_webhooks',
  'reservation_expired',
  'unmapped_order_line',
  'order_adjust_refused',
  'shopify_user_error',
] as const;

export type AlertKind = (typeof ALERT_KINDS)[number];
