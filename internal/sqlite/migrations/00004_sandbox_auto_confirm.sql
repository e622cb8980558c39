-- +goose Up
-- When the sandbox confirms an intent by itself
-- (FULFILL_SANDBOX_AUTO_CONFIRM_MS): a time as fixed-width UTC text, like
-- every other time here; NULL: only when asked. The sweeper of the sandbox
-- reads the due intents often; the partial index holds only the intents
-- still waiting for it, so that read stays cheap however many intents were
-- settled. Its WHERE is matched by the query's literal terms (a bound
-- parameter would not let SQLite use a partial index).
ALTER TABLE sandbox_intents ADD COLUMN auto_confirm_at TEXT;
CREATE INDEX sandbox_intents_auto_confirm_idx ON sandbox_intents (auto_confirm_at, id)
    WHERE status = 'requires_payment' AND auto_confirm_at IS NOT NULL;

-- +goose Down
DROP INDEX sandbox_intents_auto_confirm_idx;
ALTER TABLE sandbox_intents DROP COLUMN auto_confirm_at;
