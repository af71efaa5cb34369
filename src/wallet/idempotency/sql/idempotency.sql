-- Idempotency (DESIGN D7): the one preamble and the one epilogue every money function uses.
-- The posting engine (ledger.sql) does the same for a whole batch in set-based statements,
-- with the same rules: an advisory lock per (caller, key) held to commit, so a concurrent twin
-- is told 'in use' instead of waiting; a different fingerprint is 'reused'; otherwise the
-- first answer is replayed.

-- What a record keeps of a request's fingerprint: the first 16 bytes of its SHA-256, so every
-- record spends 17 bytes on it whatever the caller's fingerprint looks like. A caller who
-- reuses a key with another request is told so unless the two collide on 128 bits, which
-- no honest retry does by chance and which gains a dishonest one nothing but its own first
-- answer back. Records written before (migrations/0013 to 0018) keep all 32 bytes; their
-- first 16 are the same digest's. SQL and STABLE, as convert_to is, so the planner inlines
-- them: declared IMMUTABLE over a STABLE body, the digest ran as a function call of its own,
-- several times per posting (3,000 calls for a batch of 1,000).
CREATE OR REPLACE FUNCTION idempotency_digest(p_fingerprint text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT substring(sha256(convert_to(p_fingerprint, 'UTF8')) FROM 1 FOR 16)
$$;

-- Whether a record's kept fingerprint is this digest's (16 bytes, or a 32-byte one's prefix).
CREATE OR REPLACE FUNCTION idempotency_matches(p_kept bytea, p_digest bytea)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT substring(p_kept FROM 1 FOR 16) = p_digest
$$;

-- The one text a key's record is found by: the expression of the hash index that keeps keys
-- unique (migrations/0020), spelled the same so that the planner matches it. The caller's
-- length goes first, so no two (caller, key) pairs make the same text. SQL, so it is inlined.
CREATE OR REPLACE FUNCTION idempotency_scope(p_caller text, p_key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT length(p_caller)::text || ':' || p_caller || p_key
$$;

-- The status a record answers with: its own, or for a record that answers with its posted
-- journal and stores none (the engine's, since migrations/0022), 201.
CREATE OR REPLACE FUNCTION idempotency_status(p_stored integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_stored, 201)
$$;

-- First half: take the key for this transaction and look for an earlier answer.
-- outcome: 'new' (go ahead), 'replayed' (status/body hold the first answer),
-- 'idempotency_key_in_use' or 'idempotency_key_reused'.
CREATE OR REPLACE FUNCTION idempotency_begin(p_caller text, p_key text, p_fingerprint text)
RETURNS idempotency_check LANGUAGE plpgsql AS $$
DECLARE
    prior idempotency_keys%ROWTYPE;
BEGIN
    IF p_key IS NULL THEN
        RETURN ROW('new', NULL, NULL)::idempotency_check;
    END IF;
    IF NOT pg_try_advisory_xact_lock(idempotency_lock_key(p_caller, p_key)) THEN
        RETURN ROW('idempotency_key_in_use', 409, NULL)::idempotency_check;
    END IF;
    SELECT * INTO prior FROM idempotency_keys
    WHERE idempotency_scope(caller, key) = idempotency_scope(p_caller, p_key)
      AND caller = p_caller AND key = p_key;
    IF NOT FOUND THEN
        RETURN ROW('new', NULL, NULL)::idempotency_check;
    END IF;
    IF NOT idempotency_matches(prior.fingerprint, idempotency_digest(p_fingerprint)) THEN
        RETURN ROW('idempotency_key_reused', 422, NULL)::idempotency_check;
    END IF;
    RETURN ROW('replayed', idempotency_status(prior.status_code), idempotency_answer(prior))
        ::idempotency_check;
END $$;

CREATE OR REPLACE FUNCTION idempotency_lock_key(p_caller text, p_key text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$  -- inlined (db/sql/common.sql)
    SELECT hashtextextended(p_caller || chr(31) || p_key, 0)
$$;

-- The stored answer: kept as text, or (for an answer that is exactly a posted transaction)
-- rebuilt from the journal, which is immutable, by the one transaction renderer.
CREATE OR REPLACE FUNCTION idempotency_answer(k idempotency_keys) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF k.response_body IS NOT NULL THEN
        RETURN k.response_body;
    END IF;
    RETURN (SELECT body FROM transaction_documents WHERE id = k.journal_id);
END $$;

-- Second half: remember the answer, in the same transaction as the effect.
CREATE OR REPLACE FUNCTION idempotency_finish(
    p_caller text, p_key text, p_fingerprint text, p_status integer, p_body text
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (caller, key, fingerprint, status_code, response_body)
        VALUES (p_caller, p_key, idempotency_digest(p_fingerprint), p_status, p_body);
    END IF;
END $$;
