-- Fewer bytes per transfer (posting engine v2: lean storage), with nothing less checked.

-- An entry's hash covers the previous entry's hash, and that is the previous entry's own
-- row_hash: storing it again on every entry (33 bytes, two entries per transfer) added nothing
-- that `wallet audit verify` cannot read from the row before (audit/repository.py).
ALTER TABLE entries DROP COLUMN prev_hash;

-- A money event's trace id is its journal's (outbox.sql reads it from there), so the engine
-- no longer copies it into both event rows of a transfer; events without a journal keep theirs.
ALTER TABLE outbox ALTER COLUMN trace_id DROP NOT NULL;

-- Every posting rewrites its wallets' rows. With room left on each page the new version goes
-- on the same page (a HOT update: no new entries in the wallet indexes, and the dead version is
-- pruned in place) instead of a new page and new index entries each time.
ALTER TABLE wallets SET (fillfactor = 70);
