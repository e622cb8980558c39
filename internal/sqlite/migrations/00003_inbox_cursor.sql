-- +goose Up
-- How far the webhook inbox (its own file, inbox_migrations) has been
-- copied into webhook_events: the seq of the last copied row. It moves in
-- the same transaction as the copy, so a row is copied exactly once.
CREATE TABLE inbox_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
) STRICT;
INSERT INTO inbox_cursor (id, seq) VALUES (1, 0);

-- +goose Down
DROP TABLE inbox_cursor;
