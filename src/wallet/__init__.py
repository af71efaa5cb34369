"""wallet-service: wallets, holds and a double-entry ledger on PostgreSQL."""
