"""The worker process: periodic background tasks (outbox publishing, pruning, hold expiry)."""
