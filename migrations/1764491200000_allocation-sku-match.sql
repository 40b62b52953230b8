-- Up Migration

-- A WMS confirmation converts a claim line only when it names the line's own SKU (the location is part of the line
-- id). Before, the line id alone decided: a confirmation of line 111 naming SKU DECOY, followed by a DECOY total,
-- took units off the claim of the line's real SKU (A) although A's total never held them: ATS(A) rose by them,
-- and they were sold twice. Found by a review of what one valid token can do; the same follows from a WMS that
-- sends a wrong SKU by mistake.
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
       -- recorded by the route but not yet seen by the order's workflow: it converts when it applies it; a line of
       -- another SKU is not this confirmation's to convert
       AND EXISTS (SELECT 1 FROM claim_lines c WHERE c.shop_id = a.shop_id AND c.order_id = a.order_id AND c.line_id = a.line_id
                     AND c.sku = a.sku AND c.location_id = a.location_id)
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
  line record;
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
    SELECT claimed, allocated, fulfilled INTO line FROM claim_lines
     WHERE shop_id = p_shop AND order_id = r.order_id AND line_id = r.line_id FOR UPDATE;
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
