-- Up Migration

-- The newest order event (Shopify's updated_at) the reservation applied: an older delivery never rolls it back.
ALTER TABLE reservations ADD COLUMN last_event_at timestamptz;

-- Shopify adjustments of a line (external orders only) are numbered, so each gets an idempotency key of its own
-- that a retried activity derives again.
ALTER TABLE claim_lines ADD COLUMN shopify_adjust_seq integer NOT NULL DEFAULT 0;

-- Webhook hand-off: the stripped signal is kept with the delivery until Temporal has it ('pending' -> 'signalled').
ALTER TABLE webhook_deliveries ADD COLUMN handoff jsonb;

-- WMS allocation confirmations. A row is recorded on arrival and applied once, in the same transaction that
-- converts the claim and advances the WMS snapshot (see docs/reservations.md).
CREATE TABLE wms_allocations (
  shop_id        text NOT NULL,
  order_id       text NOT NULL,
  allocation_id  text NOT NULL,
  line_id        text NOT NULL,
  source         text NOT NULL,
  quantity       integer NOT NULL CHECK (quantity > 0),
  occurred_at    timestamptz NOT NULL,
  received_at    timestamptz NOT NULL DEFAULT now(),
  applied_at     timestamptz,
  converted      integer,
  PRIMARY KEY (shop_id, order_id, allocation_id, line_id)
);

-- fulfillment_orders/moved names fulfillment orders, not the order: this finds the order's workflow.
CREATE TABLE order_fulfillment_orders (
  shop_id                 text NOT NULL,
  fulfillment_order_id    text NOT NULL,
  order_id                text NOT NULL,
  PRIMARY KEY (shop_id, fulfillment_order_id)
);

-- Down Migration

DROP TABLE order_fulfillment_orders;
DROP TABLE wms_allocations;
ALTER TABLE webhook_deliveries DROP COLUMN handoff;
ALTER TABLE claim_lines DROP COLUMN shopify_adjust_seq;
ALTER TABLE reservations DROP COLUMN last_event_at;
