-- Up Migration

-- Alerts raised once per (kind, shop, subject) get a key of their own with a unique index behind it, so two
-- activities raising the same alert at the same moment store one row (NOT EXISTS alone let both in).
-- Drift alerts (one per reconciliation run) leave it null and stay one row per run.
ALTER TABLE alerts ADD COLUMN dedupe_key text;
CREATE UNIQUE INDEX alerts_dedupe_key ON alerts (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- Down Migration

DROP INDEX alerts_dedupe_key;
ALTER TABLE alerts DROP COLUMN dedupe_key;
