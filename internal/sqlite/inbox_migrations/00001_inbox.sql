-- +goose Up
-- The webhook inbox: events as acknowledged, in a file of their own so that
-- an acknowledgement commits on its own writer and never waits for the
-- pipeline's transactions on the main file. Append-only: the payment stage
-- copies new rows (seq beyond inbox_cursor in the main file) into
-- webhook_events in its own transaction.
CREATE TABLE webhook_inbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    raw_type    TEXT NOT NULL DEFAULT '',
    order_id    TEXT NOT NULL DEFAULT '',
    intent_id   TEXT NOT NULL DEFAULT '',
    amount      INTEGER NOT NULL DEFAULT 0,
    currency    TEXT NOT NULL DEFAULT '',
    occurred_at TEXT NOT NULL,
    payload     BLOB,
    received_at TEXT NOT NULL,
    UNIQUE (provider, event_id)
) STRICT;

-- +goose Down
DROP TABLE webhook_inbox;
