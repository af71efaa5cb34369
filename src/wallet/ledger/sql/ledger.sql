-- The ledger: journals and entries, what keeps them honest, how a transaction is rendered, and
-- the posting engine (DESIGN D4, D5, D6).
--
-- The engine (ledger_post) applies a whole batch of postings with a fixed number of
-- statements, whatever the batch's size: claim the idempotency keys, lock every wallet once in
-- id order, decide each posting in order in memory (a refused posting changes nothing that
-- later ones see), then write journals with entries, wallets, events and keys one statement
-- each. Integrity checks run once per statement, over the rows the statement wrote.

-- ---------------------------------------------------------------------------------------------
-- Append-only history.
CREATE OR REPLACE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER journals_append_only BEFORE UPDATE OR DELETE ON journals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER journals_no_truncate BEFORE TRUNCATE ON journals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- ---------------------------------------------------------------------------------------------
-- Double-entry and references, per statement, for every writer (not only the engine): the
-- entries a statement wrote sum to zero per journal and currency, every journal it inserted
-- has entries, and every journal, wallet and related journal named exists. Summing only the
-- statement's own entries is enough: every journal balanced before it (this check has held
-- since the first entry), so a journal balances after it exactly when what the statement
-- added to it sums to zero. A journal and its entries are therefore written in one statement
-- (the engine writes them as one INSERT with a data-modifying CTE; AFTER triggers fire once it
-- is done). The reference checks probe an index per distinct id named (LATERAL ... LIMIT 1
-- keeps the planner from hashing a whole table), so their cost follows the batch, not the
-- ledger.
CREATE OR REPLACE FUNCTION entries_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.journal_id, n.currency INTO bad
    FROM new_entries n
    GROUP BY n.journal_id, n.currency
    HAVING sum(n.amount) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance in %', bad.journal_id, bad.currency
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT named.journal_id INTO bad
    FROM (SELECT DISTINCT journal_id FROM new_entries) AS named
    LEFT JOIN LATERAL (SELECT true AS found FROM journals j WHERE j.id = named.journal_id
                       LIMIT 1) AS journal ON true
    WHERE journal.found IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry of journal % names a missing journal', bad.journal_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT named.wallet_id INTO bad
    FROM (SELECT DISTINCT wallet_id FROM new_entries) AS named
    LEFT JOIN LATERAL (SELECT true AS found FROM wallets w WHERE w.id = named.wallet_id
                       LIMIT 1) AS wallet ON true
    WHERE wallet.found IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'an entry names a missing wallet %', bad.wallet_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER entries_balanced AFTER INSERT ON entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_check_balanced();

CREATE OR REPLACE FUNCTION journals_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT j.id, entry.found AS has_entries, wallet.found AS has_wallet INTO bad
    FROM new_journals j
    LEFT JOIN LATERAL (SELECT true AS found FROM entries e WHERE e.journal_id = j.id LIMIT 1)
         AS entry ON true
    LEFT JOIN LATERAL (SELECT true AS found FROM wallets w WHERE w.id = j.wallet_id LIMIT 1)
         AS wallet ON true
    LEFT JOIN LATERAL (SELECT true AS found FROM journals r WHERE r.id = j.related_journal_id
                       LIMIT 1) AS related ON true
    WHERE entry.found IS NULL OR wallet.found IS NULL
       OR (j.related_journal_id IS NOT NULL AND related.found IS NULL)
    LIMIT 1;
    IF FOUND AND bad.has_entries IS NULL THEN
        RAISE EXCEPTION 'journal % has no entries', bad.id USING ERRCODE = 'check_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'journal % names a missing %', bad.id,
              CASE WHEN bad.has_wallet IS NULL THEN 'wallet' ELSE 'related journal' END
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER journals_have_entries AFTER INSERT ON journals
    REFERENCING NEW TABLE AS new_journals
    FOR EACH STATEMENT EXECUTE FUNCTION journals_check_entries();

-- A wallet with history is never deleted (its entries would name nothing). Deletes are rare:
-- a row trigger is fine here.
CREATE OR REPLACE FUNCTION wallets_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM entries WHERE wallet_id = OLD.id) THEN
        RAISE EXCEPTION 'wallet % has ledger entries', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE OR REPLACE TRIGGER wallets_keep_history BEFORE DELETE ON wallets
    FOR EACH ROW EXECUTE FUNCTION wallets_keep_history();

-- ---------------------------------------------------------------------------------------------
-- System wallets: the books' own accounts per kind and currency. Each is spread over
-- system_wallet_shards() rows so that concurrent batches (deposits all touch EXTERNAL) do not
-- queue on one hot row; its balance is the sum of its shards.
CREATE OR REPLACE FUNCTION system_wallet_shards() RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN 16;
END $$;

