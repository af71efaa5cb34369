-- Entries written again into a table of their own layout (posting engine v2: lean storage).
-- Nothing about an entry changes but where its bytes go: the same columns, values, ids, keys,
-- checks, indexes and rights.
--
-- Why a new table: PostgreSQL neither reorders columns nor forgets a dropped one. The dropped
-- prev_hash (0012) is a NULL on every row, so each row carries a null bitmap (a 32-byte header
-- instead of 24), and char(3) currency between the uuids and the bigints pads to 8 bytes. In
-- this layout the eight-byte columns come first and the variable ones last, with no NULL to
-- mark: 16 bytes less on every entry, 32 on a transfer.

-- What names the old table's row type goes with it; the ledger, outbox and admin modules make
-- them again (ledger.sql changed with this migration; the other two are forgotten here so that
-- this run applies them whatever their recorded hash).
DROP VIEW IF EXISTS outbox_documents;
DROP VIEW IF EXISTS transaction_documents;
DROP FUNCTION IF EXISTS entry_row_hash(bytea, entries, journals);
DELETE FROM schema_modules WHERE name IN ('ledger', 'outbox', 'admin');

CREATE TABLE entries_repacked (
    id             bigint      GENERATED ALWAYS AS IDENTITY (INCREMENT BY 1024),
    journal_id     uuid        NOT NULL,
    wallet_id      uuid        NOT NULL,
    amount         bigint      NOT NULL,
    balance_before bigint      NOT NULL,
    balance_after  bigint      NOT NULL,
    held_before    bigint      NOT NULL,
    held_after     bigint      NOT NULL,
    promotional    bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    row_hash       bytea,
    currency       char(3)     NOT NULL,
    CONSTRAINT entry_balance_moves_by_amount CHECK (balance_after = balance_before + amount)
);

-- In the primary key's order, so that a wallet's history starts out on neighbouring pages.
INSERT INTO entries_repacked (id, journal_id, wallet_id, amount, balance_before, balance_after,
                              held_before, held_after, promotional, created_at, row_hash,
                              currency)
OVERRIDING SYSTEM VALUE
SELECT id, journal_id, wallet_id, amount, balance_before, balance_after, held_before,
       held_after, promotional, created_at, row_hash, currency
FROM entries
ORDER BY wallet_id, created_at, id;

-- Ids go on from where the old table's left off (blocks of 1024: ledger.sql, migrations/0014).
SELECT setval(pg_get_serial_sequence('entries_repacked', 'id'), last_value, is_called)
FROM entries_id_seq;

DROP TABLE entries;
ALTER TABLE entries_repacked RENAME TO entries;
ALTER SEQUENCE entries_repacked_id_seq RENAME TO entries_id_seq;
ALTER TABLE entries ADD CONSTRAINT entries_pkey PRIMARY KEY (wallet_id, created_at, id);
CREATE INDEX entries_journal ON entries (journal_id);

-- The service's role reads and appends entries, and nothing more (migrations/0004).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wallet_app') THEN
        GRANT SELECT, INSERT ON entries TO wallet_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON entries FROM wallet_app;
        GRANT USAGE, SELECT ON SEQUENCE entries_id_seq TO wallet_app;
    END IF;
END $$;

ANALYZE entries;
