-- Admin operations that the posting engine cannot express, and the action log's guards.

CREATE OR REPLACE TRIGGER admin_actions_append_only BEFORE UPDATE OR DELETE ON admin_actions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER admin_actions_no_truncate BEFORE TRUNCATE ON admin_actions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- An approved ALIGN_ENTRIES adjustment: the wallet's stored balance disagrees with the sum of
-- its entries by p_amount, and the customer was shown the stored balance, so it stands. The
-- journal adds an entry of p_amount to the wallet WITHOUT changing its stored balance (the
-- entry runs from what the ledger said to what the wallet shows) and an entry of -p_amount to
-- the currency's SUSPENSE wallet, whose balance does move: it carries the discrepancy.
-- The engine cannot do this: it derives every entry from a balance change.
-- Checks on locked rows first (wallets in id order, like the engine); refuses with
-- 'adjustment_stale' when the discrepancy is no longer p_amount, so it applies at most once.
CREATE OR REPLACE FUNCTION ledger_align_entries(
    p_journal_id uuid, p_wallet_id uuid, p_amount bigint, p_metadata jsonb, p_trace_id text
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    target       wallets%ROWTYPE;
    suspense     wallets%ROWTYPE;
    suspense_id  uuid;
    w            wallets%ROWTYPE;
    ledger_total numeric;
    created      timestamptz := now();
    j            journals;
    target_entry entries;
    suspense_entry entries;
BEGIN
    SELECT * INTO target FROM wallets WHERE id = p_wallet_id;
    IF NOT FOUND THEN
        RETURN ROW('wallet_not_found', 404, NULL)::ledger_result;
    END IF;
    suspense_id := system_wallet_id('SUSPENSE', target.currency);
    IF suspense_id = p_wallet_id OR p_amount = 0 THEN
        RETURN ROW('adjustment_not_applicable', 422, NULL)::ledger_result;
    END IF;
    FOR w IN SELECT * FROM wallets WHERE id IN (p_wallet_id, suspense_id) ORDER BY id FOR UPDATE
    LOOP
        IF w.id = p_wallet_id THEN target := w; ELSE suspense := w; END IF;
    END LOOP;
    IF target.status = 'CLOSED' THEN
        RETURN ROW('wallet_not_active', 409, NULL)::ledger_result;
    END IF;
    -- As in the engine: after either wallet's last change, so each wallet's entries stay in
    -- strict time order along its chain.
    created := greatest(created, target.updated_at + interval '1 microsecond',
                        suspense.updated_at + interval '1 microsecond');
    SELECT coalesce(sum(amount), 0) INTO ledger_total FROM entries WHERE wallet_id = p_wallet_id;
    IF target.balance - ledger_total <> p_amount THEN
        RETURN ROW('adjustment_stale', 409, NULL)::ledger_result;
    END IF;
    IF suspense.balance::numeric - p_amount NOT BETWEEN -9223372036854775808 AND 9223372036854775807
       OR ledger_total NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
        RETURN ROW('amount_out_of_range', 422, NULL)::ledger_result;
    END IF;

    j.id := p_journal_id;
    j.type := 'ADJUSTMENT';
    j.status := 'POSTED';
    j.wallet_id := p_wallet_id;
    j.amount := abs(p_amount);
    j.currency := target.currency;
    j.metadata := coalesce(p_metadata, '{}');
    j.trace_id := p_trace_id;
    j.created_at := created;

    target_entry.id := nextval(pg_get_serial_sequence('entries', 'id'));
    target_entry.journal_id := j.id;
    target_entry.wallet_id := target.id;
    target_entry.currency := target.currency;
    target_entry.amount := p_amount;
    target_entry.balance_before := target.balance - p_amount;
    target_entry.balance_after := target.balance;
    target_entry.held_before := target.held;
    target_entry.held_after := target.held;
    target_entry.created_at := created;
    target_entry.promotional := 0;  -- an alignment changes no promotional credit
    target_entry.row_hash := entry_kept_hash(
        entry_row_hash(coalesce(target.chain_head, '\x'::bytea), target_entry, j));

    suspense_entry.id := nextval(pg_get_serial_sequence('entries', 'id'));
    suspense_entry.journal_id := j.id;
    suspense_entry.wallet_id := suspense.id;
    suspense_entry.currency := target.currency;
    suspense_entry.amount := -p_amount;
    suspense_entry.balance_before := suspense.balance;
    suspense_entry.balance_after := suspense.balance - p_amount;
    suspense_entry.held_before := suspense.held;
    suspense_entry.held_after := suspense.held;
    suspense_entry.created_at := created;
    suspense_entry.promotional := 0;
    suspense_entry.row_hash := entry_kept_hash(
        entry_row_hash(coalesce(suspense.chain_head, '\x'::bytea), suspense_entry, j));

    -- The journal and its entries in one statement (the double-entry check is per statement).
    WITH written AS (INSERT INTO journals SELECT (j).*)
    INSERT INTO entries OVERRIDING SYSTEM VALUE
    SELECT (target_entry).* UNION ALL SELECT (suspense_entry).*;
    UPDATE wallets SET version = version + 1, chain_head = target_entry.row_hash,
                       updated_at = created, feed_xid = greatest(pg_current_xact_id(), feed_xid)
        WHERE id = p_wallet_id RETURNING * INTO target;
    UPDATE wallets SET balance = suspense_entry.balance_after, version = version + 1,
                       chain_head = suspense_entry.row_hash, updated_at = created
        WHERE id = suspense_id;

    -- The adjusted wallet's event (every journal has one, system wallet or not), rendered from
    -- the journal when it is read (outbox.sql).
    INSERT INTO outbox (event_id, event_type, wallet_id, sequence, journal_id, trace_id,
                        created_at, feed_xid)
    VALUES (uuid_v7(), 'wallet.adjustment.completed', target.id, target.version, p_journal_id,
            p_trace_id, created, target.feed_xid);
    RETURN ROW('posted', 201,
               (SELECT body FROM transaction_documents WHERE id = p_journal_id))::ledger_result;
END $$;
