-- Security: a tamper-evident audit trail, hash-chained ledger entries, an audited posting entry
-- point, and least-privilege grants for the application role.
--
-- Nothing here touches ledger_apply/ledger_post: money postings are audited by the wrapper
-- ledger_post_audited (same single statement), ledger entries are chained by a trigger.

-- ---------------------------------------------------------------------------------------------
-- Hashing helpers. format('%L') quotes every text value (NULL stays NULL), so two different rows
-- can never serialise to the same text. Times hash as integer microseconds.
-- plpgsql, not sql: PostgreSQL before 18 plans a non-inlined SQL function's body on every
-- call, and these run several times per posting.
CREATE FUNCTION epoch_us(t timestamptz) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (extract(epoch FROM t) * 1000000)::bigint;
END $$;

-- ---------------------------------------------------------------------------------------------
-- Audit trail: who did what to which resource, with what outcome, from where, under which trace.
CREATE TABLE audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor          text        NOT NULL,
    action         text        NOT NULL,
    resource_type  text        NOT NULL,
    resource_id    text,
    outcome        text        NOT NULL,
    client_address text,
    trace_id       text,
    details        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id DESC);

-- The chain: one seal per audit row, linked in id order by the sealing step (audit_seal) rather
-- than at insert time, so writers never queue on one global "last hash" row. No foreign key:
-- a seal whose audit row disappeared is exactly the evidence verify needs.
CREATE TABLE audit_seals (
    audit_id  bigint      PRIMARY KEY,
    prev_hash bytea       NOT NULL,
    row_hash  bytea       NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE FUNCTION audit_row_hash(prev bytea, a audit_log) RETURNS bytea LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN sha256(prev || convert_to(format('%s|%s|%L|%L|%L|%L|%L|%L|%L|%L',
            a.id, epoch_us(a.occurred_at), a.actor, a.action, a.resource_type, a.resource_id,
            a.outcome, a.client_address, a.trace_id, a.details::text), 'UTF8'));
END $$;

-- Seal up to p_limit unsealed rows in id order; returns how many. Only rows older than p_settle
-- are sealed, so a row whose (short) transaction commits late is not skipped. One sealer at a
-- time: a second caller returns 0 at once.
CREATE FUNCTION audit_seal(p_limit integer DEFAULT 1000, p_settle interval DEFAULT '5 seconds')
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    prev     bytea;
    last_id  bigint;
    row_hash bytea;
    a        audit_log;
    sealed   integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('wallet:audit_seal', 0)) THEN
        RETURN 0;
    END IF;
    SELECT s.audit_id, s.row_hash INTO last_id, prev
        FROM audit_seals s ORDER BY s.audit_id DESC LIMIT 1;
    prev := coalesce(prev, '\x'::bytea);
    FOR a IN
        SELECT * FROM audit_log
        WHERE id > coalesce(last_id, 0) AND occurred_at <= now() - p_settle
        ORDER BY id LIMIT p_limit
    LOOP
        row_hash := audit_row_hash(prev, a);
        INSERT INTO audit_seals (audit_id, prev_hash, row_hash) VALUES (a.id, prev, row_hash);
        prev := row_hash;
        sealed := sealed + 1;
    END LOOP;
    RETURN sealed;
END $$;

-- ---------------------------------------------------------------------------------------------
-- Ledger entries: a hash chain per wallet, built as each entry is inserted. The posting holds
-- the wallet's row lock, so the chain is serialised per wallet only (no global hot row); the
-- previous entry is one probe of entries_wallet_newest_first. The hash covers the entry and its
-- journal, so editing either breaks it.
ALTER TABLE entries ADD COLUMN prev_hash bytea, ADD COLUMN row_hash bytea;

CREATE FUNCTION entry_row_hash(prev bytea, e entries, j journals) RETURNS bytea
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN sha256(prev || convert_to(format(
            '%s|%s|%s|%L|%s|%s|%s|%s|%s|%s|%L|%L|%s|%s|%L|%L|%L|%L|%L|%L|%L|%s',
            e.id, e.journal_id, e.wallet_id, e.currency, e.amount, e.balance_before, e.balance_after,
            e.held_before, e.held_after, epoch_us(e.created_at),
            j.type, j.status, j.wallet_id, j.amount, j.currency, j.reference_id, j.category,
            j.metadata::text, j.hold_id, j.related_journal_id, j.trace_id, epoch_us(j.created_at)),
            'UTF8'));
