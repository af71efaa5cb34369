"""Refunds: give back part or all of a transfer or a capture, each refund its own journal.

Refunds of one transaction are cumulative and capped at what it moved. For a capture split
between several recipients, each refund takes from every recipient pro rata to what that
recipient still has unrefunded (see ``wallet.ledger.core.allocate_refund``).
"""
