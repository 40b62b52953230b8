-- Up Migration

-- What our Shopify-order claims hold at a key (src/db/claims.ts, heldForShopifyOrders): the units claimed plus those
-- allocated and not yet shipped. Every refresh flush asks it for all its keys (a committed reading is judged against
-- it, src/activities/shopify-unclaimed.ts), so it must be one index probe per key, not a scan of the shop's lines.
-- Lines holding nothing are left out of the index, as claim_lines_key leaves out lines with nothing claimed.
CREATE INDEX claim_lines_held ON claim_lines (shop_id, sku, location_id) WHERE claimed > 0 OR allocated > fulfilled;

-- Down Migration

DROP INDEX claim_lines_held;
