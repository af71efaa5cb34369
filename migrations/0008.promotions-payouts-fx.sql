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
