-- Holds for rides: reserve, re-authorise, capture (split), release, expire.
--
-- Every operation is one SQL function, so an HTTP request costs one round trip. Each one
-- takes its idempotency key, locks what it changes (the hold first, then wallets in id order
-- through the posting engine), checks everything, and only then writes: a journal with
-- entries (held before/after as well as balance), the hold's new state, one event per user
-- wallet touched, and the idempotent answer.
--
-- Invariants, enforced here and checked by the tests:
--   * a wallet's held = sum of (amount - captured) over its HELD holds;
--   * a HELD hold still reserves something (captured < amount); any other status is final;
--   * a hold changes status once, under its row lock, so it is never both captured and expired.

-- plpgsql, not sql: PostgreSQL before 18 plans a non-inlined SQL function's body on every
-- call, and these run several times per posting.

-- The call context as the service sends it: a JSON object named like hold_call's fields.
CREATE OR REPLACE FUNCTION hold_call_of(p_call jsonb) RETURNS hold_call
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN jsonb_populate_record(NULL::hold_call, p_call);
END $$;

-- A hold as the API shows it. remaining is what the hold still reserves of the wallet.
CREATE OR REPLACE FUNCTION hold_json(h holds) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
            'id', h.id, 'wallet_id', h.wallet_id, 'currency', h.currency,
            'amount', h.amount, 'captured', h.captured,
            'remaining', CASE WHEN h.status = 'HELD' THEN h.amount - h.captured ELSE 0 END,
            'status', h.status, 'expires_at', json_time(h.expires_at),
            'reference_type', h.reference_type, 'reference_id', h.reference_id,
            'metadata', h.metadata, 'release_reason', h.release_reason, 'trace_id', h.trace_id,
            'created_at', json_time(h.created_at), 'updated_at', json_time(h.updated_at),
            'closed_at', json_time(h.closed_at));
END $$;

-- The posting for one step of a hold: a journal of the given type on the hold's wallet.
-- The key is left out: the hold functions take and store it themselves, because their
-- answer is not always the transaction.
CREATE OR REPLACE FUNCTION hold_posting(
    ctx hold_call, h holds, p_journal_type text, p_event_type text, p_amount bigint,
    p_legs ledger_leg[], p_metadata jsonb DEFAULT '{}'
) RETURNS ledger_posting LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    p ledger_posting;
BEGIN
    p.caller := ctx.caller;
    p.journal_id := uuid_v7();
    p.journal_type := p_journal_type;
    p.event_type := p_event_type;
    p.wallet_id := h.wallet_id;
    p.required_owner := ctx.required_owner;
    p.amount := p_amount;
    p.reference_id := h.reference_id;
    p.metadata := p_metadata;
    p.hold_id := h.id;
    p.trace_id := ctx.trace_id;
    p.legs := p_legs;
    p.client_address := ctx.client_address;
    p.audit_refusal := false;  -- the hold call is audited as a whole by its caller
    RETURN p;
END $$;

-- Put the hold's new state into the event its wallet just received, so consumers of
-- hold.* events need not call back.
CREATE OR REPLACE FUNCTION hold_event_attach(h holds) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbox SET payload = coalesce(outbox.payload, '{}') || jsonb_build_object('hold', hold_json(h))
    FROM wallets
    WHERE wallets.id = h.wallet_id AND outbox.wallet_id = wallets.id
      AND outbox.sequence = wallets.version;
END $$;

-- The hold, locked, if the caller may see it.
CREATE OR REPLACE FUNCTION hold_lock(ctx hold_call, p_hold_id uuid) RETURNS holds LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION hold_refusal(h holds) RETURNS ledger_result LANGUAGE plpgsql STABLE AS $$
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

-- The start of a step on an existing hold (capture, adjust): the call's key, then the hold,
-- locked, and why it may not be changed; refusal is NULL when the step may go ahead.
CREATE OR REPLACE FUNCTION hold_step_begin(
    ctx hold_call, p_hold_id uuid, OUT refusal ledger_result, OUT h holds
) LANGUAGE plpgsql AS $$
DECLARE
    idem idempotency_check;
BEGIN
    idem := idempotency_begin(ctx.caller, ctx.idempotency_key, ctx.fingerprint);
    IF idem.outcome <> 'new' THEN
        refusal := ROW(idem.outcome, idem.status_code, idem.body)::ledger_result;
        RETURN;
    END IF;
    h := hold_lock(ctx, p_hold_id);
    refusal := hold_refusal(h);
END $$;

