-- Events as the broker and the feed receive them (DESIGN D8).
--
-- A money event's row references its journal instead of carrying a copy of it: the event is
-- rendered here, when it is read, from the immutable journal, the wallet's entry in it (its
-- balance and held right after) and whatever the row keeps itself (a hold's state at that
-- step). Rows written before events were rendered this way carry their whole payload. Its
-- trace id is the journal's too (the engine stores none on the row since 0012).
--
-- Feed order: ids commit out of order, so the feed pages by (feed_xid, id) below the snapshot
-- xmin. feed_xid is the writing transaction's id, raised to the wallet's previous event's
-- feed_xid when that is larger (the engine does this per batch), so a wallet's events stay in
-- sequence order in the feed.

-- The transaction as one wallet's owner may see it: other wallets' entries show their amount
-- and wallet only, never their balances.
CREATE OR REPLACE FUNCTION transaction_for_wallet(doc jsonb, viewer uuid) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN jsonb_set(doc, '{entries}', coalesce((
        SELECT jsonb_agg(CASE WHEN (entry ->> 'wallet_id')::uuid = viewer THEN entry
                              ELSE entry - ARRAY['balance_before', 'balance_after',
                                                 'held_before', 'held_after'] END
                         ORDER BY n)
        FROM jsonb_array_elements(doc -> 'entries') WITH ORDINALITY AS x(entry, n)), '[]'));
END $$;

CREATE OR REPLACE VIEW outbox_documents AS
SELECT o.id, o.event_id, o.event_type, o.wallet_id, o.sequence, o.journal_id,
       coalesce(o.trace_id, d.trace_id) AS trace_id,
       o.created_at, o.published_at, o.attempts, o.status, o.next_attempt_at, o.last_error,
       o.dead_lettered_at, o.feed_xid,
       CASE WHEN o.journal_id IS NULL OR o.payload ? 'transaction' THEN o.payload
            ELSE jsonb_build_object(
                     'wallet', jsonb_build_object(
                         'id', w.id, 'owner_id', w.owner_id,
                         'balance', e.balance_after, 'held', e.held_after,
                         'available', e.balance_after - e.held_after, 'version', o.sequence),
                     'transaction', transaction_for_wallet(d.body::jsonb, o.wallet_id))
                 || coalesce(o.payload, '{}')
       END AS payload,
       o.traceparent
FROM outbox o
LEFT JOIN wallets w ON w.id = o.wallet_id
LEFT JOIN entries e ON e.wallet_id = o.wallet_id AND e.journal_id = o.journal_id
LEFT JOIN transaction_documents d ON d.id = o.journal_id;

-- Where a new event of a wallet goes in the feed: this transaction's id, or the wallet's
-- previous event's position if that is later. VOLATILE, so that its query sees events
-- committed while the caller waited for the wallet's lock; call it after taking that lock.
CREATE OR REPLACE FUNCTION outbox_feed_position(p_wallet_id uuid) RETURNS xid8
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN greatest(pg_current_xact_id(),
                    (SELECT o.feed_xid FROM outbox o WHERE o.wallet_id = p_wallet_id
                     ORDER BY o.sequence DESC LIMIT 1));
END $$;
