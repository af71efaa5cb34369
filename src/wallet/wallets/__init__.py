"""Wallets: one per owner and currency."""
