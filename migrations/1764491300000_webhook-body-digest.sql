-- Up Migration

-- A signed body delivered again under another X-Shopify-Webhook-Id (the header is not signed) was recorded and
-- signalled as new each time: one captured delivery replayed at will cost a row and a workflow signal per request
-- (state was safe: an older or equal order version changes nothing). Deliveries are now also unique per shop,
-- topic and SHA-256 of the body; two true deliveries with the same topic and body say the same thing.
ALTER TABLE webhook_deliveries ADD COLUMN body_digest bytea;
CREATE UNIQUE INDEX webhook_deliveries_body ON webhook_deliveries (shop_domain, topic, body_digest) WHERE body_digest IS NOT NULL;

-- Down Migration

DROP INDEX webhook_deliveries_body;
ALTER TABLE webhook_deliveries DROP COLUMN body_digest;
