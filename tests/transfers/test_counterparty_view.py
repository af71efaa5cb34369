"""A `user` never sees another owner's balances in a transaction it posts, nor in its replay."""

from __future__ import annotations

from uuid import uuid4

from tests.support import Api
from wallet.auth.tokens import Role
from wallet.ledger.views import COUNTERPARTY_HIDDEN_FIELDS


async def test_user_transfer_hides_the_recipients_balances_in_answer_and_replay(
    api: Api, owner: str
) -> None:
    source = await api.funded_wallet(owner, 1000)
    recipient = (await api.create_wallet(f"{owner}-driver"))["id"]
    await api.move(recipient, "deposit", {"amount": 777})
    user = api.token(subject=owner, role=Role.USER)
    key = str(uuid4())
    body = {"to_wallet_id": recipient, "amount": 300}

    first = await api.move(source, "transfer", body, token=user, key=key)
    replay = await api.move(source, "transfer", body, token=user, key=key)

    assert first.status_code == replay.status_code == 201, first.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content  # byte for byte
    by_wallet = {entry["wallet_id"]: entry for entry in first.json()["entries"]}
    assert by_wallet[recipient] == {"wallet_id": recipient, "amount": 300}
    own = by_wallet[source]
    assert (own["balance_before"], own["balance_after"]) == (1000, 700)
    assert (own["held_before"], own["held_after"]) == (0, 0)


async def test_payments_see_every_entry_in_full_in_answer_and_replay(api: Api, owner: str) -> None:
    source = await api.funded_wallet(owner, 1000)
    recipient = (await api.create_wallet(f"{owner}-driver"))["id"]
    key = str(uuid4())
    body = {"to_wallet_id": recipient, "amount": 250}
    first = await api.move(source, "transfer", body, key=key)
    replay = await api.move(source, "transfer", body, key=key)
    assert first.status_code == replay.status_code == 201, first.text
    assert replay.content == first.content
    for entry in first.json()["entries"]:
        assert set(COUNTERPARTY_HIDDEN_FIELDS) <= entry.keys()
