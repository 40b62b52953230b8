-- Up Migration

-- A confirmation is the WMS source's own: two WMS sources (two warehouses' systems) may number their allocations
-- alike. The key left the source out, so the second source's confirmation of the same order line under the same
-- allocation id was dropped as a repeat (answered 202), and a conversion marked the other source's row applied.
ALTER TABLE wms_allocations DROP CONSTRAINT wms_allocations_pkey;
ALTER TABLE wms_allocations ADD PRIMARY KEY (shop_id, order_id, source, allocation_id, line_id);

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
     WHERE shop_id = p_shop AND order_id = r.order_id AND source = p_source AND allocation_id = r.allocation_id AND line_id = r.line_id;
    total := total + took;
  END LOOP;
  RETURN total;
END $$;

-- Down Migration

ALTER TABLE wms_allocations DROP CONSTRAINT wms_allocations_pkey;
ALTER TABLE wms_allocations ADD PRIMARY KEY (shop_id, order_id, allocation_id, line_id);

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
