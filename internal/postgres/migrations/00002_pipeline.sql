-- +goose Up
-- Checkout, payment and inventory-lock stages (issues 3 and 4). The same
-- tables and columns as SQLite's 00002; customer and address are jsonb
-- value objects, only ever read and written whole.

ALTER TABLE products ADD COLUMN out_of_stock_policy text NOT NULL DEFAULT '';

-- seq is the order's arrival number, which breaks ties between orders
-- confirmed at the same instant. id stays the public key.
CREATE TABLE orders (
    id                    text PRIMARY KEY,
    seq                   bigint GENERATED ALWAYS AS IDENTITY,
    status                text NOT NULL,
    customer              jsonb NOT NULL,
    shipping_address      jsonb NOT NULL,
    total_amount          bigint NOT NULL,
    total_currency        text NOT NULL,
    payment_provider      text NOT NULL DEFAULT '',
    payment_capture       text NOT NULL DEFAULT '',
    payment_intent_id     text NOT NULL DEFAULT '',
    payment_client_secret text NOT NULL DEFAULT '',
    payment_approval_url  text NOT NULL DEFAULT '',
    payment_confirmed_at  timestamptz,
    expires_at            timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

-- One order per gateway intent (only once the intent exists).
CREATE UNIQUE INDEX orders_payment_intent_key ON orders (payment_provider, payment_intent_id)
    WHERE payment_intent_id <> '';
-- ListOrders by status, newest first.
CREATE INDEX orders_status_id_idx ON orders (status, id);
-- Allocation (paid, backordered) in order of payment confirmation, then arrival.
CREATE INDEX orders_status_confirmed_idx ON orders (status, payment_confirmed_at, seq);
-- Expiry of unpaid orders.
CREATE INDEX orders_status_expires_idx ON orders (status, expires_at);

CREATE TABLE order_lines (
    order_id       text NOT NULL REFERENCES orders (id),
    n              integer NOT NULL,
    sku            text NOT NULL,
    name           text NOT NULL,
    quantity       bigint NOT NULL,
    unit_amount    bigint NOT NULL,
    unit_currency  text NOT NULL,
    total_amount   bigint NOT NULL,
    total_currency text NOT NULL,
    PRIMARY KEY (order_id, n)
);

CREATE TABLE order_timeline (
    order_id    text NOT NULL REFERENCES orders (id),
    n           integer NOT NULL,
    at          timestamptz NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    cause       text NOT NULL DEFAULT '',
    PRIMARY KEY (order_id, n)
);

CREATE TABLE order_allocations (
    order_id  text NOT NULL REFERENCES orders (id),
    n         integer NOT NULL,
    warehouse text NOT NULL,
    sku       text NOT NULL,
    quantity  bigint NOT NULL,
    PRIMARY KEY (order_id, n)
);

CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    request_hash text NOT NULL,
    state        text NOT NULL,
    status_code  integer NOT NULL DEFAULT 0,
    body         bytea,
    created_at   timestamptz NOT NULL,
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- seq is the arrival number, the tie-break after occurred_at.
CREATE TABLE webhook_events (
    id           text PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    provider     text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    raw_type     text NOT NULL DEFAULT '',
    order_id     text NOT NULL DEFAULT '',
    intent_id    text NOT NULL DEFAULT '',
    amount       bigint NOT NULL DEFAULT 0,
    currency     text NOT NULL DEFAULT '',
    occurred_at  timestamptz NOT NULL,
    payload      bytea,
    status       text NOT NULL,
    error        text NOT NULL DEFAULT '',
    attempts     integer NOT NULL DEFAULT 0,
    received_at  timestamptz NOT NULL,
    processed_at timestamptz,
    CONSTRAINT webhook_events_provider_event_key UNIQUE (provider, event_id)
);

-- The payment stage claims received events in this order.
CREATE INDEX webhook_events_status_idx ON webhook_events (status, occurred_at, seq);

CREATE TABLE reservations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   text NOT NULL REFERENCES orders (id),
    sku        text NOT NULL REFERENCES products (sku),
    warehouse  text NOT NULL,
    bin        text NOT NULL,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    kind       text NOT NULL CHECK (kind IN ('reservation', 'hold')),
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (warehouse, bin) REFERENCES bins (warehouse, code)
);

CREATE INDEX reservations_order_idx ON reservations (order_id, id);
CREATE INDEX reservations_kind_expires_idx ON reservations (kind, expires_at);

CREATE TABLE notifications (
    id         text PRIMARY KEY,
    seq        bigint GENERATED ALWAYS AS IDENTITY,
    order_id   text NOT NULL DEFAULT '',
    event      text NOT NULL,
    dedupe_key text NOT NULL,
    payload    bytea,
    status     text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT notifications_dedupe_key UNIQUE (dedupe_key)
);

CREATE INDEX notifications_order_idx ON notifications (order_id, seq);

CREATE TABLE stock_thresholds (
    sku       text NOT NULL REFERENCES products (sku),
    warehouse text NOT NULL REFERENCES warehouses (code),
    threshold bigint NOT NULL,
    low       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (sku, warehouse)
);

CREATE TABLE sandbox_intents (
    id         text PRIMARY KEY,
    order_id   text NOT NULL,
    amount     bigint NOT NULL,
    currency   text NOT NULL,
    capture    text NOT NULL,
    email      text NOT NULL DEFAULT '',
    status     text NOT NULL,
    refunded   bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

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
