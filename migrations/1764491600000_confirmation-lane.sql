-- Up Migration

-- A WMS confirmation of an order we know is converted by the hand-off sweeper in PostgreSQL, before its signal
-- goes to the order's workflow (src/starters/http/confirmations.ts): the units stop being counted twice at the
-- rate PostgreSQL converts, not at the rate Temporal takes signals. `converted_at` marks a confirmation's row
-- as past that step; the order lane signals only rows past it (the workflow's own conversion then finds nothing
-- left to do, and brings its view up to date).
ALTER TABLE reservation_handoffs ADD COLUMN converted_at timestamptz;
CREATE INDEX reservation_handoffs_unconverted ON reservation_handoffs (shop_id, id) WHERE signal = 'wmsAllocation' AND converted_at IS NULL;

-- Down Migration

DROP INDEX reservation_handoffs_unconverted;
ALTER TABLE reservation_handoffs DROP COLUMN converted_at;