END $$;

CREATE FUNCTION entries_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    journal journals;
BEGIN
    SELECT e.row_hash INTO NEW.prev_hash FROM entries e
        WHERE e.wallet_id = NEW.wallet_id ORDER BY e.id DESC LIMIT 1;
    NEW.prev_hash := coalesce(NEW.prev_hash, '\x'::bytea);
    SELECT * INTO journal FROM journals WHERE id = NEW.journal_id;
    NEW.row_hash := entry_row_hash(NEW.prev_hash, NEW, journal);
    RETURN NEW;
END $$;

-- Chain entries written before this migration, oldest first.
DO $$
DECLARE
    e       entries;
    journal journals;
    prev    bytea;
BEGIN
    ALTER TABLE entries DISABLE TRIGGER entries_append_only;
    FOR e IN SELECT * FROM entries ORDER BY id LOOP
        SELECT x.row_hash INTO prev FROM entries x
            WHERE x.wallet_id = e.wallet_id AND x.id < e.id ORDER BY x.id DESC LIMIT 1;
        SELECT * INTO journal FROM journals WHERE id = e.journal_id;
        UPDATE entries SET prev_hash = coalesce(prev, '\x'::bytea),
                           row_hash = entry_row_hash(coalesce(prev, '\x'::bytea), e, journal)
            WHERE id = e.id;
    END LOOP;
    ALTER TABLE entries ENABLE TRIGGER entries_append_only;
END $$;

CREATE TRIGGER entries_hash_chain BEFORE INSERT ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_chain();

-- ---------------------------------------------------------------------------------------------
-- The audited posting entry point: ledger_post plus one audit row per posting that was not a
-- replay (posted or refused), in the same statement. client_addresses is parallel to postings.
CREATE FUNCTION ledger_post_audited(postings ledger_posting[], client_addresses text[])
RETURNS SETOF ledger_result LANGUAGE plpgsql AS $$
DECLARE
    result   ledger_result;
    position integer := 0;
    p        ledger_posting;
BEGIN
    FOR result IN SELECT * FROM ledger_post(postings) LOOP
        position := position + 1;
        p := postings[position];
        IF result.outcome <> 'replayed' THEN
            INSERT INTO audit_log (actor, action, resource_type, resource_id, outcome,
                                   client_address, trace_id, details)
            VALUES (p.caller, 'money.' || lower(p.journal_type), 'wallet', p.wallet_id::text,
                    result.outcome, client_addresses[position], p.trace_id,
                    jsonb_strip_nulls(jsonb_build_object(
                        'journal_id', CASE WHEN result.outcome = 'posted' THEN p.journal_id END,
                        'amount', p.amount, 'status', result.status_code, 'hold_id', p.hold_id)));
        END IF;
        RETURN NEXT result;
    END LOOP;
END $$;

-- ---------------------------------------------------------------------------------------------
-- Least privilege. Migrations run as the owner role; the service connects as a login role that
-- is a member of wallet_app. wallet_app may read and write the working tables but never UPDATE,
-- DELETE or TRUNCATE history (journals, entries, the audit trail). Tables added by later
-- migrations get the normal grants by default; append-only ones must REVOKE like below.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wallet_app') THEN
        CREATE ROLE wallet_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created meanwhile by a migration of another database on the same server
END $$;

GRANT USAGE ON SCHEMA public TO wallet_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO wallet_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wallet_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO wallet_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO wallet_app;
REVOKE UPDATE, DELETE, TRUNCATE ON journals, entries, audit_log, audit_seals FROM wallet_app;

-- The migration tool's bookkeeping is the owner's alone.
DO $$
DECLARE
    bookkeeping text;
BEGIN
    FOR bookkeeping IN
        SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '%yoyo%'
    LOOP
        EXECUTE format('REVOKE ALL ON %I FROM wallet_app', bookkeeping);
    END LOOP;
END $$;
