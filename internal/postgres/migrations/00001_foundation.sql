-- +goose Up
-- Catalog, warehouses, bins, stock and API keys. Money is bigint minor units
-- plus a currency; every timestamp is timestamptz written in UTC.

CREATE TABLE products (
    sku           text PRIMARY KEY,
    name          text NOT NULL,
    barcode       text NOT NULL DEFAULT '',
    price_amount  bigint NOT NULL CHECK (price_amount >= 0),
    currency      text NOT NULL,
    weight_grams  bigint NOT NULL DEFAULT 0 CHECK (weight_grams >= 0),
    length_mm     bigint NOT NULL DEFAULT 0 CHECK (length_mm >= 0),
    width_mm      bigint NOT NULL DEFAULT 0 CHECK (width_mm >= 0),
    height_mm     bigint NOT NULL DEFAULT 0 CHECK (height_mm >= 0),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Not every item carries a barcode: only non-empty barcodes must be unique.
CREATE UNIQUE INDEX products_barcode_key ON products (barcode) WHERE barcode <> '';
CREATE INDEX products_active_sku_idx ON products (active, sku);

CREATE TABLE warehouses (
    code          text PRIMARY KEY,
    name          text NOT NULL,
    addr_name     text NOT NULL DEFAULT '',
    line1         text NOT NULL DEFAULT '',
    line2         text NOT NULL DEFAULT '',
    city          text NOT NULL DEFAULT '',
    region        text NOT NULL DEFAULT '',
    postal_code   text NOT NULL DEFAULT '',
    country       text NOT NULL DEFAULT '',
    addr_lat      double precision NOT NULL DEFAULT 0,
    addr_lon      double precision NOT NULL DEFAULT 0,
    latitude      double precision NOT NULL DEFAULT 0,
    longitude     double precision NOT NULL DEFAULT 0,
    cutoff_time   text NOT NULL,
    time_zone     text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE bins (
    warehouse     text NOT NULL REFERENCES warehouses (code),
    code          text NOT NULL,
    zone          text NOT NULL,
    aisle         text NOT NULL,
    rack          text NOT NULL,
    shelf         text NOT NULL,
    position      text NOT NULL DEFAULT '',
    pick_seq      bigint NOT NULL DEFAULT 0 CHECK (pick_seq >= 0),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (warehouse, code)
);

-- Walking order inside a warehouse.
CREATE INDEX bins_pick_seq_idx ON bins (warehouse, pick_seq, code);

CREATE TABLE bin_stock (
    sku           text NOT NULL REFERENCES products (sku),
    warehouse     text NOT NULL,
    bin           text NOT NULL,
    on_hand       bigint NOT NULL DEFAULT 0,
    reserved      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, warehouse, bin),
    FOREIGN KEY (warehouse, bin) REFERENCES bins (warehouse, code),
    -- The last line of defence against oversell: MoveStock's guarded UPDATE
    -- never gets here, but no other write can break it either.
    CONSTRAINT bin_stock_guard CHECK (reserved >= 0 AND on_hand >= reserved)
);

CREATE INDEX bin_stock_warehouse_idx ON bin_stock (warehouse, sku);

CREATE TABLE stock_ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku            text NOT NULL REFERENCES products (sku),
    warehouse      text NOT NULL,
    bin            text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('receipt', 'adjustment', 'reservation', 'release', 'pick')),
    on_hand_delta  bigint NOT NULL,
    reserved_delta bigint NOT NULL,
    on_hand_after  bigint NOT NULL,
    reserved_after bigint NOT NULL,
    cause          text NOT NULL DEFAULT '',
    actor          text NOT NULL DEFAULT '',
    at             timestamptz NOT NULL,
    FOREIGN KEY (warehouse, bin) REFERENCES bins (warehouse, code)
);

CREATE INDEX stock_ledger_sku_idx ON stock_ledger (sku, warehouse, id);
CREATE INDEX stock_ledger_warehouse_idx ON stock_ledger (warehouse, id);

-- The ledger is append-only: on hand is always the sum of its rows, so no
-- row may change or disappear.
-- +goose StatementBegin
CREATE FUNCTION stock_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stock_ledger is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER stock_ledger_append_only
    BEFORE UPDATE OR DELETE ON stock_ledger
    FOR EACH ROW EXECUTE FUNCTION stock_ledger_append_only();

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'merchant', 'device', 'carrier')),
    prefix      text NOT NULL,
    hash        text NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CONSTRAINT api_keys_hash_key UNIQUE (hash)
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE stock_ledger;
DROP FUNCTION stock_ledger_append_only();
DROP TABLE bin_stock;
DROP TABLE bins;
DROP TABLE warehouses;
DROP TABLE products;
