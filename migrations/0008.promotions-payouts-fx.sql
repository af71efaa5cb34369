-- Credit limits, promotional credit, FX and payouts (schema only; the functions are in the
-- SQL modules).

-- Credit limits: a user wallet's available (balance - held) may go down to -credit_limit.
-- 0 by default, which is the bound it always had.
ALTER TABLE wallets
    ADD COLUMN credit_limit bigint NOT NULL DEFAULT 0
        CONSTRAINT wallet_credit_limit_not_negative CHECK (credit_limit >= 0),
    DROP CONSTRAINT user_wallet_available_not_negative,
    ADD CONSTRAINT user_wallet_available_within_credit
        CHECK (kind <> 'USER' OR balance - held >= -credit_limit);

-- The books' wallets that promotional credit and currency exchange need.
ALTER TABLE wallets
    DROP CONSTRAINT wallets_kind_check,
    ADD CONSTRAINT wallets_kind_check
        CHECK (kind IN ('USER', 'EXTERNAL', 'SETTLEMENT', 'FEES', 'SUSPENSE', 'PROMOTIONS', 'FX'));

-- Promotional credit. wallets.promotional is the part of balance that is promotional credit
-- (always the sum of the wallet's ACTIVE grants' remaining); each entry records the signed
-- change of its wallet's promotional part, so a refund knows what was promotional.
ALTER TABLE wallets
    ADD COLUMN promotional bigint NOT NULL DEFAULT 0
        CONSTRAINT wallet_promotional_not_negative CHECK (promotional >= 0);
ALTER TABLE entries ADD COLUMN promotional bigint NOT NULL DEFAULT 0;
ALTER TYPE ledger_leg ADD ATTRIBUTE promotional bigint;
-- ledger.sql defines it again with a p_promotional argument (a fresh database has none yet).
DROP FUNCTION IF EXISTS ledger_leg_of(uuid, text, bigint, bigint);

CREATE TABLE credit_grants (
    id          uuid        PRIMARY KEY,  -- the id of the journal that granted it
    wallet_id   uuid        NOT NULL REFERENCES wallets (id),
    currency    char(3)     NOT NULL,
    amount      bigint      NOT NULL CHECK (amount > 0),
    remaining   bigint      NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    category    text        NOT NULL CHECK (category IN ('VOUCHER', 'PROMOTION', 'GIFT')),
    campaign    text,
    expires_at  timestamptz NOT NULL,
    status      text        NOT NULL DEFAULT 'ACTIVE'
                CHECK (status IN ('ACTIVE', 'SPENT', 'EXPIRED')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credit_grant_done_is_empty CHECK (status = 'ACTIVE' OR remaining = 0)
);
-- Spending order (soonest-expiring first) and the expiry worker's scan.
CREATE INDEX credit_grants_live ON credit_grants (wallet_id, expires_at, id)
    WHERE status = 'ACTIVE';
CREATE INDEX credit_grants_expiring ON credit_grants (expires_at) WHERE status = 'ACTIVE';
CREATE INDEX credit_grants_wallet ON credit_grants (wallet_id, id DESC);

-- Which grants a journal's promotional spending came from, and how much of it refunds gave
-- back to them since.
CREATE TABLE credit_grant_uses (
    journal_id uuid   NOT NULL REFERENCES journals (id),
    grant_id   uuid   NOT NULL REFERENCES credit_grants (id),
    amount     bigint NOT NULL CHECK (amount > 0),
    returned   bigint NOT NULL DEFAULT 0 CHECK (returned >= 0 AND returned <= amount),
    PRIMARY KEY (journal_id, grant_id)
);
CREATE INDEX credit_grant_uses_grant ON credit_grant_uses (grant_id);

-- Currency exchange. A leg may name its own currency (an exchange's other side); entries
-- already carry theirs and double entry is checked per (journal, currency).
ALTER TYPE ledger_leg ADD ATTRIBUTE currency text;

-- Rates as exact decimals: 1 unit of base costs `rate` units of quote (major units).
CREATE TABLE fx_rates (
    base       char(3)     NOT NULL,
    quote      char(3)     NOT NULL,
    rate       numeric     NOT NULL CHECK (rate > 0),
    source     text        NOT NULL,
    set_by     text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (base, quote),
    CHECK (base <> quote)
);

-- A rate locked for one caller and one pair of wallets until expires_at; used once.
CREATE TABLE fx_quotes (
    id             uuid        PRIMARY KEY,
    caller         text        NOT NULL,
    from_wallet_id uuid        NOT NULL REFERENCES wallets (id),
    to_wallet_id   uuid        NOT NULL REFERENCES wallets (id),
    from_currency  char(3)     NOT NULL,
    to_currency    char(3)     NOT NULL,
    sell_amount    bigint      NOT NULL CHECK (sell_amount > 0),
    buy_amount     bigint      NOT NULL CHECK (buy_amount > 0),
    spread_amount  bigint      NOT NULL CHECK (spread_amount >= 0),
    rate           numeric     NOT NULL,
    expires_at     timestamptz NOT NULL,
    journal_id     uuid        REFERENCES journals (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Driver payouts. A payout's money moves off the driver's wallet (cash only) into the
-- currency's PAYOUTS wallet when the payout is created, so nothing spent afterwards can
-- make it unpayable; from there it goes to EXTERNAL once the rail says PAID, or back to the
-- wallet when it says FAILED. Every step is a journal keyed by the payout's id.
ALTER TABLE wallets
    DROP CONSTRAINT wallets_kind_check,
    ADD CONSTRAINT wallets_kind_check
        CHECK (kind IN ('USER', 'EXTERNAL', 'SETTLEMENT', 'FEES', 'SUSPENSE', 'PROMOTIONS', 'FX',
                        'PAYOUTS'));

CREATE TABLE payout_runs (
    id           uuid        PRIMARY KEY,
    currency     char(3)     NOT NULL,
    threshold    bigint      NOT NULL CHECK (threshold >= 0),
    owner_prefix text,
    wallet_ids   uuid[],
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payouts (
    id             uuid        PRIMARY KEY,  -- also the idempotency key toward the rail
    run_id         uuid        NOT NULL REFERENCES payout_runs (id),
    wallet_id      uuid        NOT NULL REFERENCES wallets (id),
    owner_id       text        NOT NULL,
    currency       char(3)     NOT NULL,
    amount         bigint      NOT NULL CHECK (amount > 0),
    status         text        NOT NULL DEFAULT 'PENDING'
                   CHECK (status IN ('PENDING', 'SENT', 'PAID', 'FAILED')),
    attempts       integer     NOT NULL DEFAULT 0,
    failure_reason text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, wallet_id)
);
CREATE INDEX payouts_open ON payouts (updated_at) WHERE status IN ('PENDING', 'SENT');
CREATE INDEX payouts_run ON payouts (run_id, status);
