-- Up Migration

-- Retention (src/db/retention.ts, the `housekeeping` Schedule): rows past their retention are deleted in batches
-- by their time column, so each table needs that column indexed. audit_log (at) and alerts are indexed already.
CREATE INDEX source_changes_received ON source_changes (received_at);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
CREATE INDEX source_snapshots_updated ON source_snapshots (updated_at);

-- Down Migration

DROP INDEX source_snapshots_updated;
DROP INDEX webhook_deliveries_received;
DROP INDEX source_changes_received;
