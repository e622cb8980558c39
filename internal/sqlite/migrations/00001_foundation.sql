-- +goose Up
-- Timestamps are TEXT in UTC, fixed width (see timeFormat in sqlite.go), so
-- that text order is time order. Tables are STRICT: SQLite checks types.

CREATE TABLE products (
    sku            TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    barcode        TEXT NOT NULL DEFAULT '',
    price_amount   INTEGER NOT NULL,
    price_currency TEXT NOT NULL,
    weight_grams   INTEGER NOT NULL DEFAULT 0,
    length_mm      INTEGER NOT NULL DEFAULT 0,
    width_mm       INTEGER NOT NULL DEFAULT 0,
    height_mm      INTEGER NOT NULL DEFAULT 0,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

-- Many products carry no barcode: only a non-empty one must be unique.
CREATE UNIQUE INDEX products_barcode ON products (barcode) WHERE barcode <> '';

CREATE TABLE warehouses (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    addr_name    TEXT NOT NULL DEFAULT '',
    line1        TEXT NOT NULL DEFAULT '',
    line2        TEXT NOT NULL DEFAULT '',
    city         TEXT NOT NULL DEFAULT '',
    region       TEXT NOT NULL DEFAULT '',
    postal_code  TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    addr_lat     REAL NOT NULL DEFAULT 0,
    addr_lon     REAL NOT NULL DEFAULT 0,
    latitude     REAL NOT NULL DEFAULT 0,
    longitude    REAL NOT NULL DEFAULT 0,
    cutoff_time  TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE bins (
    warehouse  TEXT NOT NULL REFERENCES warehouses (code),
    code       TEXT NOT NULL,
    zone       TEXT NOT NULL,
    aisle      TEXT NOT NULL,
    rack       TEXT NOT NULL,
    shelf      TEXT NOT NULL,
    position   TEXT NOT NULL DEFAULT '',
    pick_seq   INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (warehouse, code)
) STRICT;

-- Walking order: bins are listed and picked by pick sequence, then code.
CREATE INDEX bins_pick_seq ON bins (warehouse, pick_seq, code);

-- bin_stock holds the current figures; stock_ledger explains every change.
-- The CHECK is the last line of defence against oversell: MoveStock's
-- guarded statement never lets it fire for an existing row.
CREATE TABLE bin_stock (
    sku       TEXT NOT NULL REFERENCES products (sku),
    warehouse TEXT NOT NULL,
    bin       TEXT NOT NULL,
    on_hand   INTEGER NOT NULL,
    reserved  INTEGER NOT NULL,
    PRIMARY KEY (sku, warehouse, bin),
    FOREIGN KEY (warehouse, bin) REFERENCES bins (warehouse, code),
    CHECK (reserved >= 0 AND on_hand >= reserved)
) STRICT, WITHOUT ROWID;

CREATE INDEX bin_stock_warehouse ON bin_stock (warehouse, sku);

CREATE TABLE stock_ledger (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    sku            TEXT NOT NULL REFERENCES products (sku),
    warehouse      TEXT NOT NULL,
    bin            TEXT NOT NULL,
    kind           TEXT NOT NULL,
    on_hand_delta  INTEGER NOT NULL,
    reserved_delta INTEGER NOT NULL,
    on_hand_after  INTEGER NOT NULL,
    reserved_after INTEGER NOT NULL,
    cause          TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL DEFAULT '',
    at             TEXT NOT NULL,
    FOREIGN KEY (warehouse, bin) REFERENCES bins (warehouse, code)
) STRICT;

CREATE INDEX stock_ledger_sku ON stock_ledger (sku, warehouse, id);
CREATE INDEX stock_ledger_warehouse ON stock_ledger (warehouse, id);

-- The ledger is append-only: on hand always equals the sum of its rows.
-- +goose StatementBegin
CREATE TRIGGER stock_ledger_no_update BEFORE UPDATE ON stock_ledger
BEGIN
    SELECT RAISE(ABORT, 'stock_ledger is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER stock_ledger_no_delete BEFORE DELETE ON stock_ledger
BEGIN
    SELECT RAISE(ABORT, 'stock_ledger is append-only');
END;
-- +goose StatementEnd

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

-- +goose Down
DROP TABLE api_keys;
DROP TABLE stock_ledger;
DROP TABLE bin_stock;
DROP TABLE bins;
DROP TABLE warehouses;
DROP TABLE products;
