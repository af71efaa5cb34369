"""Transactions as a resource: lookup, search, and a wallet's balance at an instant."""