-- Reserve p_amount of the wallet's available balance (the engine refuses over-reserving
-- on the locked wallet row). The answer is the hold, 201.
CREATE OR REPLACE FUNCTION hold_create(
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
    h.id := uuid_v7();
    h.wallet_id := p_wallet_id;
    h.amount := p_amount;
    h.captured := 0;
    h.status := 'HELD';
    h.expires_at := now() + make_interval(secs => p_ttl_seconds);
    h.reference_type := p_reference_type;
    h.reference_id := p_reference_id;
    h.metadata := coalesce(p_metadata, '{}');
    h.trace_id := ctx.trace_id;
    h.created_at := now();
    h.updated_at := now();

    posted := ledger_post_one(hold_posting(ctx, h, 'HOLD', 'hold.created', p_amount,
                                        ARRAY[ledger_leg_of(p_wallet_id => p_wallet_id, p_held_delta => p_amount)],
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
CREATE OR REPLACE FUNCTION hold_capture(
    ctx hold_call, p_hold_id uuid, p_amount bigint, p_to_wallet_id uuid,
    p_split_wallets uuid[], p_split_amounts bigint[], p_final boolean
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    step       record;
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
    step := hold_step_begin(ctx, p_hold_id);
    refusal := step.refusal;
    h := step.h;
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

    SELECT ARRAY[ledger_leg_of(p_wallet_id => h.wallet_id, p_amount => -total::bigint,
                              p_held_delta => -(total::bigint + released))]
           || array_agg(ledger_leg_of(
                  p_wallet_id => r.wallet_id,
                  p_system_kind => CASE WHEN r.wallet_id IS NULL THEN 'SETTLEMENT' END,
                  p_amount => r.amount))
      INTO legs
      FROM unnest(recipients, amounts) AS r(wallet_id, amount);
    posted := ledger_post_one(hold_posting(ctx, h, 'CAPTURE', 'hold.captured', total::bigint,
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
    -- The transaction as the engine rendered it (a json object), with the hold appended;
    -- spliced as text so its fields keep the order every other transaction has.
    body := left(posted.body, -1) || ', "hold" : ' || hold_json(h)::text || '}';
    PERFORM idempotency_finish(ctx.caller, ctx.idempotency_key, ctx.fingerprint, 201, body);
    RETURN ROW('posted', 201, body)::ledger_result;
END $$;

-- Re-authorise: set the hold's amount (raising is checked against available) and/or move its
-- deadline. The amount may not go down to what was already captured. The answer is the hold.
CREATE OR REPLACE FUNCTION hold_adjust(
    ctx hold_call, p_hold_id uuid, p_amount bigint, p_expires_at timestamptz
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    step   record;
    h      holds;
    change  bigint;
    posted  ledger_result;
    refusal ledger_result;
    body    text;
BEGIN
    step := hold_step_begin(ctx, p_hold_id);
    refusal := step.refusal;
    h := step.h;
    IF refusal.outcome IS NOT NULL THEN
        RETURN refusal;
    END IF;
    IF p_amount IS NOT NULL AND p_amount <= h.captured THEN
        RETURN ROW('hold_amount_below_captured', 422, NULL)::ledger_result;
    END IF;

    change := coalesce(p_amount, h.amount) - h.amount;
    posted := ledger_post_one(hold_posting(ctx, h, 'HOLD_ADJUST', 'hold.adjusted', abs(change),
                                        ARRAY[ledger_leg_of(p_wallet_id => h.wallet_id, p_held_delta => change)]));
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
CREATE OR REPLACE FUNCTION hold_close(ctx hold_call, h holds, p_status text, p_reason text)
RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    remaining bigint := h.amount - h.captured;
    posted    ledger_result;
BEGIN
    posted := ledger_post_one(hold_posting(
        ctx, h, CASE p_status WHEN 'EXPIRED' THEN 'HOLD_EXPIRE' ELSE 'HOLD_RELEASE' END,
        CASE p_status WHEN 'EXPIRED' THEN 'hold.expired' ELSE 'hold.released' END, remaining,
        ARRAY[ledger_leg_of(p_wallet_id => h.wallet_id, p_held_delta => -remaining)],
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
CREATE OR REPLACE FUNCTION hold_release(ctx hold_call, p_hold_id uuid, p_reason text)
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
CREATE OR REPLACE FUNCTION holds_expire(p_batch integer, p_trace_id text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ctx     hold_call;
    due     uuid[];
    h       holds;
    expired integer := 0;
BEGIN
    ctx.caller := 'system:hold-expiry';
    ctx.trace_id := p_trace_id;
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

