"""Reconciliation: prove the books balance, on a consistent snapshot, in bounded memory."""
