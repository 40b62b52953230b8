-- Up Migration

-- The alert outbox: one row per (alert, configured endpoint). 'sending' is claimed before the request goes out,
-- so no alert is sent twice: a definite failure goes back to 'pending' with a later next_attempt_at, an answer
-- that never came (timeout, crash while sending) ends as 'unknown' and is not sent again.
CREATE TABLE alert_deliveries (
  alert_id         bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
  endpoint         text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'unknown')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  sending_since    timestamptz,
  delivered_at     timestamptz,
  last_error       text,
  PRIMARY KEY (alert_id, endpoint)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_deliveries_sending ON alert_deliveries (sending_since) WHERE status = 'sending';
CREATE INDEX alerts_at ON alerts (at);

-- What the worker's /metrics reads at each scrape, kept cheap as the tables grow.
CREATE INDEX reservations_live ON reservations (shop_id, state) WHERE state NOT IN ('cancelled', 'fulfilled', 'expired');
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (received_at) WHERE outcome = 'pending';
-- An applied write whose key an earlier, failed attempt sent was replayed by Shopify (isync_writes_total).
CREATE INDEX audit_log_failed_sends ON audit_log (idempotency_key) WHERE outcome IN ('error', 'abandoned');

-- Down Migration

DROP INDEX audit_log_failed_sends;
DROP INDEX webhook_deliveries_pending;
DROP INDEX reservations_live;
DROP INDEX alerts_at;
DROP TABLE alert_deliveries;
