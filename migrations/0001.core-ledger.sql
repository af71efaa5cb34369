-- Core ledger: wallets, double-entry journals, idempotency keys and the outbox.
--
-- The database itself enforces what must never break: entries cannot be changed or removed,
-- a journal whose entries do not sum to zero cannot commit, a user wallet cannot go below zero
-- available. The posting path is one SQL function (ledger_post) so that a money movement costs
-- one round trip and a batch of postings can share one transaction.

-- Time-ordered UUIDs (v7) for rows created inside the database; PostgreSQL 15 has no uuidv7().
-- plpgsql, not sql: PostgreSQL before 18 plans a non-inlined SQL function's body on every
-- call, and these run several times per posting.
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN encode(
            set_bit(set_bit(
                overlay(uuid_send(gen_random_uuid())
                        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6),
                52, 1), 53, 1),
            'hex')::uuid;
END $$;

-- Timestamps in JSON built by SQL, in the same form the API's Python side writes (UTC, 'Z').
CREATE FUNCTION json_time(t timestamptz) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
END $$;

CREATE TABLE wallets (
    id          uuid PRIMARY KEY,
    owner_id    text        NOT NULL,
    currency    char(3)     NOT NULL,
    -- USER wallets belong to an owner; the others are the books' own accounts per currency.
    kind        text        NOT NULL DEFAULT 'USER'
                CHECK (kind IN ('USER', 'EXTERNAL', 'SETTLEMENT', 'FEES', 'SUSPENSE')),
    status      text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'FROZEN', 'CLOSED')),
    balance     bigint      NOT NULL DEFAULT 0,
    held        bigint      NOT NULL DEFAULT 0 CHECK (held >= 0),
    -- Bumped on every change; doubles as the per-wallet event sequence number.
    version     bigint      NOT NULL DEFAULT 1,
    metadata    jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_wallet_available_not_negative CHECK (kind <> 'USER' OR balance - held >= 0)
);
CREATE UNIQUE INDEX wallets_one_per_owner_currency ON wallets (owner_id, currency) WHERE kind = 'USER';
CREATE UNIQUE INDEX wallets_one_system_per_currency ON wallets (kind, currency) WHERE kind <> 'USER';

