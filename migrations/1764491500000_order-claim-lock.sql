-- Up Migration

-- A WMS confirmation of an order we have not seen starts no workflow any more: the route records it, the hand-off
-- sweeper finds no reservation and leaves it in wms_allocations, and the order's first claim takes it over. The
-- two must not miss each other: the claim takes this lock before it reads the confirmations, the sweeper takes it
-- (shared) before it looks for the reservation, so either the sweeper sees the claim's reservation or the claim
-- sees every confirmation the sweeper passed over (src/db/early-confirmations.ts).
CREATE FUNCTION order_claim_key(p_shop text, p_order text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT hashtextextended('order-claim|' || p_shop || '|' || p_order, 0) $$;

-- Housekeeping's look for confirmations whose order never came: unapplied rows by age.
CREATE INDEX wms_allocations_unapplied_age ON wms_allocations (received_at) WHERE applied_at IS NULL;

-- Down Migration

DROP INDEX wms_allocations_unapplied_age;
DROP FUNCTION order_claim_key(text, text);
