"""Bulk postings: many deposits, withdrawals, transfers, holds and captures in one request."""
