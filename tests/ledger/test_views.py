"""The per-caller view of a transaction body (pure: no database)."""

from __future__ import annotations

import orjson

from wallet.auth.tokens import Principal, Role
from wallet.ledger.views import body_for_caller

_OWN, _OTHER = "11111111-1111-7111-8111-111111111111", "22222222-2222-7222-8222-222222222222"
_BODY = orjson.dumps(
    {
        "id": "33333333-3333-7333-8333-333333333333",
        "wallet_id": _OWN,
        "entries": [
            {
                "wallet_id": _OWN,
                "amount": -5,
                "balance_before": 9,
                "balance_after": 4,
                "held_before": 0,
                "held_after": 0,
            },
            {
                "wallet_id": _OTHER,
                "amount": 5,
                "balance_before": 1,
                "balance_after": 6,
                "held_before": 2,
                "held_after": 2,
            },
        ],
    }
).decode()


def test_platform_callers_get_the_stored_text_unchanged() -> None:
    caller = Principal(subject="ride-platform", roles=frozenset({Role.PAYMENTS}))
    assert body_for_caller(_BODY, caller) is _BODY


def test_user_sees_amount_and_wallet_only_on_other_wallets_deterministically() -> None:
    caller = Principal(subject="rider-1", roles=frozenset({Role.USER}))
    view = body_for_caller(_BODY, caller)
    assert view == body_for_caller(_BODY, caller)
    entries = orjson.loads(view)["entries"]
    assert entries[1] == {"wallet_id": _OTHER, "amount": 5}
    assert entries[0]["balance_after"] == 4


def test_a_body_without_entries_passes_through() -> None:
    caller = Principal(subject="rider-1", roles=frozenset({Role.USER}))
    hold = '{"id": "h", "wallet_id": "w", "amount": 5}'
    assert body_for_caller(hold, caller) is hold