CREATE TABLE journals (
    id                 uuid PRIMARY KEY,
    type               text        NOT NULL,
    status             text        NOT NULL DEFAULT 'POSTED',
    wallet_id          uuid        NOT NULL REFERENCES wallets (id),
    amount             bigint      NOT NULL CHECK (amount >= 0),
    currency           char(3)     NOT NULL,
    reference_id       text,
    category           text,
    metadata           jsonb       NOT NULL DEFAULT '{}',
    hold_id            uuid,
    related_journal_id uuid REFERENCES journals (id),
    trace_id           text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journals_related ON journals (related_journal_id) WHERE related_journal_id IS NOT NULL;
CREATE INDEX journals_hold ON journals (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE entries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journal_id     uuid        NOT NULL REFERENCES journals (id),
    wallet_id      uuid        NOT NULL REFERENCES wallets (id),
    currency       char(3)     NOT NULL,
    amount         bigint      NOT NULL,   -- signed: credits positive, debits negative
    balance_before bigint      NOT NULL,
    balance_after  bigint      NOT NULL,
    held_before    bigint      NOT NULL,
    held_after     bigint      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entry_balance_moves_by_amount CHECK (balance_after = balance_before + amount)
);
CREATE INDEX entries_wallet_newest_first ON entries (wallet_id, id DESC);
CREATE INDEX entries_journal ON entries (journal_id);

CREATE TABLE idempotency_keys (
    caller        text        NOT NULL,
    key           text        NOT NULL,
    fingerprint   text        NOT NULL,
    status_code   integer     NOT NULL,
    response_body text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    wallet_id    uuid        NOT NULL,
    sequence     bigint      NOT NULL,
    journal_id   uuid,
    payload      jsonb       NOT NULL,
    trace_id     text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    UNIQUE (wallet_id, sequence)
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Append-only: history is corrected by new journals, never by editing old ones.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journals_append_only BEFORE UPDATE OR DELETE ON journals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journals_no_truncate BEFORE TRUNCATE ON journals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Double-entry, checked at commit: a journal has entries and they sum to zero per currency.
CREATE FUNCTION check_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    journal uuid;
    currencies bigint;
    unbalanced text;
BEGIN
    -- Separate statements: plpgsql plans each only when it runs, and NEW differs per table.
    IF TG_TABLE_NAME = 'journals' THEN
        journal := NEW.id;
    ELSE
        journal := NEW.journal_id;
    END IF;
    -- One pass over the journal's entries: how many currencies, and one that does not balance.
    SELECT count(*), min(currency) FILTER (WHERE total <> 0) INTO currencies, unbalanced
    FROM (SELECT currency, sum(amount) AS total FROM entries WHERE journal_id = journal
          GROUP BY currency) AS per_currency;
    IF currencies = 0 THEN
        RAISE EXCEPTION 'journal % has no entries', journal USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal % does not balance in %', journal, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journals_balanced AFTER INSERT ON journals
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_journal_balanced();
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_journal_balanced();

-- The books' own wallet of a kind and currency, created the first time it is needed.
CREATE FUNCTION system_wallet_id(p_kind text, p_currency char(3)) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    found_id uuid;
BEGIN
    SELECT id INTO found_id FROM wallets WHERE kind = p_kind AND currency = p_currency;
    IF found_id IS NULL THEN
        INSERT INTO wallets (id, owner_id, currency, kind)
            VALUES (uuid_v7(), 'system:' || lower(p_kind), p_currency, p_kind)
            ON CONFLICT DO NOTHING;
        SELECT id INTO found_id FROM wallets WHERE kind = p_kind AND currency = p_currency;
    END IF;
    RETURN found_id;
END $$;

-- Idempotency, first half: take the key for this transaction and look for an earlier answer.
-- outcome: 'new' (go ahead), 'replayed' (status/body hold the first answer),
-- 'idempotency_key_in_use' (another request with the key is running),
-- 'idempotency_key_reused' (the key was used for a different request).
CREATE TYPE idempotency_check AS (outcome text, status_code integer, body text);

CREATE FUNCTION idempotency_begin(p_caller text, p_key text, p_fingerprint text)
RETURNS idempotency_check LANGUAGE plpgsql AS $$
DECLARE
    prior idempotency_keys%ROWTYPE;
BEGIN
    IF p_key IS NULL THEN
        RETURN ROW('new', NULL, NULL)::idempotency_check;
    END IF;
    -- Held until commit, so a concurrent twin is told 'in use' instead of waiting.
    IF NOT pg_try_advisory_xact_lock(hashtextextended(p_caller || chr(31) || p_key, 0)) THEN
        RETURN ROW('idempotency_key_in_use', 409, NULL)::idempotency_check;
    END IF;
    SELECT * INTO prior FROM idempotency_keys WHERE caller = p_caller AND key = p_key;
    IF NOT FOUND THEN
        RETURN ROW('new', NULL, NULL)::idempotency_check;
    END IF;
    IF prior.fingerprint <> p_fingerprint THEN
        RETURN ROW('idempotency_key_reused', 422, NULL)::idempotency_check;
    END IF;
    RETURN ROW('replayed', prior.status_code, prior.response_body)::idempotency_check;
END $$;

-- Idempotency, second half: remember the answer, in the same transaction as the effect.
CREATE FUNCTION idempotency_finish(
    p_caller text, p_key text, p_fingerprint text, p_status integer, p_body text
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (caller, key, fingerprint, status_code, response_body)
        VALUES (p_caller, p_key, p_fingerprint, p_status, p_body);
    END IF;
END $$;

-- A leg is one wallet's change within a journal. wallet_id names a wallet directly; a NULL
-- wallet_id with system_kind set means "the books' wallet of that kind, in this currency".
CREATE TYPE ledger_leg AS (
    wallet_id   uuid,
    system_kind text,
    amount      bigint,   -- signed change of balance
    held_delta  bigint    -- signed change of held
);

CREATE TYPE ledger_posting AS (
    caller             text,
    idempotency_key    text,
    fingerprint        text,
    journal_id         uuid,
    journal_type       text,
    event_type         text,
    wallet_id          uuid,   -- the wallet the request addressed
    required_owner     text,   -- set for owner-scoped callers: other owners' wallets are unknown
    amount             bigint,
    reference_id       text,
    category           text,
    metadata           jsonb,
    hold_id            uuid,
    related_journal_id uuid,
    trace_id           text,
    legs               ledger_leg[]
);

-- outcome: 'posted', 'replayed', or an error code; body: the transaction as JSON text.
CREATE TYPE ledger_result AS (outcome text, status_code integer, body text);

-- Apply one posting inside the caller's transaction. Every check happens on locked rows before
-- anything is written, so a refused posting leaves no trace and needs no rollback.
CREATE FUNCTION ledger_apply(p ledger_posting) RETURNS ledger_result
LANGUAGE plpgsql AS $$
DECLARE
    idem          idempotency_check;
    txn_currency  char(3);
    txn_owner     text;
    leg           ledger_leg;
    leg_wallets   uuid[] := '{}';
    named_wallets uuid[] := '{}';
    leg_amounts   bigint[] := '{}';
    leg_helds     bigint[] := '{}';
    wanted        integer;
    locked        integer := 0;
    w             record;
    entries_json  json;
    touched       record;
    created       timestamptz := now();
    body          text;
BEGIN
    idem := idempotency_begin(p.caller, p.idempotency_key, p.fingerprint);
    IF idem.outcome <> 'new' THEN
        RETURN ROW(idem.outcome, idem.status_code, idem.body)::ledger_result;
    END IF;

    SELECT currency, owner_id INTO txn_currency, txn_owner
        FROM wallets WHERE id = p.wallet_id AND kind = 'USER';
    IF NOT FOUND OR (p.required_owner IS NOT NULL AND txn_owner <> p.required_owner) THEN
        RETURN ROW('wallet_not_found', 404, NULL)::ledger_result;
    END IF;

    FOREACH leg IN ARRAY p.legs LOOP
        IF leg.wallet_id IS NOT NULL THEN
            named_wallets := named_wallets || leg.wallet_id;
        END IF;
        leg_wallets := leg_wallets
            || coalesce(leg.wallet_id, system_wallet_id(leg.system_kind, txn_currency));
        leg_amounts := leg_amounts || leg.amount;
        leg_helds := leg_helds || leg.held_delta;
    END LOOP;

    -- Lock every wallet of the journal in id order (no deadlocks), then check them all.
    SELECT count(DISTINCT x) INTO wanted FROM unnest(leg_wallets) AS x;
    FOR w IN
        WITH deltas AS (
            SELECT wallet_id, sum(amount) AS amount, sum(held_delta) AS held_delta
            FROM unnest(leg_wallets, leg_amounts, leg_helds) AS l(wallet_id, amount, held_delta)
            GROUP BY wallet_id
        )
        SELECT wallets.*, deltas.amount AS delta, deltas.held_delta AS held_change
        FROM wallets JOIN deltas ON deltas.wallet_id = wallets.id
        ORDER BY wallets.id
        FOR UPDATE OF wallets
    LOOP
        locked := locked + 1;
        -- System wallets are reached by kind only; a client naming one by id finds nothing.
        IF w.kind <> 'USER' AND w.id = ANY(named_wallets) THEN
            RETURN ROW('wallet_not_found', 404, NULL)::ledger_result;
        END IF;
        IF w.currency <> txn_currency THEN
            RETURN ROW('currency_mismatch', 422, NULL)::ledger_result;
        END IF;
        -- BIGINT holds every balance: refuse what would not fit rather than fail mid-write.
        IF w.balance::numeric + w.delta NOT BETWEEN -9223372036854775808 AND 9223372036854775807
           OR w.held::numeric + w.held_change > 9223372036854775807 THEN
            RETURN ROW('amount_out_of_range', 422, NULL)::ledger_result;
        END IF;
        IF w.kind = 'USER' THEN
            -- Money may leave (or be reserved in) an ACTIVE wallet only; a FROZEN one still
            -- receives and releases; a CLOSED one does nothing.
            IF w.status = 'CLOSED'
               OR (w.status <> 'ACTIVE' AND (w.delta < 0 OR w.held_change > 0)) THEN
                RETURN ROW('wallet_not_active', 409, NULL)::ledger_result;
            END IF;
            IF (w.delta < 0 OR w.held_change > 0)
               AND w.balance + w.delta - (w.held + w.held_change) < 0 THEN
                RETURN ROW('insufficient_funds', 422, NULL)::ledger_result;
            END IF;
        END IF;
    END LOOP;
    IF locked <> wanted THEN
        RETURN ROW('wallet_not_found', 404, NULL)::ledger_result;
    END IF;

    INSERT INTO journals (id, type, wallet_id, amount, currency, reference_id, category, metadata,
                          hold_id, related_journal_id, trace_id, created_at)
    VALUES (p.journal_id, p.journal_type, p.wallet_id, p.amount, txn_currency, p.reference_id,
            p.category, coalesce(p.metadata, '{}'), p.hold_id, p.related_journal_id, p.trace_id,
            created);

    WITH deltas AS (
        SELECT wallet_id, sum(amount) AS amount, sum(held_delta) AS held_delta
        FROM unnest(leg_wallets, leg_amounts, leg_helds) AS l(wallet_id, amount, held_delta)
        GROUP BY wallet_id
    ), changed AS (
        UPDATE wallets SET balance = wallets.balance + deltas.amount,
                           held = wallets.held + deltas.held_delta,
                           version = wallets.version + 1,
                           updated_at = created
        FROM deltas WHERE wallets.id = deltas.wallet_id
        RETURNING wallets.id, wallets.balance, wallets.held, deltas.amount, deltas.held_delta
    ), written AS (
        INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before, balance_after,
                             held_before, held_after, created_at)
        SELECT p.journal_id, id, txn_currency, amount, balance - amount, balance,
               held - held_delta, held, created
        FROM changed
        RETURNING *
    )
    SELECT json_agg(json_build_object(
               'wallet_id', wallet_id, 'amount', amount,
               'balance_before', balance_before, 'balance_after', balance_after,
               'held_before', held_before, 'held_after', held_after)
           ORDER BY amount, wallet_id)
      INTO entries_json FROM written;

    body := json_build_object(
        'id', p.journal_id, 'type', p.journal_type, 'status', 'POSTED',
        'amount', p.amount, 'currency', txn_currency, 'wallet_id', p.wallet_id,
        'entries', entries_json, 'reference_id', p.reference_id, 'category', p.category,
        'metadata', coalesce(p.metadata, '{}'), 'hold_id', p.hold_id,
        'related_transaction_id', p.related_journal_id, 'trace_id', p.trace_id,
        'created_at', json_time(created))::text;

    -- One event per user wallet the journal touched, numbered by that wallet's version.
    INSERT INTO outbox (event_id, event_type, wallet_id, sequence, journal_id, payload, trace_id,
                        created_at)
    SELECT uuid_v7(), p.event_type, wallets.id, wallets.version, p.journal_id,
           jsonb_build_object('wallet', jsonb_build_object(
                                  'id', wallets.id, 'owner_id', wallets.owner_id,
                                  'balance', wallets.balance, 'held', wallets.held,
                                  'available', wallets.balance - wallets.held,
                                  'version', wallets.version),
                              'transaction', body::jsonb),
           p.trace_id, created
    FROM wallets
    WHERE wallets.id = ANY(leg_wallets) AND wallets.kind = 'USER';

    PERFORM idempotency_finish(p.caller, p.idempotency_key, p.fingerprint, 201, body);
    RETURN ROW('posted', 201, body)::ledger_result;
END $$;

-- The batch entry point: postings applied in order inside one transaction. A posting that is
-- refused (insufficient funds, unknown wallet...) returns its outcome and the rest go on.
CREATE FUNCTION ledger_post(postings ledger_posting[]) RETURNS SETOF ledger_result
LANGUAGE plpgsql AS $$
DECLARE
    p ledger_posting;
BEGIN
    -- Several postings share one transaction: take all their wallet locks up front, in id
    -- order, so two batches can never wait on each other in a cycle.
    IF cardinality(postings) > 1 THEN
        PERFORM 1 FROM wallets WHERE id IN (
            SELECT coalesce(leg.wallet_id, system_wallet_id(leg.system_kind, addressed.currency))
            FROM unnest(postings) AS posting
            JOIN wallets AS addressed ON addressed.id = posting.wallet_id
            CROSS JOIN LATERAL unnest(posting.legs) AS leg)
        ORDER BY id FOR UPDATE;
    END IF;
    FOREACH p IN ARRAY postings LOOP
        RETURN NEXT ledger_apply(p);
    END LOOP;
END $$;
