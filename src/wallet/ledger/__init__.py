"""The double-entry ledger: building postings (pure), storing them (SQL), reading entries."""
