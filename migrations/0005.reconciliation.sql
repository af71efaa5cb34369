-- Reconciliation runs and their findings; corrections under four eyes; the admin action log.
--
-- Nothing here touches the money path: no trigger or index is added to wallets, journals,
-- entries or outbox. The one new posting path (ledger_align_entries) is for approved
-- corrections only.

CREATE TABLE reconciliation_runs (
    id               uuid PRIMARY KEY,
    trigger          text        NOT NULL CHECK (trigger IN ('api', 'cli', 'schedule')),
    requested_by     text        NOT NULL,
    status           text        NOT NULL DEFAULT 'RUNNING'
                     CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED')),
    started_at       timestamptz NOT NULL DEFAULT now(),
    -- The moment the run's snapshot was taken: every check sees the books as of then.
    snapshot_at      timestamptz,
    finished_at      timestamptz,
    wallets_checked  bigint      NOT NULL DEFAULT 0,
    entries_checked  bigint      NOT NULL DEFAULT 0,
    journals_checked bigint      NOT NULL DEFAULT 0,
    -- How many findings the checks produced; at most a configured number are stored.
    findings_count   bigint      NOT NULL DEFAULT 0,
    error            text,
    trace_id         text        NOT NULL,
    CONSTRAINT finished_run_has_finished_at CHECK ((status = 'RUNNING') = (finished_at IS NULL))
);
CREATE INDEX reconciliation_runs_completed ON reconciliation_runs (started_at DESC)
    WHERE status = 'COMPLETED';

