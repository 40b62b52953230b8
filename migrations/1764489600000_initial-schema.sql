-- Up Migration

-- Versions of ATS computations, taken before sources are read; durable, so a Redis restart cannot reuse one.
CREATE SEQUENCE ats_version;

CREATE TABLE shops (
  id          text PRIMARY KEY,
  domain      text NOT NULL UNIQUE,
  plan        text NOT NULL DEFAULT 'standard',
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Our (shop, sku, location) -> Shopify's inventory item and location.
CREATE TABLE mappings (
  shop_id               text NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
  sku                   text NOT NULL,
  location_id           text NOT NULL,
  inventory_item_id     text NOT NULL,
  shopify_location_id   text NOT NULL,
  variant_id            text,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, sku, location_id),
  UNIQUE (shop_id, inventory_item_id, shopify_location_id)
);
CREATE INDEX mappings_variant ON mappings (shop_id, variant_id);
CREATE INDEX mappings_shopify_location ON mappings (shop_id, shopify_location_id);

-- Every change a source reported, in arrival order; `cursor` is the change feed of PostgreSQL-backed sources.
CREATE TABLE source_changes (
  cursor        bigserial PRIMARY KEY,
  source        text NOT NULL,
  shop_id       text NOT NULL,
  sku           text NOT NULL,
  location_id   text NOT NULL,
  quantity      integer NOT NULL,
  occurred_at   timestamptz NOT NULL,
  external_id   text,
  received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX source_changes_external ON source_changes (source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX source_changes_feed ON source_changes (source, cursor);

-- The latest quantity per source and key; a change older than the stored one never replaces it.
CREATE TABLE source_snapshots (
  source        text NOT NULL,
  shop_id       text NOT NULL,
  sku           text NOT NULL,
  location_id   text NOT NULL,
  quantity      integer NOT NULL,
  occurred_at   timestamptz NOT NULL,
  cursor        bigint,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, shop_id, sku, location_id)
);
CREATE INDEX source_snapshots_key ON source_snapshots (shop_id, sku, location_id);

-- Delta-sync watermarks: the cursor of the last change actually processed.
CREATE TABLE watermarks (
  source          text PRIMARY KEY,
  cursor          text NOT NULL,
  items_processed bigint NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per order whose units we hold a claim on (the reservation workflow owns it).
CREATE TABLE reservations (
  shop_id      text NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
  order_id     text NOT NULL,
  origin       text NOT NULL CHECK (origin IN ('shopify', 'external')),
  state        text NOT NULL,
  workflow_id  text NOT NULL,
  expires_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, order_id)
);

-- Claim lines: `claimed` units are subtracted as openClaims until the WMS allocates them.
CREATE TABLE claim_lines (
  shop_id              text NOT NULL,
  order_id             text NOT NULL,
  line_id              text NOT NULL,
  sku                  text NOT NULL,
  location_id          text NOT NULL,
  claimed              integer NOT NULL CHECK (claimed >= 0),
  allocated            integer NOT NULL DEFAULT 0 CHECK (allocated >= 0),
  shopify_adjusted     integer NOT NULL DEFAULT 0,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, order_id, line_id),
  FOREIGN KEY (shop_id, order_id) REFERENCES reservations(shop_id, order_id) ON DELETE CASCADE
);
CREATE INDEX claim_lines_key ON claim_lines (shop_id, sku, location_id) WHERE claimed > 0;

-- Daily units sold per SKU, for velocity-based safety buffers.
CREATE TABLE sales_daily (
  shop_id  text NOT NULL,
  sku      text NOT NULL,
  day      date NOT NULL,
  units    integer NOT NULL,
  PRIMARY KEY (shop_id, sku, day)
);

-- Every write we attempted (or skipped) for a key, with everything needed to explain it later.
CREATE TABLE audit_log (
  id                bigserial PRIMARY KEY,
  at                timestamptz NOT NULL DEFAULT now(),
  shop_id           text NOT NULL,
  sku               text NOT NULL,
  location_id       text NOT NULL,
  trigger           text NOT NULL,
  components        jsonb,
  ats               integer,
  previous_shopify  integer,
  delta             integer,
  version           bigint,
  idempotency_key   text,
  outcome           text NOT NULL,
  error_code        text,
  detail            text
);
CREATE INDEX audit_log_key ON audit_log (shop_id, sku, location_id, id DESC);
CREATE INDEX audit_log_at ON audit_log (at);

-- Shopify webhook deliveries, deduplicated on X-Shopify-Webhook-Id.
CREATE TABLE webhook_deliveries (
  webhook_id    text PRIMARY KEY,
  shop_domain   text NOT NULL,
  topic         text NOT NULL,
  event_id      text,
  triggered_at  timestamptz,
  subject_id    text,
  received_at   timestamptz NOT NULL DEFAULT now(),
  outcome       text NOT NULL DEFAULT 'accepted'
);
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (shop_domain, subject_id);

CREATE TABLE reconciliation_runs (
  id             bigserial PRIMARY KEY,
  shop_id        text NOT NULL,
  workflow_id    text,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  status         text NOT NULL DEFAULT 'running',
  keys_checked   integer NOT NULL DEFAULT 0,
  drifted        integer NOT NULL DEFAULT 0,
  corrected      integer NOT NULL DEFAULT 0,
  orders_started integer NOT NULL DEFAULT 0
);

CREATE TABLE reconciliation_rows (
  run_id        bigint NOT NULL REFERENCES reconciliation_runs(id) ON DELETE CASCADE,
  sku           text NOT NULL,
  location_id   text NOT NULL,
  shopify_qty   integer,
  ats           integer,
  drift         integer NOT NULL,
  corrected     boolean NOT NULL DEFAULT false,
  PRIMARY KEY (run_id, sku, location_id)
);

-- Operator-facing alerts (expired reservations, drift over threshold, unmapped SKUs).
CREATE TABLE alerts (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  kind      text NOT NULL,
  shop_id   text,
  subject   text NOT NULL,
  details   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alerts_kind ON alerts (kind, at DESC);

-- Down Migration

DROP TABLE alerts;
DROP TABLE reconciliation_rows;
DROP TABLE reconciliation_runs;
DROP TABLE webhook_deliveries;
DROP TABLE audit_log;
DROP TABLE sales_daily;
DROP TABLE claim_lines;
DROP TABLE reservations;
DROP TABLE watermarks;
DROP TABLE source_snapshots;
DROP TABLE source_changes;
DROP TABLE mappings;
DROP TABLE shops;
DROP SEQUENCE ats_version;
