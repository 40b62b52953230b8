-- Up Migration

-- Units of the line already shipped from this location (Shopify's fulfillment orders: total - remaining). A WMS
-- ships what it allocated, so shipped units leave its allocated total first: of `allocated`, only
-- max(0, allocated - fulfilled) is still in that total, and `claimed` covers the rest of what the order holds.
ALTER TABLE claim_lines ADD COLUMN fulfilled integer NOT NULL DEFAULT 0 CHECK (fulfilled >= 0);

-- As before, but a conversion takes from the claim only what the WMS total now holds for the line: allocated units
-- already shipped are in neither (the order no longer holds them, and the total dropped them).
CREATE OR REPLACE FUNCTION convert_due_wms_allocations(p_source text, p_shop text, p_sku text, p_location text, p_upto timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  took integer;
  line record;
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
    SELECT claimed, allocated, fulfilled INTO line FROM claim_lines
     WHERE shop_id = p_shop AND order_id = r.order_id AND line_id = r.line_id FOR UPDATE;
    -- held in the WMS total before and after this allocation; the claim gives up the difference
    took := LEAST(COALESCE(line.claimed, 0),
                  GREATEST(0, COALESCE(line.allocated, 0) + r.quantity - COALESCE(line.fulfilled, 0))
                  - GREATEST(0, COALESCE(line.allocated, 0) - COALESCE(line.fulfilled, 0)));
    UPDATE claim_lines SET claimed = claimed - took, allocated = allocated + r.quantity, updated_at = now()
     WHERE shop_id = p_shop AND order_id = r.order_id AND line_id = r.line_id;
    UPDATE wms_allocations SET applied_at = now(), converted = took
     WHERE shop_id = p_shop AND order_id = r.order_id AND allocation_id = r.allocation_id AND line_id = r.line_id;
    total := total + took;
  END LOOP;
  RETURN total;
END $$;

-- Down Migration

CREATE OR REPLACE FUNCTION convert_due_wms_allocations(p_source text, p_shop text, p_sku text, p_location text, p_upto timestamptz) RETURNS integer
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

ALTER TABLE claim_lines DROP COLUMN fulfilled;
