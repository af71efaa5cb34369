-- Posting engine v2 (schema only). From here on, functions, views and triggers live in the SQL
-- modules beside each domain (src/wallet/*/sql/*.sql), which `wallet migrate` applies after the
-- numbered migrations; this file only changes tables and types, and drops what the modules
-- replace under another shape.

-- The v1 posting path's per-row triggers: the v2 engine does their work once per batch, and
-- the double-entry check becomes statement-level (ledger.sql).
DROP TRIGGER entries_hash_chain ON entries;
DROP TRIGGER entries_balanced ON entries;
DROP TRIGGER journals_balanced ON journals;
DROP TRIGGER outbox_feed_position ON outbox;
DROP FUNCTION entries_chain();
DROP FUNCTION outbox_feed_position();
DROP FUNCTION check_journal_balanced();
DROP FUNCTION ledger_post_audited(ledger_posting[], text[]);
DROP FUNCTION ledger_post(ledger_posting[]);
DROP FUNCTION ledger_apply(ledger_posting);
DROP FUNCTION hold_posting(hold_call, holds, text, text, bigint, ledger_leg[], jsonb);

-- Postings carry where the request came from (the journal records its actor, so a posted
-- movement needs no separate audit row) and whether the engine audits a refusal itself.
ALTER TYPE ledger_posting ADD ATTRIBUTE client_address text, ADD ATTRIBUTE audit_refusal boolean;
ALTER TYPE hold_call ADD ATTRIBUTE client_address text;

ALTER TABLE journals ADD COLUMN actor text, ADD COLUMN client_address text;

-- System wallets spread over shards (no hot row per currency); the chain head of each wallet's
-- entries on its row, so a batch extends the chain without looking up the previous entry.
ALTER TABLE wallets ADD COLUMN shard smallint NOT NULL DEFAULT 0,
                    ADD COLUMN chain_head bytea,
                    ADD CONSTRAINT user_wallet_is_one_row CHECK (kind <> 'USER' OR shard = 0);
DROP INDEX wallets_one_system_per_currency;
CREATE UNIQUE INDEX wallets_system_shard ON wallets (kind, currency, shard) WHERE kind <> 'USER';
UPDATE wallets SET chain_head = (SELECT e.row_hash FROM entries e WHERE e.wallet_id = wallets.id
                                 ORDER BY e.id DESC LIMIT 1);

-- Entries keyed by (wallet, id): the ledger page's index is the key, one index fewer per entry.
CREATE UNIQUE INDEX entries_wallet_entry ON entries (wallet_id, id);
ALTER TABLE entries DROP CONSTRAINT entries_pkey;
ALTER TABLE entries ADD CONSTRAINT entries_pkey PRIMARY KEY USING INDEX entries_wallet_entry;
DROP INDEX entries_wallet_newest_first;

-- Events reference their journal instead of carrying a copy of it (outbox.sql renders them);
-- payload keeps only what the journal cannot tell (a hold's state at that step).
ALTER TABLE outbox ALTER COLUMN payload DROP NOT NULL,
                   ALTER COLUMN feed_xid SET DEFAULT pg_current_xact_id();

-- A stored answer that is exactly a posted transaction is rebuilt from its journal.
ALTER TABLE idempotency_keys
    ADD COLUMN journal_id uuid,
    ALTER COLUMN response_body DROP NOT NULL,
    ADD CONSTRAINT idempotency_answer_kept CHECK (response_body IS NOT NULL OR journal_id IS NOT NULL);
