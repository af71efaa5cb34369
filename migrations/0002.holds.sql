-- Holds for rides: reserve, re-authorise, capture (split), release, expire; and refunds.
--
-- Every operation is one SQL function, so an HTTP request costs one round trip. Each one
-- takes its idempotency key, locks what it changes (the hold or the refunded journal first,
-- then wallets in id order through ledger_apply), checks everything, and only then writes:
-- a journal with entries (held before/after as well as balance), the hold's new state, one
-- outbox event per user wallet touched, and the idempotent answer.
--
-- Invariants, enforced here and checked by the tests:
--   * a wallet's held = sum of (amount - captured) over its HELD holds;
--   * a HELD hold still reserves something (captured < amount); any other status is final;
--   * a hold changes status once, under its row lock, so it is never both captured and expired.

CREATE TABLE holds (
    id             uuid PRIMARY KEY,
    wallet_id      uuid        NOT NULL REFERENCES wallets (id),
    currency       char(3)     NOT NULL,
    amount         bigint      NOT NULL CHECK (amount > 0),   -- currently authorised
    captured       bigint      NOT NULL DEFAULT 0 CHECK (captured >= 0),
    status         text        NOT NULL DEFAULT 'HELD'
                   CHECK (status IN ('HELD', 'CAPTURED', 'RELEASED', 'EXPIRED')),
    expires_at     timestamptz NOT NULL,
    reference_type text,
    reference_id   text,
    metadata       jsonb       NOT NULL DEFAULT '{}',
    release_reason text,
    trace_id       text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz,
    CONSTRAINT hold_captures_within_amount CHECK (captured <= amount),
    CONSTRAINT held_hold_reserves_something CHECK (status <> 'HELD' OR captured < amount),
    CONSTRAINT closed_hold_has_closed_at CHECK ((status = 'HELD') = (closed_at IS NULL))
);
CREATE INDEX holds_wallet_newest_first ON holds (wallet_id, id DESC);
-- The expiry workers' queue: only live holds, oldest deadline first.
CREATE INDEX holds_due ON holds (expires_at) WHERE status = 'HELD';

-- Who is asking, under which key, for exactly what: the same for every hold/refund function.
CREATE TYPE hold_call AS (
    caller          text,
    idempotency_key text,
    fingerprint     text,
    trace_id        text,
    required_owner  text    -- set for owner-scoped callers: other owners' holds are unknown
);

-- plpgsql, not sql: PostgreSQL before 18 plans a non-inlined SQL function's body on every
-- call, and these run several times per posting.

-- A hold as the API shows it. remaining is what the hold still reserves of the wallet.
CREATE FUNCTION hold_json(h holds) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
            'id', h.id, 'wallet_id', h.wallet_id, 'currency', h.currency,
            'amount', h.amount, 'captured', h.captured,
            'remaining', CASE WHEN h.status = 'HELD' THEN h.amount - h.captured ELSE 0 END,
            'status', h.status, 'expires_at', h.expires_at,
            'reference_type', h.reference_type, 'reference_id', h.reference_id,
            'metadata', h.metadata, 'release_reason', h.release_reason, 'trace_id', h.trace_id,
            'created_at', h.created_at, 'updated_at', h.updated_at, 'closed_at', h.closed_at);
END $$;

-- The posting for one step of a hold: a journal of the given type on the hold's wallet.
-- The key is left out: the hold functions take and store it themselves, because their
-- answer is not always the transaction.
CREATE FUNCTION hold_posting(
    ctx hold_call, h holds, p_journal_type text, p_event_type text, p_amount bigint,
    p_legs ledger_leg[], p_metadata jsonb DEFAULT '{}'
) RETURNS ledger_posting LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN ROW(ctx.caller, NULL, NULL, uuid_v7(), p_journal_type, p_event_type, h.wallet_id,
                   ctx.required_owner, p_amount, h.reference_id, NULL, p_metadata, h.id, NULL,
                   ctx.trace_id, p_legs)::ledger_posting;
END $$;

-- Put the hold's new state into the event its wallet just received, so consumers of
-- hold.* events need not call back.
CREATE FUNCTION hold_event_attach(h holds) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbox SET payload = outbox.payload || jsonb_build_object('hold', hold_json(h))
    FROM wallets
    WHERE wallets.id = h.wallet_id AND outbox.wallet_id = wallets.id
      AND outbox.sequence = wallets.version;