CREATE TABLE reconciliation_findings (
    id         uuid PRIMARY KEY,
    run_id     uuid        NOT NULL REFERENCES reconciliation_runs (id),
    kind       text        NOT NULL,
    wallet_id  uuid,
    journal_id uuid,
    currency   char(3),
    -- numeric: a sum over a damaged ledger need not fit in bigint.
    expected   numeric     NOT NULL,
    actual     numeric     NOT NULL,
    -- What a hash-chain finding names: the table, the row and what happened to it.
    detail     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_findings_of_run ON reconciliation_findings (run_id, id);

-- A proposed correction: an ADJUSTMENT of one wallet against the currency's SUSPENSE wallet,
-- or the REVERSAL of a journal. Applied only when an admin other than the proposer approves.
CREATE TABLE adjustments (
    id                 uuid PRIMARY KEY,
    kind               text        NOT NULL CHECK (kind IN ('ADJUSTMENT', 'REVERSAL')),
    -- ALIGN_ENTRIES: entries catch up with the stored balance (which stands);
    -- MOVE_BALANCE: the balance moves by amount; REVERSE_JOURNAL: the journal is undone.
    method             text        NOT NULL
                       CHECK (method IN ('ALIGN_ENTRIES', 'MOVE_BALANCE', 'REVERSE_JOURNAL')),
    status             text        NOT NULL DEFAULT 'PENDING'
                       CHECK (status IN ('PENDING', 'APPLIED', 'REJECTED')),
    wallet_id          uuid        NOT NULL REFERENCES wallets (id),
    currency           char(3)     NOT NULL,
    amount             bigint      NOT NULL,   -- signed change of the wallet's ledger
    finding_id         uuid REFERENCES reconciliation_findings (id),
    target_journal_id  uuid REFERENCES journals (id),
    applied_journal_id uuid REFERENCES journals (id),
    reason             text        NOT NULL,
    proposed_by        text        NOT NULL,
    proposed_at        timestamptz NOT NULL DEFAULT now(),
    decided_by         text,
    decided_at         timestamptz,
    decision_reason    text,
    trace_id           text        NOT NULL,
    -- Four eyes, enforced at the lowest layer: nobody applies their own proposal.
    CONSTRAINT four_eyes CHECK (status <> 'APPLIED' OR decided_by <> proposed_by),
    CONSTRAINT decided_has_decider CHECK ((status = 'PENDING') = (decided_by IS NULL)),
    CONSTRAINT applied_has_journal CHECK ((status = 'APPLIED') = (applied_journal_id IS NOT NULL)),
    CONSTRAINT reversal_names_journal CHECK ((kind = 'REVERSAL') = (target_journal_id IS NOT NULL))
);
-- One live proposal per finding and per reversed journal: a retry cannot propose twice.
CREATE UNIQUE INDEX adjustments_one_per_finding ON adjustments (finding_id)
    WHERE finding_id IS NOT NULL AND status <> 'REJECTED';
CREATE UNIQUE INDEX adjustments_one_per_reversed_journal ON adjustments (target_journal_id)
    WHERE target_journal_id IS NOT NULL AND status <> 'REJECTED';
CREATE INDEX adjustments_newest_first ON adjustments (status, id DESC);

-- Every admin step (proposed, approved, rejected, frozen, unfrozen, closed): who, when, why.
CREATE TABLE admin_actions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action     text        NOT NULL,
    actor      text        NOT NULL,
    wallet_id  uuid        NOT NULL REFERENCES wallets (id),
    subject_id uuid,        -- the adjustment, when the action concerns one
    reason     text,
    details    jsonb       NOT NULL DEFAULT '{}',
    trace_id   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_actions_wallet ON admin_actions (wallet_id, id DESC);
CREATE TRIGGER admin_actions_append_only BEFORE UPDATE OR DELETE ON admin_actions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER admin_actions_no_truncate BEFORE TRUNCATE ON admin_actions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- An approved ALIGN_ENTRIES adjustment: the wallet's stored balance disagrees with the sum of
-- its entries by p_amount, and the customer was shown the stored balance, so it stands. The
-- journal adds an entry of p_amount to the wallet WITHOUT changing its stored balance (the
-- entry runs from what the ledger said to what the wallet shows) and an entry of -p_amount to
-- the currency's SUSPENSE wallet, whose balance does move: it carries the discrepancy.
-- ledger_apply cannot do this: it derives every entry from a balance change.
-- Checks on locked rows first (wallets in id order, like ledger_apply); refuses with
-- 'adjustment_stale' when the discrepancy is no longer p_amount, so it applies at most once.
CREATE FUNCTION ledger_align_entries(
    p_journal_id uuid, p_wallet_id uuid, p_amount bigint, p_metadata jsonb, p_trace_id text
) RETURNS ledger_result LANGUAGE plpgsql AS $$
DECLARE
    target       wallets%ROWTYPE;
    suspense     wallets%ROWTYPE;
    suspense_id  uuid;
    w            wallets%ROWTYPE;
    ledger_total numeric;
    created      timestamptz := now();
    entries_json json;
    body         text;
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
    SELECT coalesce(sum(amount), 0) INTO ledger_total FROM entries WHERE wallet_id = p_wallet_id;
    IF target.balance - ledger_total <> p_amount THEN
        RETURN ROW('adjustment_stale', 409, NULL)::ledger_result;
    END IF;
    IF suspense.balance::numeric - p_amount NOT BETWEEN -9223372036854775808 AND 9223372036854775807
       OR ledger_total NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
        RETURN ROW('amount_out_of_range', 422, NULL)::ledger_result;
    END IF;

    INSERT INTO journals (id, type, wallet_id, amount, currency, metadata, trace_id, created_at)
    VALUES (p_journal_id, 'ADJUSTMENT', p_wallet_id, abs(p_amount), target.currency,
            coalesce(p_metadata, '{}'), p_trace_id, created);
    UPDATE wallets SET version = version + 1, updated_at = created WHERE id = p_wallet_id
        RETURNING * INTO target;
    UPDATE wallets SET balance = balance - p_amount, version = version + 1, updated_at = created
        WHERE id = suspense_id RETURNING * INTO suspense;

    WITH written AS (
        INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                             balance_after, held_before, held_after, created_at)
        VALUES (p_journal_id, target.id, target.currency, p_amount,
                target.balance - p_amount, target.balance, target.held, target.held, created),
               (p_journal_id, suspense.id, target.currency, -p_amount,
                suspense.balance + p_amount, suspense.balance, suspense.held, suspense.held,
                created)
        RETURNING *
    )
    SELECT json_agg(json_build_object(
               'wallet_id', wallet_id, 'amount', amount,
               'balance_before', balance_before, 'balance_after', balance_after,
               'held_before', held_before, 'held_after', held_after)
           ORDER BY amount, wallet_id)
      INTO entries_json FROM written;

    body := json_build_object(
        'id', p_journal_id, 'type', 'ADJUSTMENT', 'status', 'POSTED',
        'amount', abs(p_amount), 'currency', target.currency, 'wallet_id', p_wallet_id,
        'entries', entries_json, 'reference_id', NULL, 'category', NULL,
        'metadata', coalesce(p_metadata, '{}'), 'hold_id', NULL,
        'related_transaction_id', NULL, 'trace_id', p_trace_id, 'created_at', created)::text;

    -- The adjusted wallet's event (every journal has one, system wallet or not).
    INSERT INTO outbox (event_id, event_type, wallet_id, sequence, journal_id, payload, trace_id,
                        created_at)
    VALUES (uuid_v7(), 'wallet.adjustment.completed', target.id, target.version, p_journal_id,
            jsonb_build_object('wallet', jsonb_build_object(
                                   'id', target.id, 'owner_id', target.owner_id,
                                   'balance', target.balance, 'held', target.held,
                                   'available', target.balance - target.held,
                                   'version', target.version),
                               'transaction', body::jsonb),
            p_trace_id, created);
    RETURN ROW('posted', 201, body)::ledger_result;
END $$;

-- Least privilege (when the security migration has created the application role): the
-- action log is append-only for the service too.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wallet_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON admin_actions FROM wallet_app;
    END IF;
END $$;
