-- A key record whose answer is rebuilt from its journal (what the engine writes) answered
-- 201 Created: that status is implied rather than stored (4 bytes and the padding after them,
-- 8 bytes on every transfer). A record that keeps its answer's text keeps its status too.
ALTER TABLE idempotency_keys ALTER COLUMN status_code DROP NOT NULL;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_status_kept
    CHECK (status_code IS NOT NULL OR response_body IS NULL);
