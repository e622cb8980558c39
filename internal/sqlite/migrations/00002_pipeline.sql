-- +goose Up
-- Checkout, payment and inventory-lock stages (issues 3 and 4). Times are
-- fixed-width UTC text as in 00001; JSON columns hold small value objects
-- that are only ever read and written whole.

ALTER TABLE products ADD COLUMN out_of_stock_policy TEXT NOT NULL DEFAULT '';

-- seq is the order's arrival number: the rowid (AUTOINCREMENT, so never
-- reused), which breaks ties between orders confirmed at the same instant.
-- id stays the public key; every other table refers to it.
CREATE TABLE orders (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL UNIQUE,
    status                TEXT NOT NULL,
    customer              TEXT NOT NULL,
    shipping_address      TEXT NOT NULL,
    total_amount          INTEGER NOT NULL,
    total_currency        TEXT NOT NULL,
    payment_provider      TEXT NOT NULL DEFAULT '',
    payment_capture       TEXT NOT NULL DEFAULT '',
    payment_intent_id     TEXT NOT NULL DEFAULT '',
    payment_client_secret TEXT NOT NULL DEFAULT '',
    payment_approval_url  TEXT NOT NULL DEFAULT '',
    payment_confirmed_at  TEXT,
    expires_at            TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;

-- One order per gateway intent (only once the intent exists).
CREATE UNIQUE INDEX orders_payment_intent ON orders (payment_provider, payment_intent_id)
    WHERE payment_intent_id <> '';
-- ListOrders by status, newest first.
CREATE INDEX orders_status_id ON orders (status, id);
-- Allocation (paid, backordered) in order of payment confirmation, then arrival.
CREATE INDEX orders_status_confirmed ON orders (status, payment_confirmed_at, seq);
-- Expiry of unpaid orders.
CREATE INDEX orders_status_expires ON orders (status, expires_at);

CREATE TABLE order_lines (
    order_id       TEXT NOT NULL REFERENCES orders (id),
    n              INTEGER NOT NULL,
    sku            TEXT NOT NULL,
    name           TEXT NOT NULL,
    quantity       INTEGER NOT NULL,
    unit_amount    INTEGER NOT NULL,
    unit_currency  TEXT NOT NULL,
    total_amount   INTEGER NOT NULL,
    total_currency TEXT NOT NULL,
    PRIMARY KEY (order_id, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE order_timeline (
    order_id    TEXT NOT NULL REFERENCES orders (id),
    n           INTEGER NOT NULL,
    at          TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    cause       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (order_id, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE order_allocations (
    order_id  TEXT NOT NULL REFERENCES orders (id),
    n         INTEGER NOT NULL,
    warehouse TEXT NOT NULL,
    sku       TEXT NOT NULL,
    quantity  INTEGER NOT NULL,
    PRIMARY KEY (order_id, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    body         BLOB,
    created_at   TEXT NOT NULL,
    locked_until TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- seq is the arrival number (rowid), the tie-break after occurred_at.
CREATE TABLE webhook_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    type         TEXT NOT NULL,
    raw_type     TEXT NOT NULL DEFAULT '',
    order_id     TEXT NOT NULL DEFAULT '',
    intent_id    TEXT NOT NULL DEFAULT '',
    amount       INTEGER NOT NULL DEFAULT 0,
    currency     TEXT NOT NULL DEFAULT '',
    occurred_at  TEXT NOT NULL,
    payload      BLOB,
    status       TEXT NOT NULL,
    error        TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    UNIQUE (provider, event_id)
) STRICT;

-- The payment stage claims received events in this order.
CREATE INDEX webhook_events_status ON webhook_events (status, occurred_at, seq);

CREATE TABLE reservations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id   TEXT NOT NULL REFERENCES orders (id),
    sku        TEXT NOT NULL REFERENCES products (sku),
    warehouse  TEXT NOT NULL,
    bin        TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    kind       TEXT NOT NULL,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (warehouse, bin) REFERENCES bins (warehouse, code)
) STRICT;

CREATE INDEX reservations_order ON reservations (order_id);
CREATE INDEX reservations_kind_expires ON reservations (kind, expires_at);

CREATE TABLE notifications (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    order_id   TEXT NOT NULL DEFAULT '',
    event      TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    payload    BLOB,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX notifications_order ON notifications (order_id, seq);

CREATE TABLE stock_thresholds (
    sku       TEXT NOT NULL REFERENCES products (sku),
    warehouse TEXT NOT NULL REFERENCES warehouses (code),
    threshold INTEGER NOT NULL,
    low       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, warehouse)
) STRICT, WITHOUT ROWID;

CREATE TABLE sandbox_intents (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    capture    TEXT NOT NULL,
    email      TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    refunded   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE sandbox_intents;
DROP TABLE stock_thresholds;
DROP TABLE notifications;
DROP TABLE reservations;
DROP TABLE webhook_events;
DROP TABLE idempotency_keys;
DROP TABLE order_allocations;
DROP TABLE order_timeline;
DROP TABLE order_lines;
DROP TABLE orders;
ALTER TABLE products DROP COLUMN out_of_stock_policy;
