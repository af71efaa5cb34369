"""Operations endpoints: health, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

from tests.support import Api


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_metrics_count_balance_changes_and_failures(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 10)
    await api.move(wallet_id, "withdraw", {"amount": 11})
    text = (await api.http.get("/metrics")).text
    assert 'wallet_balance_changes_total{type="DEPOSIT"}' in text
    assert 'transfer_failures_total{reason="insufficient_funds",type="WITHDRAW"}' in text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="POST",route=' in text


async def test_openapi_documents_the_contract(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/v1/wallets",
        "/v1/wallets/{wallet_id}",
        "/v1/wallets/{wallet_id}/deposit",
        "/v1/wallets/{wallet_id}/withdraw",
        "/v1/wallets/{wallet_id}/transfer",
        "/v1/wallets/{wallet_id}/ledger",
    ):
        assert path in paths
    transfer_responses = paths["/v1/wallets/{wallet_id}/transfer"]["post"]["responses"]
    assert "insufficient_funds" in transfer_responses["422"]["description"]
    assert (await api.http.get("/docs")).status_code == 200


async def test_unknown_routes_are_problems_too(api: Api) -> None:
    response = await api.http.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
