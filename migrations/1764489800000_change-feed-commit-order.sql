-- Up Migration

-- A bigserial cursor is handed out at INSERT, not at COMMIT: a change that commits late can carry a smaller
-- cursor than one already read, and a reader that advanced past it would skip it forever. Each change records
-- the id of the transaction that wrote it; readers only take changes from transactions older than every
-- transaction still running (pg_snapshot_xmin), in (xid, cursor) order, so the feed they see only ever grows
-- at its end.
ALTER TABLE source_changes ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX source_changes_commit_order ON source_changes (source, xid, cursor);

-- Down Migration

DROP INDEX source_changes_commit_order;
ALTER TABLE source_changes DROP COLUMN xid;