END $$;

-- The hold, locked, if the caller may see it.
CREATE FUNCTION hold_lock(ctx hold_call, p_hold_id uuid) RETURNS holds LANGUAGE plpgsql AS $$
DECLARE
    found_hold holds;
BEGIN
    SELECT holds.* INTO found_hold FROM holds JOIN wallets ON wallets.id = holds.wallet_id
    WHERE holds.id = p_hold_id
      AND (ctx.required_owner IS NULL OR wallets.owner_id = ctx.required_owner)
    FOR UPDATE OF holds;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN found_hold;
END $$;

-- Why a locked hold may not be captured or adjusted, or NULL when it may.
CREATE FUNCTION hold_refusal(h holds) RETURNS ledger_result LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF h.id IS NULL THEN
        RETURN ROW('hold_not_found', 404, NULL)::ledger_result;
    END IF;
    -- Past its deadline a hold is as good as expired, whether or not a worker got to it yet.
    IF h.status <> 'HELD' OR h.expires_at <= now() THEN
        RETURN ROW('hold_not_active', 409, NULL)::ledger_result;
    END IF;
    RETURN NULL;
END $$;

-- Reserve p_amount of the wallet's available balance (ledger_apply refuses over-reserving
-- on the locked wallet row). The answer is the hold, 201.
CREATE FUNCTION hold_create(
    ctx hold_call, p_wallet_id uuid, p_amount bigint, p_ttl_seconds integer,
    p_reference_type text, p_reference_id text, p_metadata jsonb
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    idem   idempotency_check;
    h      holds;
    posted ledger_result;
    body   text;
BEGIN
    idem := idempotency_begin(ctx.caller, ctx.idempotency_key, ctx.fingerprint);
    IF idem.outcome <> 'new' THEN
        RETURN ROW(idem.outcome, idem.status_code, idem.body)::ledger_result;
    END IF;
    h := ROW(uuid_v7(), p_wallet_id, NULL, p_amount, 0, 'HELD',
             now() + make_interval(secs => p_ttl_seconds), p_reference_type, p_reference_id,
             coalesce(p_metadata, '{}'), NULL, ctx.trace_id, now(), now(), NULL)::holds;

    posted := ledger_apply(hold_posting(ctx, h, 'HOLD', 'hold.created', p_amount,
                                        ARRAY[ROW(p_wallet_id, NULL, 0, p_amount)::ledger_leg],
                                        h.metadata));
    IF posted.outcome <> 'posted' THEN
        RETURN posted;
    END IF;

    SELECT currency INTO h.currency FROM wallets WHERE id = p_wallet_id;
    INSERT INTO holds SELECT (h).*;
    PERFORM hold_event_attach(h);
    body := hold_json(h)::text;
    PERFORM idempotency_finish(ctx.caller, ctx.idempotency_key, ctx.fingerprint, 201, body);
    RETURN ROW('posted', 201, body)::ledger_result;
END $$;

-- Capture from a HELD hold to one or several recipients, in one journal. A NULL recipient is
-- the currency's settlement wallet. p_amount NULL with no splits captures all that remains.
-- When the hold is exhausted, or p_final is set, the rest is released in the same journal and
-- the hold becomes CAPTURED. The answer is the transaction with the hold inside, 201.
CREATE FUNCTION hold_capture(
    ctx hold_call, p_hold_id uuid, p_amount bigint, p_to_wallet_id uuid,
    p_split_wallets uuid[], p_split_amounts bigint[], p_final boolean
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    idem       idempotency_check;
    h          holds;
    remaining  bigint;
    recipients uuid[];
    amounts    bigint[];
    total      numeric;
    released   bigint;
    legs       ledger_leg[];
    posted     ledger_result;
    refusal    ledger_result;
    body       text;
BEGIN
    idem := idempotency_begin(ctx.caller, ctx.idempotency_key, ctx.fingerprint);
    IF idem.outcome <> 'new' THEN
        RETURN ROW(idem.outcome, idem.status_code, idem.body)::ledger_result;
    END IF;
    h := hold_lock(ctx, p_hold_id);
    refusal := hold_refusal(h);
    IF refusal.outcome IS NOT NULL THEN
        RETURN refusal;
    END IF;
    remaining := h.amount - h.captured;

    IF p_split_wallets IS NULL THEN
        recipients := ARRAY[p_to_wallet_id];
        amounts := ARRAY[coalesce(p_amount, remaining)];
    ELSE
        recipients := p_split_wallets;
        amounts := p_split_amounts;
    END IF;
    IF h.wallet_id = ANY(recipients) THEN
        RETURN ROW('same_wallet', 422, NULL)::ledger_result;
    END IF;
    SELECT sum(x) INTO total FROM unnest(amounts) AS x;
    IF total > remaining THEN
        RETURN ROW('hold_exceeded', 422, NULL)::ledger_result;
    END IF;
    released := CASE WHEN p_final THEN remaining - total::bigint ELSE 0 END;

    SELECT ARRAY[ROW(h.wallet_id, NULL, -total::bigint, -(total::bigint + released))::ledger_leg]
           || array_agg(ROW(r.wallet_id, CASE WHEN r.wallet_id IS NULL THEN 'SETTLEMENT' END,
                            r.amount, 0)::ledger_leg)
      INTO legs
      FROM unnest(recipients, amounts) AS r(wallet_id, amount);
    posted := ledger_apply(hold_posting(ctx, h, 'CAPTURE', 'hold.captured', total::bigint,
                                        legs));
    IF posted.outcome <> 'posted' THEN
        RETURN posted;
    END IF;

    h.captured := h.captured + total::bigint;
    h.updated_at := now();
    IF p_final OR h.captured = h.amount THEN
        h.status := 'CAPTURED';
        h.closed_at := now();
    END IF;
    UPDATE holds SET captured = h.captured, status = h.status, updated_at = h.updated_at,
                     closed_at = h.closed_at
    WHERE id = h.id;
    PERFORM hold_event_attach(h);
    -- The transaction as ledger_apply rendered it (a json object), with the hold appended;
    -- spliced as text so its fields keep the order every other transaction has.
    body := left(posted.body, -1) || ', "hold" : ' || hold_json(h)::text || '}';
    PERFORM idempotency_finish(ctx.caller, ctx.idempotency_key, ctx.fingerprint, 201, body);
    RETURN ROW('posted', 201, body)::ledger_result;
END $$;

-- Re-authorise: set the hold's amount (raising is checked against available) and/or move its
-- deadline. The amount may not go down to what was already captured. The answer is the hold.
CREATE FUNCTION hold_adjust(
    ctx hold_call, p_hold_id uuid, p_amount bigint, p_expires_at timestamptz
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    idem   idempotency_check;
    h      holds;
    change  bigint;
    posted  ledger_result;
    refusal ledger_result;
    body    text;
BEGIN
    idem := idempotency_begin(ctx.caller, ctx.idempotency_key, ctx.fingerprint);
    IF idem.outcome <> 'new' THEN
        RETURN ROW(idem.outcome, idem.status_code, idem.body)::ledger_result;
    END IF;
    h := hold_lock(ctx, p_hold_id);
    refusal := hold_refusal(h);
    IF refusal.outcome IS NOT NULL THEN
        RETURN refusal;
    END IF;
    IF p_amount IS NOT NULL AND p_amount <= h.captured THEN
        RETURN ROW('hold_amount_below_captured', 422, NULL)::ledger_result;
    END IF;

    change := coalesce(p_amount, h.amount) - h.amount;
    posted := ledger_apply(hold_posting(ctx, h, 'HOLD_ADJUST', 'hold.adjusted', abs(change),
                                        ARRAY[ROW(h.wallet_id, NULL, 0, change)::ledger_leg]));
    IF posted.outcome <> 'posted' THEN
        RETURN posted;
    END IF;

    h.amount := h.amount + change;
    h.expires_at := coalesce(p_expires_at, h.expires_at);
    h.updated_at := now();
    UPDATE holds SET amount = h.amount, expires_at = h.expires_at, updated_at = h.updated_at
    WHERE id = h.id;
    PERFORM hold_event_attach(h);
    body := hold_json(h)::text;
    PERFORM idempotency_finish(ctx.caller, ctx.idempotency_key, ctx.fingerprint, 200, body);
    RETURN ROW('posted', 200, body)::ledger_result;
END $$;

-- Give back what a HELD hold still reserves, as RELEASED (by a caller) or EXPIRED (by the
-- expiry worker). The caller holds the hold's row lock.
CREATE FUNCTION hold_close(ctx hold_call, h holds, p_status text, p_reason text)
RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    remaining bigint := h.amount - h.captured;
    posted    ledger_result;
BEGIN
    posted := ledger_apply(hold_posting(
        ctx, h, CASE p_status WHEN 'EXPIRED' THEN 'HOLD_EXPIRE' ELSE 'HOLD_RELEASE' END,
        CASE p_status WHEN 'EXPIRED' THEN 'hold.expired' ELSE 'hold.released' END, remaining,
        ARRAY[ROW(h.wallet_id, NULL, 0, -remaining)::ledger_leg],
        CASE WHEN p_reason IS NULL THEN '{}' ELSE jsonb_build_object('reason', p_reason) END));
    IF posted.outcome <> 'posted' THEN
        RETURN posted;
    END IF;
    h.status := p_status;
    h.release_reason := p_reason;
    h.updated_at := now();
    h.closed_at := now();
    UPDATE holds SET status = h.status, release_reason = h.release_reason,
                     updated_at = h.updated_at, closed_at = h.closed_at
    WHERE id = h.id;
    PERFORM hold_event_attach(h);
    RETURN ROW('posted', 200, hold_json(h)::text)::ledger_result;
END $$;

-- Release what remains. Idempotent by nature: a hold that is already RELEASED or EXPIRED is
-- answered as it is, 200; a CAPTURED one is 409 hold_not_active.
CREATE FUNCTION hold_release(ctx hold_call, p_hold_id uuid, p_reason text)
RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    idem   idempotency_check;
    h      holds;
    answer ledger_result;
BEGIN
    idem := idempotency_begin(ctx.caller, ctx.idempotency_key, ctx.fingerprint);
    IF idem.outcome <> 'new' THEN
        RETURN ROW(idem.outcome, idem.status_code, idem.body)::ledger_result;
    END IF;
    h := hold_lock(ctx, p_hold_id);
    IF h.id IS NULL THEN
        RETURN ROW('hold_not_found', 404, NULL)::ledger_result;
    ELSIF h.status = 'CAPTURED' THEN
        RETURN ROW('hold_not_active', 409, NULL)::ledger_result;
    ELSIF h.status = 'HELD' THEN
        answer := hold_close(ctx, h, 'RELEASED', p_reason);
    ELSE
        answer := ROW('unchanged', 200, hold_json(h)::text)::ledger_result;
    END IF;
    IF answer.outcome IN ('posted', 'unchanged') THEN
        PERFORM idempotency_finish(ctx.caller, ctx.idempotency_key, ctx.fingerprint,
                                   answer.status_code, answer.body);
    END IF;
    RETURN answer;
END $$;

-- One batch of the expiry worker: HELD holds past their deadline become EXPIRED. Holds another
-- transaction has locked (a capture in flight, another worker) are skipped, not waited for.
-- Returns how many expired.
CREATE FUNCTION holds_expire(p_batch integer, p_trace_id text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ctx     hold_call := ROW('system:hold-expiry', NULL, NULL, p_trace_id, NULL)::hold_call;
    due     uuid[];
    h       holds;
    expired integer := 0;
BEGIN
    SELECT array_agg(id) INTO due FROM (
        SELECT id FROM holds WHERE status = 'HELD' AND expires_at <= now()
        ORDER BY expires_at LIMIT p_batch
        FOR UPDATE SKIP LOCKED) AS claimed;
    IF due IS NULL THEN
        RETURN 0;
    END IF;
    -- All the batch's wallets, locked in id order up front: no lock cycles with other writers.
    PERFORM 1 FROM wallets WHERE id IN (SELECT wallet_id FROM holds WHERE id = ANY(due))
        ORDER BY id FOR UPDATE;
    FOR h IN SELECT * FROM holds WHERE id = ANY(due) ORDER BY id LOOP
        IF (hold_close(ctx, h, 'EXPIRED', NULL)).outcome = 'posted' THEN
            expired := expired + 1;
        END IF;
    END LOOP;
    RETURN expired;
END $$;

-- Refund part or all of a TRANSFER or CAPTURE journal, as a REFUND journal related to it.
-- Refunds are cumulative and capped at what the original moved. Money comes back from the
-- original's recipients pro rata to what each still has unrefunded (largest remainder for the
-- last minor units, ties to the lower wallet id), so a full refund always returns exactly
-- what each received. ledger/core.py allocate_refund is the same rule in Python.
CREATE FUNCTION refund_create(
    ctx hold_call, p_journal_id uuid, p_amount bigint, p_reference_id text, p_metadata jsonb
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    idem        idempotency_check;
    original    journals;
    recipients  uuid[];
    unrefunded  numeric[];
    refundable  numeric;
    refund      bigint;
    legs        ledger_leg[];
    posted      ledger_result;
BEGIN
    idem := idempotency_begin(ctx.caller, ctx.idempotency_key, ctx.fingerprint);
    IF idem.outcome <> 'new' THEN
        RETURN ROW(idem.outcome, idem.status_code, idem.body)::ledger_result;
    END IF;
    -- One refund of an original at a time, so the cap holds under concurrency. A transaction
    -- lock on its id rather than a row lock: journals are append-only and the service's
    -- database role may not lock them for update.
    PERFORM pg_advisory_xact_lock(hashtextextended('refund:' || p_journal_id::text, 0));
    SELECT journals.* INTO original FROM journals JOIN wallets ON wallets.id = journals.wallet_id
    WHERE journals.id = p_journal_id
      AND (ctx.required_owner IS NULL OR wallets.owner_id = ctx.required_owner);
    IF NOT FOUND THEN
        RETURN ROW('transaction_not_found', 404, NULL)::ledger_result;
    END IF;
    IF original.type NOT IN ('TRANSFER', 'CAPTURE') THEN
        RETURN ROW('transaction_not_refundable', 422, NULL)::ledger_result;
    END IF;

    -- What each recipient of the original still has unrefunded: what it received, less what
    -- earlier refunds took back from it.
    SELECT array_agg(wallet_id ORDER BY wallet_id), array_agg(amount ORDER BY wallet_id),
           coalesce(sum(amount), 0)
      INTO recipients, unrefunded, refundable
      FROM (
        SELECT wallet_id, sum(amount) AS amount FROM (
            SELECT wallet_id, amount FROM entries
            WHERE journal_id = original.id AND amount > 0
            UNION ALL
            SELECT entries.wallet_id, entries.amount
            FROM journals JOIN entries ON entries.journal_id = journals.id
            WHERE journals.related_journal_id = original.id AND journals.type = 'REFUND'
              AND entries.amount < 0
        ) AS moved
        GROUP BY wallet_id HAVING sum(amount) > 0
      ) AS per_recipient;
    refund := coalesce(p_amount, refundable::bigint);
    IF refundable = 0 OR refund > refundable THEN
        RETURN ROW('refund_exceeded', 422, NULL)::ledger_result;
    END IF;

    WITH exact AS (
        SELECT wallet_id, div(refund * share, refundable) AS base,
               mod(refund * share, refundable) AS fraction
        FROM unnest(recipients, unrefunded) AS r(wallet_id, share)
    ), ranked AS (
        SELECT wallet_id,
               base + CASE WHEN row_number() OVER (ORDER BY fraction DESC, wallet_id)
                                <= refund - sum(base) OVER () THEN 1 ELSE 0 END AS taken
        FROM exact
    )
    -- A system recipient (the settlement wallet of a split capture) is named by its kind:
    -- ledger_apply accepts system wallets by kind only.
    SELECT ARRAY[ROW(original.wallet_id, NULL, refund, 0)::ledger_leg]
           || array_agg(ROW(CASE WHEN wallets.kind = 'USER' THEN ranked.wallet_id END,
                            CASE WHEN wallets.kind <> 'USER' THEN wallets.kind END,
                            -taken::bigint, 0)::ledger_leg ORDER BY ranked.wallet_id)
      INTO legs
      FROM ranked JOIN wallets ON wallets.id = ranked.wallet_id WHERE taken > 0;

    posted := ledger_apply(ROW(ctx.caller, NULL, NULL, uuid_v7(), 'REFUND', 'refund.completed',
                               original.wallet_id, NULL, refund, p_reference_id, 'REFUND',
                               coalesce(p_metadata, '{}'), original.hold_id, original.id,
                               ctx.trace_id, legs)::ledger_posting);
    IF posted.outcome = 'posted' THEN
        PERFORM idempotency_finish(ctx.caller, ctx.idempotency_key, ctx.fingerprint, 201,
                                   posted.body);
    END IF;
    RETURN posted;
END $$;
