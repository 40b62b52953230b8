-- Up Migration

-- The newest order event (Shopify's updated_at) the reservation applied: an older delivery never rolls it back.
ALTER TABLE reservations ADD COLUMN last_event_at timestamptz;

-- Shopify adjustments of a line (external orders only) are numbered, so each gets an idempotency key of its own
-- that a retried activity derives again.
ALTER TABLE claim_lines ADD COLUMN shopify_adjust_seq integer NOT NULL DEFAULT 0;

-- Webhook hand-off: the stripped signal is kept with the delivery until Temporal has it ('pending' -> 'signalled').
ALTER TABLE webhook_deliveries ADD COLUMN handoff jsonb;

-- WMS allocation confirmations, recorded on arrival. A confirmed unit keeps counting as a claim until the WMS's
-- allocated total for the key is at least as new as the allocation; the conversion (claimed -> allocated) then
-- happens once, in the transaction that makes the total that new (see docs/reservations.md).
CREATE TABLE wms_allocations (
  shop_id        text NOT NULL,
  order_id       text NOT NULL,
  allocation_id  text NOT NULL,
  line_id        text NOT NULL,
  source         text NOT NULL,
  sku            text NOT NULL,
  location_id    text NOT NULL,
  quantity       integer NOT NULL CHECK (quantity > 0),
  occurred_at    timestamptz NOT NULL,
  received_at    timestamptz NOT NULL DEFAULT now(),
  applied_at     timestamptz,
  converted      integer,
  PRIMARY KEY (shop_id, order_id, allocation_id, line_id)
);
CREATE INDEX wms_allocations_due ON wms_allocations (source, shop_id, sku, location_id, occurred_at) WHERE applied_at IS NULL;

-- Serialises conversions of one WMS key (taken after the key's snapshot row lock, by both writers).
CREATE FUNCTION wms_key_lock(p_source text, p_shop text, p_sku text, p_location text) RETURNS void
LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(hashtextextended(p_source || '|' || p_shop || '|' || p_sku || '|' || p_location, 0)) $$;

-- Converts every confirmed allocation of the key that the WMS total (as of p_upto) already includes; idempotent.
CREATE FUNCTION convert_due_wms_allocations(p_source text, p_shop text, p_sku text, p_location text, p_upto timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  took integer;
  current_claimed integer;
  total integer := 0;
BEGIN
  PERFORM wms_key_lock(p_source, p_shop, p_sku, p_location);
  FOR r IN
    SELECT a.order_id, a.allocation_id, a.line_id, a.quantity FROM wms_allocations a
     WHERE a.applied_at IS NULL AND a.source = p_source AND a.shop_id = p_shop AND a.sku = p_sku
       AND a.location_id = p_location AND a.occurred_at <= p_upto
       -- recorded by the route but not yet seen by the order's workflow: it converts when it applies it
       AND EXISTS (SELECT 1 FROM claim_lines c WHERE c.shop_id = a.shop_id AND c.order_id = a.order_id AND c.line_id = a.line_id)
     ORDER BY a.order_id, a.line_id, a.allocation_id
     FOR UPDATE
  LOOP
    SELECT claimed INTO current_claimed FROM claim_lines
     WHERE shop_id = p_shop AND order_id = r.order_id AND line_id = r.line_id FOR UPDATE;
    took := LEAST(r.quantity, COALESCE(current_claimed, 0));
    UPDATE claim_lines SET claimed = claimed - took, allocated = allocated + r.quantity, updated_at = now()
     WHERE shop_id = p_shop AND order_id = r.order_id AND line_id = r.line_id;
    UPDATE wms_allocations SET applied_at = now(), converted = took
     WHERE shop_id = p_shop AND order_id = r.order_id AND allocation_id = r.allocation_id AND line_id = r.line_id;
    total := total + took;
  END LOOP;
  RETURN total;
END $$;

-- Cheap for the common case (no confirmation waiting on this key): an index probe, no lock taken, so a batch of
-- thousands of snapshot rows does not fill the lock table.
CREATE FUNCTION wms_snapshot_converts_allocations() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM wms_allocations a
              WHERE a.applied_at IS NULL AND a.source = NEW.source AND a.shop_id = NEW.shop_id AND a.sku = NEW.sku
                AND a.location_id = NEW.location_id AND a.occurred_at <= NEW.occurred_at) THEN
    PERFORM convert_due_wms_allocations(NEW.source, NEW.shop_id, NEW.sku, NEW.location_id, NEW.occurred_at);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER source_snapshots_convert_allocations AFTER INSERT OR UPDATE ON source_snapshots
  FOR EACH ROW EXECUTE FUNCTION wms_snapshot_converts_allocations();

-- fulfillment_orders/moved names fulfillment orders, not the order: this finds the order's workflow.
CREATE TABLE order_fulfillment_orders (
  shop_id                 text NOT NULL,
  fulfillment_order_id    text NOT NULL,
  order_id                text NOT NULL,
  PRIMARY KEY (shop_id, fulfillment_order_id)
);

-- Down Migration

DROP TABLE order_fulfillment_orders;
DROP TRIGGER source_snapshots_convert_allocations ON source_snapshots;
DROP FUNCTION wms_snapshot_converts_allocations();
DROP FUNCTION convert_due_wms_allocations(text, text, text, text, timestamptz);
DROP FUNCTION wms_key_lock(text, text, text, text);
DROP TABLE wms_allocations;
ALTER TABLE webhook_deliveries DROP COLUMN handoff;
ALTER TABLE claim_lines DROP COLUMN shopify_adjust_seq;
ALTER TABLE reservations DROP COLUMN last_event_at;
