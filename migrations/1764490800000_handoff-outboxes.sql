-- Up Migration

-- Transactional outboxes of the ingest routes (issue 17). A route commits what it received and the hand-off in
-- one statement and answers; a sweeper in the server process claims rows for a while (claimed_until: a lease, so
-- no transaction stays open across Temporal calls and holds back the change feed's pg_snapshot_xmin), hands them
-- to Temporal (one signal per shop for many keys) and deletes them; a sweeper that dies leaves its claim to expire.
-- Temporal being slow or down no longer fails the request, and nothing is lost.

-- Keys to hand to a shop's refresh workflow (POST /sources/:source/events). One row per key and event, never
-- merged: a sweeper deletes exactly the rows it handed off, so a key marked again meanwhile stays marked.
CREATE TABLE refresh_handoffs (
  id           bigserial PRIMARY KEY,
  shop_id      text NOT NULL,
  sku          text NOT NULL,
  location_id  text NOT NULL,
  trigger      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  claimed_until timestamptz
);
CREATE INDEX refresh_handoffs_shop ON refresh_handoffs (shop_id, id);

-- Signals to an order's reservation workflow (POST /wms/allocations, POST /orders), with the payload as the
-- signal takes it; handed off in id order per order by signal-with-start (idempotent by workflow id and the
-- event's own id).
CREATE TABLE reservation_handoffs (
  id           bigserial PRIMARY KEY,
  shop_id      text NOT NULL,
  order_id     text NOT NULL,
  signal       text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  claimed_until timestamptz
);
CREATE INDEX reservation_handoffs_shop ON reservation_handoffs (shop_id, id);

-- Down Migration

DROP TABLE reservation_handoffs;
DROP TABLE refresh_handoffs;
