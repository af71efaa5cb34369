"""What of a transaction each caller may see (one place for every answer and replay).

The SQL posting functions render the full transaction and store that text as the idempotent
answer. A ``user`` caller may see the balances of its own wallet only: on entries of any
other wallet, balance and held before/after are removed at response time. The same stored
text always gives the same bytes for the same caller, so a replay stays identical to the
first answer.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson

from wallet.auth.tokens import Principal

COUNTERPARTY_HIDDEN_FIELDS = ("balance_before", "balance_after", "held_before", "held_after")


def body_for_caller(body: str, caller: Principal) -> str | bytes:
    """``body`` (a transaction or hold answer) as ``caller`` may see it.

    A user's money request is always on a wallet it owns (``wallet_id``, enforced by the
    posting's required owner); every other entry belongs to someone else, because an owner
    has one wallet per currency. Bodies without entries (holds) pass through untouched.
    """
    if caller.owner_scope is None:
        return body  # payments and admin: the full view, byte for byte
    document: Any = orjson.loads(body)
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return body
    hide_counterparties(document, {document.get("wallet_id")})
    return orjson.dumps(document)


def hide_counterparties(document: dict[str, Any], own_wallets: Collection[object]) -> None:
    """Remove, in place, balances and held amounts from entries of wallets not in
    ``own_wallets`` (ids as the JSON has them)."""
    entries = document.get("entries")
    if not isinstance(entries, list):
        return
    for entry in entries:
        if entry.get("wallet_id") not in own_wallets:
            for field in COUNTERPARTY_HIDDEN_FIELDS:
                entry.pop(field, None)
