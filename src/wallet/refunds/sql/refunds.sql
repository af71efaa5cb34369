-- Refunds: give back part or all of a transfer or a capture, as a REFUND journal.

-- Refund part or all of a TRANSFER or CAPTURE journal, as a REFUND journal related to it.
-- Refunds are cumulative and capped at what the original moved. Money comes back from the
-- original's recipients pro rata to what each still has unrefunded (largest remainder for the
-- last minor units, ties to the lower wallet id), so a full refund always returns exactly
-- what each received. ledger/core.py allocate_refund is the same rule in Python.
CREATE OR REPLACE FUNCTION refund_create(
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
    spent       bigint;    -- what the payer paid in the original
    spent_promo bigint;    -- of it, promotional credit
    refunded    bigint;    -- what earlier refunds of the original gave back
    promo_part  bigint;    -- of this refund, promotional
    promo_live  bigint;    -- of that, back to grants still live; the rest is breakage
    posting     ledger_posting;
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
    -- earlier refunds took back from it. A system recipient is one wallet spread over shards
    -- (ledger.sql): a refund may take from another shard than the one that received, so its
    -- refunds count against the shard of the original.
    SELECT array_agg(recipient ORDER BY recipient), array_agg(amount ORDER BY recipient),
           coalesce(sum(amount), 0)
      INTO recipients, unrefunded, refundable
      FROM (
        SELECT recipient, sum(amount) AS amount FROM (
            SELECT wallet_id AS recipient, amount FROM entries
            WHERE journal_id = original.id AND amount > 0
            UNION ALL
            SELECT coalesce(received.wallet_id, taken.wallet_id), taken.amount
            FROM journals
            JOIN entries AS taken ON taken.journal_id = journals.id
            JOIN wallets AS taker ON taker.id = taken.wallet_id
            LEFT JOIN LATERAL (
                SELECT e.wallet_id FROM entries e JOIN wallets w ON w.id = e.wallet_id
                WHERE e.journal_id = original.id AND e.amount > 0
                  AND taker.kind <> 'USER' AND w.kind = taker.kind
                LIMIT 1) AS received ON true
            WHERE journals.related_journal_id = original.id AND journals.type = 'REFUND'
              AND taken.amount < 0
        ) AS moved
        GROUP BY recipient HAVING sum(amount) > 0
      ) AS per_recipient;
    refund := coalesce(p_amount, refundable::bigint);
    IF refundable = 0 OR refund > refundable THEN
        RETURN ROW('refund_exceeded', 422, NULL)::ledger_result;
    END IF;

    -- Promotional money comes back as promotional, cash as cash. A refund undoes the end of
    -- the payment, and the payment spent promotional credit first, so refunds give back cash
    -- first, then promotional credit: to the grants it came from while they are live, and as
    -- breakage (to PROMOTIONS) once they have expired.
    SELECT -e.amount, -e.promotional INTO spent, spent_promo
      FROM entries e WHERE e.journal_id = original.id AND e.wallet_id = original.wallet_id;
    SELECT coalesce(sum(amount), 0) INTO refunded FROM journals
     WHERE related_journal_id = original.id AND type = 'REFUND';
    promo_part := greatest(0, refunded + refund - (spent - spent_promo))
                  - greatest(0, refunded - (spent - spent_promo));
    SELECT least(promo_part, coalesce(sum(u.amount - u.returned), 0)) INTO promo_live
      FROM credit_grant_uses u JOIN credit_grants g ON g.id = u.grant_id
     WHERE u.journal_id = original.id AND g.status <> 'EXPIRED' AND g.expires_at > now();

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
    -- the engine accepts system wallets by kind only.
    SELECT ARRAY[ledger_leg_of(p_wallet_id => original.wallet_id,
                               p_amount => refund - (promo_part - promo_live),
                               p_promotional => nullif(promo_live, 0))]
           || CASE WHEN promo_part > promo_live
                   THEN ARRAY[ledger_leg_of(p_system_kind => 'PROMOTIONS',
                                            p_amount => promo_part - promo_live)]
                   ELSE '{}' END
           || array_agg(ledger_leg_of(
                  p_wallet_id => CASE WHEN wallets.kind = 'USER' THEN ranked.wallet_id END,
                  p_system_kind => CASE WHEN wallets.kind <> 'USER' THEN wallets.kind END,
                  p_amount => -taken::bigint) ORDER BY ranked.wallet_id)
      INTO legs
      FROM ranked JOIN wallets ON wallets.id = ranked.wallet_id WHERE taken > 0;

    posting.caller := ctx.caller;
    posting.journal_id := uuid_v7();
    posting.journal_type := 'REFUND';
    posting.event_type := 'refund.completed';
    posting.wallet_id := original.wallet_id;
    posting.amount := refund;
    posting.reference_id := p_reference_id;
    posting.category := 'REFUND';
    posting.metadata := coalesce(p_metadata, '{}');
    posting.hold_id := original.hold_id;
    posting.related_journal_id := original.id;
    posting.trace_id := ctx.trace_id;
    posting.legs := legs;
    posting.client_address := ctx.client_address;
    posting.audit_refusal := false;  -- the refund call is audited as a whole by its caller
    posted := ledger_post_one(posting);
    IF posted.outcome = 'posted' THEN
        PERFORM idempotency_finish(ctx.caller, ctx.idempotency_key, ctx.fingerprint, 201,
                                   posted.body);
    END IF;
    RETURN posted;
END $$;
