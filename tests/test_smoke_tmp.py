from tests.support import Api


async def test_deposit_then_transfer(api: Api, owner: str) -> None:
    a = await api.funded_wallet(owner, 1000)
    b = (await api.create_wallet(owner + "-b"))["id"]
    r = await api.move(a, "transfer", {"to_wallet_id": b, "amount": 300})
    print(r.status_code, r.text)
    assert r.status_code == 201
    assert (await api.wallet(a))["balance"] == 700
