-- Fewer index entries and bytes per transfer (posting engine v2: lean storage), with nothing
-- less checked and no query left without the index it walks.

-- Entries keyed by (wallet, time, id). The engine times each posting after its wallets' latest
-- change (ledger.sql), so a wallet's entries in (created_at, id) order are the order they were
-- posted in: the index that balance-at-a-time and the transaction search already walk is also
-- the ledger page's, and (wallet_id, id) was one index entry more per entry for nothing else.
-- `wallet audit verify` walks each chain in id order over the whole table, which needs no index.
CREATE UNIQUE INDEX entries_wallet_time_key ON entries (wallet_id, created_at, id);
ALTER TABLE entries DROP CONSTRAINT entries_pkey;
DROP INDEX entries_wallet_time;
ALTER TABLE entries ADD CONSTRAINT entries_pkey PRIMARY KEY USING INDEX entries_wallet_time_key;

-- Outbox rows without an index on id alone. An event is (wallet_id, sequence), already unique
-- and indexed for per-wallet order; the publisher claims through outbox_unpublished (id) and
-- marks what it claimed through the same partial index (the rows are still unpublished then);
-- pruning deletes the published rows it found by their row address; the feed has its own
-- (feed_xid, id) index. Identity values stay unique by construction, as event ids do (0011).
ALTER TABLE outbox DROP CONSTRAINT outbox_pkey;

-- An event due for delivery keeps no retry time: NULL is "now", so a new event carries none
-- (rows written before keep '-infinity', which means the same to the publisher).
ALTER TABLE outbox ALTER COLUMN next_attempt_at DROP NOT NULL,
                   ALTER COLUMN next_attempt_at DROP DEFAULT;

-- An idempotency record keeps the SHA-256 of the request's fingerprint (33 bytes) instead of
-- its text (65 bytes as hex, any length from other callers): equal fingerprints still compare
-- equal, and a different request still cannot match but by a collision of SHA-256.
ALTER TABLE idempotency_keys
    ALTER COLUMN fingerprint TYPE bytea USING sha256(convert_to(fingerprint, 'UTF8'));

-- A money event's type is its journal's (journal_event_type, outbox.sql): the engine stores one
-- only where a posting names another, instead of some 26 bytes on each of a transfer's events.
ALTER TABLE outbox ALTER COLUMN event_type DROP NOT NULL;
