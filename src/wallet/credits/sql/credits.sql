-- Promotional credit: grants from the currency's PROMOTIONS wallet, and their expiry.
--
-- A grant is a CREDIT_GRANT journal (PROMOTIONS -> wallet, all of it promotional) and a
-- credit_grants row with the same id. The engine spends promotional credit first, soonest-
-- expiring grant first (ledger.sql), and records which grants each journal spent from.
-- Invariant, checked by reconciliation: wallets.promotional = sum of its ACTIVE grants'
-- remaining.

CREATE OR REPLACE FUNCTION credit_grant_json(g credit_grants) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', g.id, 'wallet_id', g.wallet_id, 'currency', g.currency, 'amount', g.amount,
        'remaining', g.remaining, 'category', g.category, 'campaign', g.campaign,
        'expires_at', json_time(g.expires_at), 'status', g.status,
        'created_at', json_time(g.created_at))
$$;

-- Grant: post the journal alone (never in a batch: the engine spreads a batch's promotional
-- spending over grants already in the table), then record the grant. A replay answers the
-- grant as it is now.
CREATE OR REPLACE FUNCTION credits_grant(
    p ledger_posting, p_expires_at timestamptz, p_category text, p_campaign text
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    result   ledger_result;
    grant_id uuid;
    g        credit_grants;
BEGIN
    result := ledger_post_one(p);
    IF result.outcome = 'posted' THEN
        INSERT INTO credit_grants (id, wallet_id, currency, amount, remaining, category,
                                   campaign, expires_at)
        SELECT p.journal_id, w.id, w.currency, p.amount, p.amount, p_category, p_campaign,
               p_expires_at
        FROM wallets w WHERE w.id = p.wallet_id
        RETURNING * INTO g;
    ELSIF result.outcome = 'replayed' THEN
        grant_id := (result.body::jsonb ->> 'id')::uuid;
        SELECT * INTO g FROM credit_grants WHERE id = grant_id;
    ELSE
        RETURN result;
    END IF;
    RETURN ROW(result.outcome, result.status_code, credit_grant_json(g)::text)::ledger_result;
END $$;

-- Expiry: wallets with a grant past its expiry, up to p_batch of them, claimed with SKIP
-- LOCKED on the wallet row (grants change only under their wallet's lock, so workers never wait
-- on each other). Each gets one BREAKAGE journal taking its expired grants' remaining back to
-- PROMOTIONS. Expired grants are the soonest-expiring ones, so the engine's spending order
-- takes exactly them. Money a hold reserves stays: the journal takes at most what is available
-- (within the credit limit), the rest on a later run once the hold is released (or its capture
-- spends it). Returns how many BREAKAGE journals it posted.
CREATE OR REPLACE FUNCTION credits_expire(p_batch integer, p_trace_id text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    postings jsonb;
    posted   integer;
BEGIN
    -- Grants spent to zero before they expired, and still ACTIVE: nothing to take back.
    UPDATE credit_grants g SET status = 'EXPIRED', updated_at = now()
    WHERE g.id IN (SELECT id FROM credit_grants
                   WHERE status = 'ACTIVE' AND expires_at <= now() AND remaining = 0
                   LIMIT p_batch FOR UPDATE SKIP LOCKED);

    WITH due AS (
        SELECT w.id, w.balance - w.held + w.credit_limit AS spendable,
               (SELECT sum(g.remaining) FROM credit_grants g
                WHERE g.wallet_id = w.id AND g.status = 'ACTIVE' AND g.expires_at <= now())
                   AS expired
        FROM wallets w
        WHERE w.kind = 'USER' AND w.status = 'ACTIVE'  -- a FROZEN wallet's wait for it
          AND w.balance - w.held + w.credit_limit > 0
          AND w.id IN (SELECT g.wallet_id FROM credit_grants g
                       WHERE g.status = 'ACTIVE' AND g.expires_at <= now() AND g.remaining > 0)
        ORDER BY w.id LIMIT p_batch
        FOR UPDATE OF w SKIP LOCKED
    )
    SELECT jsonb_agg(jsonb_build_object(
               'caller', 'system:credit-expiry', 'fingerprint', 'breakage',
               'journal_id', uuid_v7(), 'journal_type', 'BREAKAGE',
               'event_type', 'credit.expired', 'wallet_id', d.id, 'amount', t.amount,
               'category', 'PROMOTION', 'metadata', '{}'::jsonb, 'trace_id', p_trace_id,
               'audit_refusal', false,
               'legs', jsonb_build_array(
                   jsonb_build_object('wallet_id', d.id, 'amount', -t.amount, 'held_delta', 0,
                                      'promotional', -t.amount),
                   jsonb_build_object('system_kind', 'PROMOTIONS', 'amount', t.amount,
                                      'held_delta', 0))))
      INTO postings
      FROM due d CROSS JOIN LATERAL (SELECT least(d.expired, d.spendable) AS amount) t;
    IF postings IS NULL THEN
        RETURN 0;
    END IF;
    SELECT count(*) FILTER (WHERE outcome = 'posted') INTO posted FROM ledger_post_json(postings);
    RETURN posted;
END $$;