-- Create the shards of each (kind, currency) pair that does not have them all yet.
CREATE OR REPLACE FUNCTION system_wallets_ensure(p_kinds text[], p_currencies text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Runs on every batch that touches a system wallet: each shard is one probe of
    -- wallets_system_shard (kind <> 'USER' and a char(3) currency let the planner use it).
    INSERT INTO wallets (id, owner_id, currency, kind, shard)
    SELECT uuid_v7(), 'system:' || lower(pair.kind), pair.currency, pair.kind, shard.n
    FROM (SELECT DISTINCT kind, currency::char(3) AS currency
          FROM unnest(p_kinds, p_currencies) AS p(kind, currency)) AS pair
    CROSS JOIN generate_series(0, system_wallet_shards() - 1) AS shard(n)
    LEFT JOIN LATERAL (
        SELECT true AS found FROM wallets w
        WHERE w.kind <> 'USER' AND w.kind = pair.kind AND w.currency = pair.currency
          AND w.shard = shard.n
        LIMIT 1) AS existing ON true
    WHERE existing.found IS NULL
    ON CONFLICT DO NOTHING;
END $$;

-- The first shard of a system wallet, created the first time it is needed: for callers that
-- write to a system wallet outside the engine (an adjustment's SUSPENSE side).
CREATE OR REPLACE FUNCTION system_wallet_id(p_kind text, p_currency char(3)) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    found_id uuid;
BEGIN
    SELECT id INTO found_id FROM wallets
    WHERE kind <> 'USER' AND kind = p_kind AND currency = p_currency AND shard = 0;
    IF found_id IS NULL THEN
        PERFORM system_wallets_ensure(ARRAY[p_kind], ARRAY[p_currency::text]);
        SELECT id INTO found_id FROM wallets
        WHERE kind <> 'USER' AND kind = p_kind AND currency = p_currency AND shard = 0;
    END IF;
    RETURN found_id;
END $$;

-- ---------------------------------------------------------------------------------------------
-- The per-wallet hash chain: each entry's hash covers the previous entry's hash, the entry and
-- its journal, so editing, inserting or removing an entry breaks it. The engine computes it in
-- the batch from the chain head kept on the (locked) wallet row.
-- The text hashed is the entry's fields, then its journal's, '|'-separated: entry_hash_bytes ||
-- journal_hash_bytes. The engine renders a journal's part once for all of its entries, from
-- the values it holds, instead of once per entry from composite rows built for the call: that
-- took 30-55 of the 112 ms its in-memory pass spent on a batch of 1,000 transfers. The bytes
-- are the first definition's (tests/audit/test_verify.py holds them to a fixed digest).
CREATE OR REPLACE FUNCTION entry_hash_bytes(
    p_id bigint, p_journal_id uuid, p_wallet_id uuid, p_currency char(3), p_amount bigint,
    p_balance_before bigint, p_balance_after bigint, p_held_before bigint, p_held_after bigint,
    p_created_at timestamptz
) RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$  -- inlined (common.sql)
    SELECT convert_to(format('%s|%s|%s|%L|%s|%s|%s|%s|%s|%s',
            p_id, p_journal_id, p_wallet_id, p_currency, p_amount, p_balance_before,
            p_balance_after, p_held_before, p_held_after, epoch_us(p_created_at)), 'UTF8')
$$;

CREATE OR REPLACE FUNCTION journal_hash_bytes(
    p_type text, p_status text, p_wallet_id uuid, p_amount bigint, p_currency char(3),
    p_reference_id text, p_category text, p_metadata jsonb, p_hold_id uuid,
    p_related_journal_id uuid, p_trace_id text, p_created_at timestamptz
) RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$  -- inlined (common.sql)
    SELECT convert_to(format('|%L|%L|%s|%s|%L|%L|%L|%L|%L|%L|%L|%s',
            p_type, p_status, p_wallet_id, p_amount, p_currency, p_reference_id, p_category,
            p_metadata::text, p_hold_id, p_related_journal_id, p_trace_id,
            epoch_us(p_created_at)), 'UTF8')
$$;

-- A journal's trace id: text, or a W3C trace id kept as the 16 bytes it spells
-- (migrations/0023), read back as the same 32 lowercase hex digits. The engine splits what it
-- writes with the two after it. SQL, not STRICT (a CASE is not): inlined.
CREATE OR REPLACE FUNCTION journal_trace_id(p_text text, p_compact uuid) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_text, replace(p_compact::text, '-', ''))
$$;

CREATE OR REPLACE FUNCTION journal_compact_trace(p_trace_id text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_trace_id ~ '^[0-9a-f]{32}$' THEN p_trace_id::uuid END
$$;

CREATE OR REPLACE FUNCTION journal_text_trace(p_trace_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN journal_compact_trace(p_trace_id) IS NULL THEN p_trace_id END
$$;

-- What an entry keeps of its hash is the digest's first 16 bytes (migrations/0019 made room):
-- a forgery still needs a second preimage of a 128-bit truncation of SHA-256, and the chain
-- has no secret in it anyway (whoever can rewrite entries can rewrite their hashes; what the
-- chain catches is an edit, insertion or removal that did not), so 16 bytes more on every
-- entry bought nothing. Entries written before keep all 32, and are checked on all 32.
CREATE OR REPLACE FUNCTION entry_kept_hash(p_digest bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$  -- inlined
    SELECT substring(p_digest FROM 1 FOR 16)
$$;

CREATE OR REPLACE FUNCTION entry_hash_matches(p_kept bytea, p_digest bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(length(p_kept) IN (16, 32)
                    AND substring(p_digest FROM 1 FOR length(p_kept)) = p_kept, false)
$$;

-- The whole digest (what a kept hash is cut from, or all of it on an entry written before).
CREATE OR REPLACE FUNCTION entry_row_hash(prev bytea, e entries, j journals) RETURNS bytea
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN sha256(prev
        || entry_hash_bytes(e.id, e.journal_id, e.wallet_id, e.currency, e.amount,
                            e.balance_before, e.balance_after, e.held_before, e.held_after,
                            e.created_at)
        || journal_hash_bytes(j.type, j.status, j.wallet_id, j.amount, j.currency,
                              j.reference_id, j.category, j.metadata, j.hold_id,
                              j.related_journal_id, journal_trace_id(j.trace_id, j.trace),
                              j.created_at));
END $$;

-- ---------------------------------------------------------------------------------------------
-- A transaction as the API shows it: the one rendering, used for the answer to a posting, its
-- replay, lookups and events. Entries in a fixed order, so a rendering is the same every time.
CREATE OR REPLACE VIEW transaction_documents AS
SELECT j.id, j.wallet_id, json_build_object(
        'id', j.id, 'type', j.type, 'status', j.status,
        'amount', j.amount, 'currency', j.currency, 'wallet_id', j.wallet_id,
        'entries', (SELECT json_agg(json_build_object(
                               'wallet_id', e.wallet_id, 'amount', e.amount,
                               'balance_before', e.balance_before, 'balance_after', e.balance_after,
                               'held_before', e.held_before, 'held_after', e.held_after)
                           ORDER BY e.amount, e.wallet_id)
                    FROM entries e WHERE e.journal_id = j.id),
        'reference_id', j.reference_id, 'category', j.category, 'metadata', j.metadata,
        'hold_id', j.hold_id, 'related_transaction_id', j.related_journal_id,
        'trace_id', journal_trace_id(j.trace_id, j.trace),
        'created_at', json_time(j.created_at))::text AS body,
       journal_trace_id(j.trace_id, j.trace) AS trace_id
FROM journals j;

-- ---------------------------------------------------------------------------------------------
-- A leg, by field name: a wallet by id, or (no id) the system wallet of a kind in the
-- posting's currency; amount and held_delta are signed changes.
-- promotional (user wallets): how much of a credit is promotional credit (a grant, a refund of
-- promotional spending), or how much promotional credit a debit takes (expiry); NULL lets the
-- engine decide: outgoing money spends promotional credit first, except cash-only postings.
CREATE OR REPLACE FUNCTION ledger_leg_of(
    p_wallet_id uuid DEFAULT NULL, p_system_kind text DEFAULT NULL, p_amount bigint DEFAULT 0,
    p_held_delta bigint DEFAULT 0, p_promotional bigint DEFAULT NULL
) RETURNS ledger_leg LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    leg ledger_leg;
BEGIN
    leg.wallet_id := p_wallet_id;
    leg.system_kind := p_system_kind;
    leg.amount := p_amount;
    leg.held_delta := p_held_delta;
    leg.promotional := p_promotional;
    RETURN leg;
END $$;

-- ---------------------------------------------------------------------------------------------
-- The engine. p_postings in order; one result per posting, in the same order.
-- No JIT inside: its statements are short, and compiling them cost more than running them.
-- Generic plans: with the batch's arrays as parameters PostgreSQL kept planning each of the
-- function's statements afresh on every call (a custom plan looked cheaper than the generic
-- one), about 1.4 ms a call, half of a one-posting call. Its statements probe indexes per row
-- of the batch whatever its size (LATERAL ... LIMIT 1), so the generic plans are the same
-- plans: batches of 1,000 took as long (220 against 225 ms), batches of 1 to 32 less.
-- No sequential scans: a generic plan is kept for the connection's life, and one made while
-- a table was empty after a vacuum (the outbox, once pruned) scanned it whole for every wallet
-- as it grew again. After generating a history, the first posting run went at 1,100-1,400
-- transfers/s against 2,500-2,900 (bench/lookups.py): the feed probe on an empty outbox had
-- been planned as a seq scan. Every statement here finds its rows through an index.
-- p_render false: a posting posted now answers with no body (its caller knows its journal id
-- and renders it after commit: a bulk batch, whose 1,000 renderings took 12 ms while its
-- wallets stayed locked); replays and refusals answer as ever.
-- (Before p_render, the function had only p_postings: that signature goes, or a call naming
-- p_postings alone would match both.)
DROP FUNCTION IF EXISTS ledger_post(ledger_posting[]);
CREATE OR REPLACE FUNCTION ledger_post(p_postings ledger_posting[], p_render boolean DEFAULT true)
RETURNS SETOF ledger_result LANGUAGE plpgsql
SET jit = off SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
    n             integer := coalesce(cardinality(p_postings), 0);
    created       timestamptz := now();
    own_xid       xid8;
    -- per posting: the decision, and what answers it (a journal to render, or a stored body)
    decision       text[];
    answer_status        integer[];
    answer_journal uuid[];
    answer_body   text[];
    key_digest    bytea[];  -- each posting's fingerprint as its key record keeps it
    -- the batch's wallets, locked: one slot each (user wallets by id, then system shards)
    w_id          uuid[];
    w_kind        text[];
    w_currency    text[];
    w_owner       text[];
    w_status      text[];
    w_balance     bigint[];
    w_held        bigint[];
    w_credit      bigint[];  -- how far below zero available may go (credit_limit)
    w_promo       bigint[];  -- the promotional part of balance
    w_version     bigint[];
    w_head        bytea[];
    w_updated     timestamptz[];  -- when the wallet last changed: its last entry's time or later
    w_feed        xid8[];
    w_touched     boolean[];
    named         integer;   -- how many slots are named wallets (the rest are shards)
    pair_kinds    text[];
    pair_currencies text[];
    entry_ids     bigint[];
    entries_wanted bigint;
    id_block      bigint;    -- how many ids one nextval of the entry sequence reserves
    id_blocks     bigint[];
    entry_sequence text;
    addressed_slots integer[];  -- per posting: the slot of the wallet it addresses
    leg_slots     integer[];    -- per leg of the new postings, in order: its wallet's slot
    leg_count     integer := 0;
    -- rows to write, column by column: what the pass computes (the rest of a journal, an
    -- event or a key record is its posting's, read from p_postings when they are written)
    posted_times  timestamptz[];  -- per posting: its journal's time, when it was posted
    en_id bigint[] := '{}'; en_journal uuid[] := '{}'; en_wallet uuid[] := '{}';
    en_currency text[] := '{}'; en_amount bigint[] := '{}'; en_balance_before bigint[] := '{}';
    en_balance_after bigint[] := '{}'; en_held_before bigint[] := '{}';
    en_held_after bigint[] := '{}'; en_hash bytea[] := '{}';
    en_promo bigint[] := '{}'; en_created timestamptz[] := '{}';
    -- promotional money spent, in posting order: spread over grants after the pass
    use_wallet uuid[] := '{}'; use_journal uuid[] := '{}'; use_amount bigint[] := '{}';
    uses_count integer := 0;
    -- promotional money a refund gives back: to the grants its original spent from
    back_journal uuid[] := '{}'; back_amount bigint[] := '{}';
    backs_count integer := 0;
    ev_posting integer[] := '{}'; ev_wallet uuid[] := '{}'; ev_sequence bigint[] := '{}';
    ev_feed xid8[] := '{}';
    journals_count integer := 0;
    entries_count  integer := 0;
    events_count   integer := 0;
    refused_count  integer := 0;
    -- one posting at a time
    p             ledger_posting;
    this_leg           ledger_leg;
    this_journal  uuid;
    this_metadata jsonb;
    this_journal_bytes bytea;  -- the journal's part of its entries' hashes
    this_entry    bigint;
    this_balance_after bigint;
    this_held_after bigint;
    this_hash     bytea;
    i             integer;
    idx             integer;
    addressed     integer;
    this_slot          integer;
    posting_currency      text;
    slots         integer[];
    deltas        bigint[];
    held_deltas   bigint[];
    promo_asks    bigint[];  -- per wallet: the legs' promotional (see ledger_leg_of)
    promo_deltas  bigint[];  -- per wallet: the decided change of its promotional part
    slot_currencies text[];  -- per wallet: the currency its legs are in
    leg_currency  text;
    cash_only     boolean;
    missing       boolean;
    refusal       text;
    refusal_status integer;
    refusal_slot  integer;
    posted_at     timestamptz;
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;

    -- 1. Idempotency keys: take each key's lock (a later twin in the batch, or a key another
    --    transaction holds, is 'in use'); then, under the locks, look for earlier answers.
    SELECT array_agg(CASE
               WHEN q.idempotency_key IS NULL THEN 'new'
               WHEN q.twin > 1 THEN 'idempotency_key_in_use'
               WHEN pg_try_advisory_xact_lock(idempotency_lock_key(q.caller, q.idempotency_key))
                   THEN 'new'
               ELSE 'idempotency_key_in_use' END ORDER BY q.ordinality)
      INTO decision
      FROM (SELECT x.caller, x.idempotency_key, x.ordinality,
                   row_number() OVER (PARTITION BY x.caller, x.idempotency_key
                                      ORDER BY x.ordinality) AS twin
            FROM unnest(p_postings) WITH ORDINALITY AS x) AS q;

    -- The arrays in the order of the rows below, sorted once for all of them: an aggregate's
    -- own ORDER BY sorts its input again for each aggregate (PostgreSQL 15), here five sorts
    -- of the batch, and thirteen of its wallets in step 2 (with them each step took 18-25 ms
    -- of a batch of 1,000, without 13-16). The aggregates of one query read the same rows in
    -- the same order, so the arrays stay aligned whatever it is; the sorted subquery below
    -- makes it posting order.
    SELECT array_agg(d.outcome), array_agg(d.status), array_agg(d.journal), array_agg(d.body),
           array_agg(d.digest)
      INTO decision, answer_status, answer_journal, answer_body, key_digest
      FROM (SELECT x.ordinality AS n, f.digest,
                   CASE WHEN prior.caller IS NULL THEN o.outcome
                        WHEN NOT kept.same_request THEN 'idempotency_key_reused'
                        ELSE 'replayed' END AS outcome,
                   CASE WHEN o.outcome = 'idempotency_key_in_use' THEN 409
                        WHEN prior.caller IS NULL THEN NULL
                        WHEN NOT kept.same_request THEN 422
                        ELSE idempotency_status(prior.status_code) END AS status,
                   CASE WHEN kept.same_request THEN prior.journal_id END AS journal,
                   CASE WHEN kept.same_request THEN prior.response_body END AS body
            FROM unnest(p_postings) WITH ORDINALITY AS x
            JOIN unnest(decision) WITH ORDINALITY AS o(outcome, n) ON o.n = x.ordinality
            -- A posting with no key of its own (a bulk batch's item: the batch's key covers
            -- it) has no record to find or keep: neither a digest nor a probe (4 of the 5 ms
            -- this step took for a batch of 1,000 such items).
            CROSS JOIN LATERAL (SELECT CASE WHEN x.idempotency_key IS NOT NULL
                                            THEN idempotency_digest(x.fingerprint) END AS digest)
                 AS f
            LEFT JOIN LATERAL (  -- one index probe per key (LIMIT: never a hash of the table)
                SELECT * FROM idempotency_keys k
                WHERE o.outcome = 'new' AND x.idempotency_key IS NOT NULL
                  AND idempotency_scope(k.caller, k.key)
                      = idempotency_scope(x.caller, x.idempotency_key)
                  AND k.caller = x.caller AND k.key = x.idempotency_key
                LIMIT 1) AS prior ON true
            CROSS JOIN LATERAL (
                SELECT idempotency_matches(prior.fingerprint, f.digest) AS same_request) AS kept
            ORDER BY x.ordinality
           ) AS d;

    -- 2. Lock every wallet the batch names, once, in id order: batches never wait on each
    --    other in a cycle. FOR UPDATE returns each row as its last writer committed it.
    --    The slots are in id order, the order the rows are locked and read in (see step 1).
    SELECT array_agg(w.id), array_agg(w.kind), array_agg(w.currency), array_agg(w.owner_id),
           array_agg(w.status), array_agg(w.balance), array_agg(w.held), array_agg(w.version),
           array_agg(w.chain_head), array_agg(w.credit_limit), array_agg(w.promotional),
           array_agg(w.updated_at), array_agg(w.feed_xid)
      INTO w_id, w_kind, w_currency, w_owner, w_status, w_balance, w_held, w_version, w_head,
           w_credit, w_promo, w_updated, w_feed
      FROM (SELECT * FROM wallets WHERE id IN (
                SELECT x.wallet_id FROM unnest(p_postings) WITH ORDINALITY AS x
                WHERE decision[x.ordinality] = 'new'
                UNION
                SELECT leg.wallet_id FROM unnest(p_postings) WITH ORDINALITY AS x
                CROSS JOIN LATERAL unnest(x.legs) AS leg
                WHERE decision[x.ordinality] = 'new' AND leg.wallet_id IS NOT NULL)
            ORDER BY id FOR UPDATE) AS w;
    named := coalesce(cardinality(w_id), 0);

    -- 3. One shard of each system wallet the batch needs, preferring this connection's own and
    --    never waiting while another is free (locks that are skipped can't form a cycle).
    SELECT array_agg(pair.kind), array_agg(pair.currency)
      INTO pair_kinds, pair_currencies
      FROM (SELECT DISTINCT leg.system_kind AS kind, coalesce(leg.currency, w.currency) AS currency
            FROM unnest(p_postings) WITH ORDINALITY AS x
            CROSS JOIN LATERAL unnest(x.legs) AS leg
            JOIN unnest(w_id, w_currency) AS w(id, currency) ON w.id = x.wallet_id
            WHERE decision[x.ordinality] = 'new' AND leg.system_kind IS NOT NULL) AS pair;
    IF pair_kinds IS NOT NULL THEN
        PERFORM system_wallets_ensure(pair_kinds, pair_currencies);
        WITH chosen AS (
            SELECT s.* FROM unnest(pair_kinds, pair_currencies) AS pair(kind, currency)
            CROSS JOIN LATERAL (
                SELECT * FROM wallets sw
                WHERE sw.kind <> 'USER' AND sw.kind = pair.kind
                  AND sw.currency = pair.currency::char(3)
                ORDER BY (sw.shard + pg_backend_pid()) % system_wallet_shards()
                LIMIT 1 FOR UPDATE SKIP LOCKED) AS s
        ), waited AS (  -- every shard busy: queue for this connection's own
            SELECT s.* FROM unnest(pair_kinds, pair_currencies) AS pair(kind, currency)
            CROSS JOIN LATERAL (
                SELECT * FROM wallets sw
                WHERE sw.kind <> 'USER' AND sw.kind = pair.kind
                  AND sw.currency = pair.currency::char(3)
                  AND sw.shard = pg_backend_pid() % system_wallet_shards()
                  AND NOT EXISTS (SELECT 1 FROM chosen c
                                  WHERE c.kind = pair.kind AND c.currency = pair.currency)
                FOR UPDATE) AS s
        ), shards AS (SELECT * FROM chosen UNION ALL SELECT * FROM waited)
        SELECT w_id || array_agg(shards.id), w_kind || array_agg(shards.kind),
               w_currency || array_agg(shards.currency::text),
               w_owner || array_agg(shards.owner_id), w_status || array_agg(shards.status),
               w_balance || array_agg(shards.balance), w_held || array_agg(shards.held),
               w_version || array_agg(shards.version), w_head || array_agg(shards.chain_head),
               w_credit || array_agg(shards.credit_limit), w_promo || array_agg(shards.promotional),
               w_updated || array_agg(shards.updated_at), w_feed || array_agg(shards.feed_xid)
          INTO w_id, w_kind, w_currency, w_owner, w_status, w_balance, w_held, w_version, w_head,
               w_credit, w_promo, w_updated, w_feed
          FROM shards;
    END IF;
    IF w_id IS NULL THEN
        w_id := '{}';
    END IF;

    -- 4. What the in-memory pass needs besides the rows (each wallet's latest feed position
    --    is on its locked row, migrations/0015): the wallets' slots, and entry ids for the most
    --    entries the batch could write (unused ones are gaps, as usual).
    w_touched := array_fill(false, ARRAY[cardinality(w_id)]);
    posted_times := array_fill(NULL::timestamptz, ARRAY[n]);
    own_xid := pg_current_xact_id();

    -- Each posting's addressed wallet and each leg's wallet as a slot, joined once for the
    -- batch (a hash join), so the pass below never searches the arrays.
    SELECT array_agg(a.slot ORDER BY x.ordinality) INTO addressed_slots
      FROM unnest(p_postings) WITH ORDINALITY AS x
      LEFT JOIN unnest(w_id) WITH ORDINALITY AS a(id, slot)
             ON a.id = x.wallet_id AND a.slot <= named;
    SELECT array_agg(coalesce(by_id.slot, by_kind.slot) ORDER BY x.ordinality, leg.ordinality)
      INTO leg_slots
      FROM unnest(p_postings) WITH ORDINALITY AS x
      CROSS JOIN LATERAL unnest(x.legs) WITH ORDINALITY AS leg
      LEFT JOIN unnest(w_id) WITH ORDINALITY AS a(id, slot)
             ON a.id = x.wallet_id AND a.slot <= named
      LEFT JOIN unnest(w_id) WITH ORDINALITY AS by_id(id, slot)
             ON by_id.id = leg.wallet_id AND by_id.slot <= named
      LEFT JOIN unnest(w_kind, w_currency) WITH ORDINALITY AS by_kind(kind, currency, slot)
             ON leg.wallet_id IS NULL AND by_kind.slot > named
            AND by_kind.kind = leg.system_kind
            AND by_kind.currency = coalesce(leg.currency, w_currency[a.slot])
      WHERE decision[x.ordinality] = 'new';
    -- Entry ids come in blocks, one nextval each (the sequence steps by the block's size,
    -- migrations/0014), in entry order: a wallet's later entries in the batch get higher ids.
    -- One per leg of the new postings, as leg_slots has.
    entries_wanted := coalesce(cardinality(leg_slots), 0);
    entry_sequence := pg_get_serial_sequence('entries', 'id');
    SELECT seqincrement INTO id_block FROM pg_sequence WHERE seqrelid = entry_sequence::regclass;
    SELECT array_agg(nextval(entry_sequence)) INTO id_blocks
      FROM generate_series(1, (entries_wanted + id_block - 1) / id_block);
    SELECT array_agg(id_blocks[k.k / id_block + 1] + k.k % id_block ORDER BY k.k) INTO entry_ids
      FROM generate_series(0, entries_wanted - 1) AS k(k);

    -- 5. Decide each posting in order, on the running balances.
    FOR i IN 1..n LOOP
        CONTINUE WHEN decision[i] <> 'new';
        p := p_postings[i];
        addressed := addressed_slots[i];
        IF addressed IS NULL OR w_kind[addressed] <> 'USER'
           OR (p.required_owner IS NOT NULL AND w_owner[addressed] <> p.required_owner) THEN
            decision[i] := 'wallet_not_found';
            answer_status[i] := 404;
            leg_count := leg_count + cardinality(p.legs);  -- keep leg_slots aligned
            CONTINUE;
        END IF;
        posting_currency := w_currency[addressed];

        -- The posting's wallets and the net change of each.
        slots := '{}';
        deltas := '{}';
        held_deltas := '{}';
        promo_asks := '{}';
        promo_deltas := '{}';
        slot_currencies := '{}';
        -- Promotional credit never leaves as cash, goes to another owner or is exchanged.
        cash_only := p.journal_type IN ('WITHDRAW', 'FX_TRANSFER', 'PAYOUT');
        missing := false;
        refusal := NULL;
        refusal_slot := NULL;
        FOREACH this_leg IN ARRAY p.legs LOOP
            leg_count := leg_count + 1;
            this_slot := leg_slots[leg_count];
            -- A leg is in the posting's currency unless it says otherwise (an exchange's
            -- other side); double entry holds per currency.
            leg_currency := coalesce(this_leg.currency, posting_currency);
            IF this_leg.wallet_id IS NOT NULL THEN
                IF this_slot IS NULL THEN
                    missing := true;
                    CONTINUE;
                END IF;
                -- System wallets are reached by kind only; naming one by id finds nothing.
                IF w_kind[this_slot] <> 'USER' THEN
                    refusal := 'wallet_not_found';
                    refusal_status := 404;
                    refusal_slot := 0;
                END IF;
            END IF;
            idx := array_position(slots, this_slot);
            IF idx IS NULL THEN
                slots := slots || this_slot;
                deltas := deltas || this_leg.amount;
                held_deltas := held_deltas || this_leg.held_delta;
                promo_asks := promo_asks || coalesce(this_leg.promotional, 0);
                promo_deltas := promo_deltas || 0::bigint;
                slot_currencies := slot_currencies || leg_currency;
            ELSE
                deltas[idx] := deltas[idx] + this_leg.amount;
                held_deltas[idx] := held_deltas[idx] + this_leg.held_delta;
                promo_asks[idx] := promo_asks[idx] + coalesce(this_leg.promotional, 0);
            END IF;
            IF p.journal_type = 'TRANSFER' AND this_slot IS NOT NULL
               AND w_kind[this_slot] = 'USER' AND w_owner[this_slot] <> w_owner[addressed] THEN
                cash_only := true;
            END IF;
        END LOOP;

        -- Checks, wallet by wallet; the first in id order decides, as it always has.
        FOR idx IN 1..coalesce(cardinality(slots), 0) LOOP
            this_slot := slots[idx];
            CONTINUE WHEN refusal_slot IS NOT NULL AND refusal_slot <= this_slot;
            IF w_currency[this_slot] <> slot_currencies[idx] THEN
                refusal := 'currency_mismatch'; refusal_status := 422; refusal_slot := this_slot;
            -- BIGINT holds every balance: refuse what would not fit rather than fail mid-write.
            ELSIF w_balance[this_slot]::numeric + deltas[idx]
                      NOT BETWEEN -9223372036854775808 AND 9223372036854775807
                  OR w_held[this_slot]::numeric + held_deltas[idx] > 9223372036854775807 THEN
                refusal := 'amount_out_of_range'; refusal_status := 422; refusal_slot := this_slot;
            ELSIF w_kind[this_slot] = 'USER' THEN
                -- Money may leave (or be reserved in) an ACTIVE wallet only; a FROZEN one
                -- still receives and releases; a CLOSED one does nothing.
                IF w_status[this_slot] = 'CLOSED'
                   OR (w_status[this_slot] <> 'ACTIVE' AND (deltas[idx] < 0 OR held_deltas[idx] > 0)) THEN
                    refusal := 'wallet_not_active'; refusal_status := 409; refusal_slot := this_slot;
                -- Available may go down to -credit_limit (0 unless an admin set one).
                ELSIF (deltas[idx] < 0 OR held_deltas[idx] > 0)
                      AND w_balance[this_slot] + deltas[idx] - (w_held[this_slot] + held_deltas[idx])
                          < -w_credit[this_slot] THEN
                    refusal := 'insufficient_funds'; refusal_status := 422; refusal_slot := this_slot;
                -- Cash only: what is left after it must still cover the promotional part
                -- (within the credit limit), so none of the promotional money left.
                ELSIF cash_only AND deltas[idx] < 0
                      AND w_balance[this_slot] + deltas[idx] - w_promo[this_slot]
                          < -w_credit[this_slot] THEN
                    refusal := 'insufficient_withdrawable_funds'; refusal_status := 422;
                    refusal_slot := this_slot;
                -- The promotional part: asked for explicitly (a grant or a refund adds, an
                -- expiry takes), else spent first by any other outgoing money.
                ELSIF promo_asks[idx] <> 0 THEN
                    IF w_promo[this_slot] + promo_asks[idx] < 0
                       OR (promo_asks[idx] > 0 AND promo_asks[idx] > deltas[idx])
                       OR (promo_asks[idx] < 0 AND promo_asks[idx] < deltas[idx]) THEN
                        refusal := 'insufficient_funds'; refusal_status := 422;
                        refusal_slot := this_slot;
                    ELSE
                        promo_deltas[idx] := promo_asks[idx];
                    END IF;
                ELSIF deltas[idx] < 0 AND NOT cash_only THEN
                    promo_deltas[idx] := -least(w_promo[this_slot], -deltas[idx]);
                END IF;
            END IF;
        END LOOP;
        IF refusal IS NULL AND missing THEN
            refusal := 'wallet_not_found';
            refusal_status := 404;
        END IF;
        IF refusal IS NOT NULL THEN
            decision[i] := refusal;
            answer_status[i] := refusal_status;
            refused_count := refused_count + 1;
            CONTINUE;
        END IF;

        -- Accepted: the journal, one entry per wallet (chained), one event per user wallet.
        -- Its time is the transaction's, or just after the latest change of any of its
        -- wallets if that is later (a batch that started first can take a wallet's lock after
        -- one that started later, and a batch posts to a wallet more than once): each
        -- wallet's entries are in strict time order along its chain, so its balance at an
        -- instant is that of its last entry up to then.
        posted_at := created;
        FOR idx IN 1..cardinality(slots) LOOP
            posted_at := greatest(posted_at, w_updated[slots[idx]] + interval '1 microsecond');
        END LOOP;
        this_journal := p.journal_id;
        this_metadata := coalesce(p.metadata, '{}');
        journals_count := journals_count + 1;
        posted_times[i] := posted_at;
        -- The journal's part of each entry's hash (entry_row_hash), rendered once for all.
        this_journal_bytes := journal_hash_bytes(
            p.journal_type, 'POSTED', p.wallet_id, p.amount, posting_currency, p.reference_id,
            p.category, this_metadata, p.hold_id, p.related_journal_id, p.trace_id, posted_at);

        FOR idx IN 1..cardinality(slots) LOOP
            this_slot := slots[idx];
            entries_count := entries_count + 1;
            this_entry := entry_ids[entries_count];
            this_balance_after := w_balance[this_slot] + deltas[idx];
            this_held_after := w_held[this_slot] + held_deltas[idx];
            this_hash := entry_kept_hash(sha256(coalesce(w_head[this_slot], '\x'::bytea)
                || entry_hash_bytes(this_entry, this_journal, w_id[this_slot], w_currency[this_slot],
                                    deltas[idx], w_balance[this_slot], this_balance_after,
                                    w_held[this_slot], this_held_after, posted_at)
                || this_journal_bytes));
            en_promo[entries_count] := promo_deltas[idx];
            IF promo_deltas[idx] < 0 THEN
                uses_count := uses_count + 1;
                use_wallet[uses_count] := w_id[this_slot];
                use_journal[uses_count] := this_journal;
                use_amount[uses_count] := -promo_deltas[idx];
            END IF;
            IF promo_deltas[idx] > 0 AND p.journal_type = 'REFUND' THEN
                backs_count := backs_count + 1;
                back_journal[backs_count] := p.related_journal_id;
                back_amount[backs_count] := promo_deltas[idx];
            END IF;
            w_promo[this_slot] := w_promo[this_slot] + promo_deltas[idx];
            en_id[entries_count] := this_entry;
            en_journal[entries_count] := this_journal;
            en_wallet[entries_count] := w_id[this_slot];
            en_currency[entries_count] := w_currency[this_slot];
            en_amount[entries_count] := deltas[idx];
            en_balance_before[entries_count] := w_balance[this_slot];
            en_balance_after[entries_count] := this_balance_after;
            en_held_before[entries_count] := w_held[this_slot];
            en_held_after[entries_count] := this_held_after;
            en_hash[entries_count] := this_hash;
            en_created[entries_count] := posted_at;
            w_balance[this_slot] := this_balance_after;
            w_held[this_slot] := this_held_after;
            w_version[this_slot] := w_version[this_slot] + 1;
            w_head[this_slot] := this_hash;
            w_updated[this_slot] := posted_at;
            w_touched[this_slot] := true;
            IF w_kind[this_slot] = 'USER' THEN
                -- The feed position never goes below the wallet's previous event's, so a
                -- wallet's events stay in sequence order in the feed (see outbox.sql).
                w_feed[this_slot] := greatest(own_xid, w_feed[this_slot]);
                events_count := events_count + 1;
                ev_posting[events_count] := i;
                ev_wallet[events_count] := w_id[this_slot];
                ev_sequence[events_count] := w_version[this_slot];
                ev_feed[events_count] := w_feed[this_slot];
            END IF;
        END LOOP;
        decision[i] := 'posted';
        answer_status[i] := 201;
        answer_journal[i] := this_journal;
    END LOOP;

    -- 6. Write: one statement per table (a journal and its entries in the same one).
    IF journals_count > 0 THEN
        WITH written_journals AS (
            INSERT INTO journals (id, type, wallet_id, amount, currency, reference_id, category,
                                  metadata, hold_id, related_journal_id, trace_id, trace,
                                  actor, client_address, created_at)
            SELECT x.journal_id, x.journal_type, x.wallet_id, x.amount,
                   w_currency[addressed_slots[x.ordinality]], x.reference_id, x.category,
                   coalesce(x.metadata, '{}'),  -- as its hash has it (this_metadata)
                   x.hold_id, x.related_journal_id, journal_text_trace(x.trace_id),
                   journal_compact_trace(x.trace_id), x.caller, x.client_address,
                   posted_times[x.ordinality]
            FROM unnest(p_postings) WITH ORDINALITY AS x
            WHERE decision[x.ordinality] = 'posted'
        )
        INSERT INTO entries (id, journal_id, wallet_id, currency, amount, balance_before,
                             balance_after, held_before, held_after, row_hash,
                             promotional, created_at)
        OVERRIDING SYSTEM VALUE
        SELECT u.*
        FROM unnest(en_id, en_journal, en_wallet, en_currency, en_amount, en_balance_before,
                    en_balance_after, en_held_before, en_held_after, en_hash,
                    en_promo, en_created) AS u;

        UPDATE wallets SET balance = u.balance, held = u.held, version = u.version,
                           chain_head = u.head, promotional = u.promo, updated_at = u.updated,
                           feed_xid = u.feed
        FROM unnest(w_id, w_balance, w_held, w_version, w_head, w_touched, w_promo, w_updated,
                    w_feed)
             AS u(id, balance, held, version, head, touched, promo, updated, feed)
        WHERE wallets.id = u.id AND u.touched;
    END IF;
    -- Promotional spending comes out of the wallet's grants soonest-expiring first: each
    -- wallet's spendings in batch order, laid end to end, against its grants laid end to end
    -- in that order; where the two overlap is what a journal took from a grant. (Grants are
    -- only ever added by postings made alone, so the batch's grants are all in the table.)
    IF uses_count > 0 THEN
        WITH spent AS (
            SELECT u.wallet, u.journal, u.amount,
                   sum(u.amount) OVER (PARTITION BY u.wallet ORDER BY u.n) AS upto
            FROM unnest(use_wallet, use_journal, use_amount) WITH ORDINALITY
                 AS u(wallet, journal, amount, n)
        ), pool AS (
            SELECT g.id, g.wallet_id, g.remaining,
                   sum(g.remaining) OVER (PARTITION BY g.wallet_id
                                          ORDER BY g.expires_at, g.id) AS upto
            FROM credit_grants g
            WHERE g.wallet_id IN (SELECT DISTINCT unnest(use_wallet)) AND g.status = 'ACTIVE'
              AND g.remaining > 0
        ), taken AS (
            SELECT s.journal, gp.id AS grant_id,
                   least(s.upto, gp.upto) - greatest(s.upto - s.amount, gp.upto - gp.remaining)
                       AS amount
            FROM spent s JOIN pool gp ON gp.wallet_id = s.wallet
            WHERE least(s.upto, gp.upto) > greatest(s.upto - s.amount, gp.upto - gp.remaining)
        ), recorded AS (
            INSERT INTO credit_grant_uses (journal_id, grant_id, amount)
            SELECT journal, grant_id, amount FROM taken
        )
        UPDATE credit_grants g
           SET remaining = g.remaining - t.amount,
               status = CASE WHEN g.remaining > t.amount THEN 'ACTIVE'
                             WHEN g.expires_at <= created THEN 'EXPIRED' ELSE 'SPENT' END,
               updated_at = created
          FROM (SELECT grant_id, sum(amount) AS amount FROM taken GROUP BY grant_id) t
         WHERE g.id = t.grant_id;
    END IF;
    -- A refund's promotional part goes back to the grants the original spent from that are
    -- still live, latest-expiring first (refunds.sql decided how much may: the rest of it
    -- went back to PROMOTIONS as breakage). Same overlap rule as spending.
    IF backs_count > 0 THEN
        WITH back AS (
            SELECT b.journal, b.amount,
                   sum(b.amount) OVER (PARTITION BY b.journal ORDER BY b.n) AS upto
            FROM unnest(back_journal, back_amount) WITH ORDINALITY AS b(journal, amount, n)
        ), room AS (
            SELECT u.journal_id, u.grant_id, u.amount - u.returned AS room,
                   sum(u.amount - u.returned) OVER (PARTITION BY u.journal_id
                                                    ORDER BY g.expires_at DESC, g.id) AS upto
            FROM credit_grant_uses u JOIN credit_grants g ON g.id = u.grant_id
            WHERE u.journal_id IN (SELECT journal FROM back) AND u.returned < u.amount
              AND g.status <> 'EXPIRED' AND g.expires_at > created
        ), given AS (
            SELECT r.journal_id, r.grant_id,
                   least(b.upto, r.upto) - greatest(b.upto - b.amount, r.upto - r.room) AS amount
            FROM back b JOIN room r ON r.journal_id = b.journal
            WHERE least(b.upto, r.upto) > greatest(b.upto - b.amount, r.upto - r.room)
        ), noted AS (
            UPDATE credit_grant_uses u SET returned = u.returned + gv.amount
            FROM given gv WHERE u.journal_id = gv.journal_id AND u.grant_id = gv.grant_id
        )
        UPDATE credit_grants g
           SET remaining = g.remaining + t.amount, status = 'ACTIVE', updated_at = created
          FROM (SELECT grant_id, sum(amount) AS amount FROM given GROUP BY grant_id) t
         WHERE g.id = t.grant_id;
    END IF;
    IF events_count > 0 THEN
        -- No event id, trace id or time: an event's id is derived from its wallet and sequence,
        -- its trace id and time are its journal's (outbox_documents reads them, 0016).
        INSERT INTO outbox (event_type, wallet_id, sequence, journal_id, feed_xid, traceparent,
                            created_at)
        -- Its type only when the journal's does not already say it (outbox.sql); its
        -- traceparent only when it is not its trace id (a traced request without X-Trace-Id
        -- continues it from trace_id: stored_traceparent).
        SELECT nullif((p_postings[u.posting]).event_type,
                      journal_event_type((p_postings[u.posting]).journal_type)),
               u.wallet, u.sequence, (p_postings[u.posting]).journal_id, u.feed,
               nullif((p_postings[u.posting]).traceparent, (p_postings[u.posting]).trace_id),
               NULL::timestamptz
        FROM unnest(ev_posting, ev_wallet, ev_sequence, ev_feed)
             AS u(posting, wallet, sequence, feed);
    END IF;
    IF journals_count > 0 THEN
        INSERT INTO idempotency_keys (caller, key, fingerprint, journal_id)  -- 201: implied
        SELECT x.caller, x.idempotency_key, key_digest[x.ordinality], x.journal_id
        FROM unnest(p_postings) WITH ORDINALITY AS x
        WHERE decision[x.ordinality] = 'posted' AND x.idempotency_key IS NOT NULL;
    END IF;
    -- Who tried to move money and was refused (a posted journal records its actor itself).
    IF refused_count > 0 OR 'idempotency_key_in_use' = ANY(decision)
       OR 'idempotency_key_reused' = ANY(decision) THEN
        PERFORM audit_append(jsonb_agg(jsonb_build_object(
                    'actor', x.caller, 'action', 'money.' || lower(x.journal_type),
                    'resource_type', 'wallet', 'resource_id', x.wallet_id, 'outcome', o.outcome,
                    'client_address', x.client_address, 'trace_id', x.trace_id,
                    'details', jsonb_strip_nulls(jsonb_build_object(
                        'amount', x.amount, 'status', o.status, 'hold_id', x.hold_id)))))
        FROM unnest(p_postings) WITH ORDINALITY AS x
        JOIN unnest(decision, answer_status) WITH ORDINALITY AS o(outcome, status, n)
          ON o.n = x.ordinality
        WHERE x.audit_refusal AND o.outcome NOT IN ('posted', 'replayed')
        HAVING count(*) > 0;
    END IF;

    -- 7. The answers, in order: new and replayed transactions rendered the one way.
    RETURN QUERY
    SELECT o.outcome, o.status, coalesce(o.body, d.body)
    FROM unnest(decision, answer_status, answer_journal, answer_body) WITH ORDINALITY
         AS o(outcome, status, journal, body, n)
    LEFT JOIN LATERAL (SELECT t.body FROM transaction_documents t WHERE t.id = o.journal
                         AND (p_render OR o.outcome <> 'posted')
                       LIMIT 1) AS d ON true
    ORDER BY o.n;
END $$;

-- One posting alone (the hold and refund functions): its result.
CREATE OR REPLACE FUNCTION ledger_post_one(p ledger_posting) RETURNS ledger_result
LANGUAGE plpgsql AS $$
DECLARE
    result ledger_result;
BEGIN
    SELECT * INTO result FROM ledger_post(ARRAY[p]);
    RETURN result;
END $$;

-- The entry point for the service: postings as a JSON array of objects named like the fields
-- of ledger_posting (and ledger_leg), so a field is added in one place per producer; a field
-- left out is NULL. p_render as for ledger_post (its one-argument form goes, as there).
DROP FUNCTION IF EXISTS ledger_post_json(jsonb);
CREATE OR REPLACE FUNCTION ledger_post_json(p_postings jsonb, p_render boolean DEFAULT true)
RETURNS SETOF ledger_result LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM ledger_post(ARRAY(
        SELECT jsonb_populate_record(NULL::ledger_posting, item.value)
        FROM jsonb_array_elements(p_postings) WITH ORDINALITY AS item(value, n)
        ORDER BY item.n), p_render);
END $$;
