-- Events as the broker and the feed receive them (DESIGN D8).
--
-- A money event's row references its journal instead of carrying a copy of it: the event is
-- rendered here, when it is read, from the immutable journal, the wallet's entry in it (its
-- balance and held right after) and whatever the row keeps itself (a hold's state at that
-- step). Rows written before events were rendered this way carry their whole payload. Its
-- trace id is the journal's too (the engine stores none on the row since 0012).
--
-- Feed order: transactions commit out of order, so the feed pages by (feed_xid, wallet_id,
-- sequence) below the snapshot xmin (one transaction's events by wallet and sequence: the rows
-- store no id since migrations/0021). feed_xid is the writing transaction's id, raised to the
-- wallet's previous event's
-- feed_xid when that is larger, so a wallet's events stay in sequence order in the feed. The
-- wallet row keeps its latest event's position (wallets.feed_xid, migrations/0015): every
-- writer of a wallet's event has that row locked, and writes the new position back to it.

-- The event type of a money event, by its journal's type: what the engine writes unless a
-- posting names another, and then it stores nothing (migrations/0013), since the journal
-- already says it. The same table as ledger/core.py's EVENT_TYPES (tests/outbox compares them).
-- Not STRICT: a CASE is not, and a STRICT SQL function over a body that is not strict is never
-- inlined; it ran as a call of its own for every event the engine wrote or a reader rendered.
CREATE OR REPLACE FUNCTION journal_event_type(p_journal_type text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_journal_type
        WHEN 'DEPOSIT' THEN 'wallet.deposit.completed'
        WHEN 'WITHDRAW' THEN 'wallet.withdraw.completed'
        WHEN 'TRANSFER' THEN 'wallet.transfer.completed'
        WHEN 'HOLD' THEN 'hold.created'
        WHEN 'HOLD_ADJUST' THEN 'hold.adjusted'
        WHEN 'CAPTURE' THEN 'hold.captured'
        WHEN 'HOLD_RELEASE' THEN 'hold.released'
        WHEN 'HOLD_EXPIRE' THEN 'hold.expired'
        WHEN 'REFUND' THEN 'refund.completed'
        WHEN 'ADJUSTMENT' THEN 'wallet.adjustment.completed'
        WHEN 'REVERSAL' THEN 'wallet.reversal.completed'
        WHEN 'CREDIT_GRANT' THEN 'credit.granted'
        WHEN 'BREAKAGE' THEN 'credit.expired'
        WHEN 'FX_TRANSFER' THEN 'wallet.fx_transfer.completed'
        WHEN 'PAYOUT' THEN 'payout.pending'
        WHEN 'PAYOUT_PAID' THEN 'payout.paid'
        WHEN 'PAYOUT_FAILED' THEN 'payout.failed'
    END
$$;

-- The id of an event that stores none (the engine's, since migrations/0016): a UUID of version 8
-- (RFC 9562's custom layout) made of the SHA-256 of the wallet's id and the event's sequence.
-- (wallet_id, sequence) is unique, so the ids are, but by a collision of 120 bits of SHA-256;
-- and an event keeps its id however often it is read, delivered or replayed. One expression,
-- so that it is inlined into the queries that read it.
CREATE OR REPLACE FUNCTION outbox_event_id(p_wallet_id uuid, p_sequence bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT overlay(overlay(left(encode(sha256(uuid_send(p_wallet_id) || int8send(p_sequence)),
                                       'hex'), 32)
                           PLACING '8' FROM 13 FOR 1)
                   PLACING '8' FROM 17 FOR 1)::uuid
$$;

-- An event's delivery state, by its delivery times (the row keeps no status since 0016).
CREATE OR REPLACE FUNCTION outbox_delivery_status(p_published_at timestamptz,
                                                  p_dead_lettered_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_published_at IS NOT NULL THEN 'PUBLISHED'
                WHEN p_dead_lettered_at IS NOT NULL THEN 'DEAD'
                ELSE 'PENDING' END
$$;

-- The transaction as the event's wallet's owner may see it: transaction_documents' fields in
-- its order, except that other wallets' entries show their amount and wallet only, never
-- their balances. Built here as jsonb straight from the rows rather than by parsing that
-- view's text and editing it: the same bytes (tests/outbox/test_rendering.py compares them),
-- at two thirds of the claim's database time.
--
-- What a row leaves out since migrations/0016 is read here: an event id it does not store is
-- derived from (wallet_id, sequence), a money event's time is its journal's, no attempt yet is
-- 0, and the delivery status is what its delivery times say (outbox_delivery_status).
CREATE OR REPLACE VIEW outbox_documents AS
SELECT o.id, coalesce(o.event_id, outbox_event_id(o.wallet_id, o.sequence)) AS event_id,
       coalesce(o.event_type, journal_event_type(j.type)) AS event_type,
       o.wallet_id, o.sequence, o.journal_id,
       coalesce(o.trace_id, journal_trace_id(j.trace_id, j.trace)) AS trace_id,
       coalesce(o.created_at, j.created_at) AS created_at, o.published_at,
       coalesce(o.attempts, 0) AS attempts,
       outbox_delivery_status(o.published_at, o.dead_lettered_at) AS status,
       o.next_attempt_at, o.last_error, o.dead_lettered_at, o.feed_xid,
       CASE WHEN o.journal_id IS NULL OR o.payload ? 'transaction' THEN o.payload
            ELSE jsonb_build_object(
                     'wallet', jsonb_build_object(
                         'id', w.id, 'owner_id', w.owner_id,
                         'balance', e.balance_after, 'held', e.held_after,
                         'available', e.balance_after - e.held_after, 'version', o.sequence),
                     'transaction', jsonb_build_object(
                         'id', j.id, 'type', j.type, 'status', j.status,
                         'amount', j.amount, 'currency', j.currency, 'wallet_id', j.wallet_id,
                         'entries', coalesce((
                             SELECT jsonb_agg(CASE WHEN x.wallet_id = o.wallet_id
                                 THEN jsonb_build_object(
                                     'wallet_id', x.wallet_id, 'amount', x.amount,
                                     'balance_before', x.balance_before,
                                     'balance_after', x.balance_after,
                                     'held_before', x.held_before, 'held_after', x.held_after)
                                 ELSE jsonb_build_object('wallet_id', x.wallet_id,
                                                         'amount', x.amount) END
                                 ORDER BY x.amount, x.wallet_id)
                             FROM entries x WHERE x.journal_id = j.id), '[]'),
                         'reference_id', j.reference_id, 'category', j.category,
                         'metadata', j.metadata, 'hold_id', j.hold_id,
                         'related_transaction_id', j.related_journal_id,
                         'trace_id', journal_trace_id(j.trace_id, j.trace),
                         'created_at', json_time(j.created_at)))
                 || coalesce(o.payload, '{}')
       END AS payload,
       o.traceparent
FROM outbox o
LEFT JOIN wallets w ON w.id = o.wallet_id
LEFT JOIN entries e ON e.wallet_id = o.wallet_id AND e.journal_id = o.journal_id
LEFT JOIN journals j ON j.id = o.journal_id;
DROP FUNCTION IF EXISTS transaction_for_wallet(jsonb, uuid);

-- Where a new event of a wallet goes in the feed, for a writer that does not keep it on the
-- wallet row (processes of the version before 0015 during a rolling upgrade, or SQL run by
-- hand): after the latest of the wallet's events, wherever that was recorded. VOLATILE, so
-- that its query sees events committed while the caller waited for the wallet's lock; call it
-- after taking that lock.
CREATE OR REPLACE FUNCTION outbox_feed_position(p_wallet_id uuid) RETURNS xid8
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN greatest(pg_current_xact_id(),
                    (SELECT w.feed_xid FROM wallets w WHERE w.id = p_wallet_id),
                    (SELECT o.feed_xid FROM outbox o WHERE o.wallet_id = p_wallet_id
                     ORDER BY o.sequence DESC LIMIT 1));
END $$;
