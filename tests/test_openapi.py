"""The document declares what the middleware, the RBAC matrix and outages make routes answer."""

from __future__ import annotations

from typing import Any

from tests.support import Api
from wallet.errors import PROBLEM_JSON

PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


async def _document(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = (await api.http.get("/openapi.json")).json()
    return document


async def test_every_error_answer_is_a_problem_and_fastapis_422_is_gone(api: Api) -> None:
    document = await _document(api)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"] == PROBLEM, (method, path, status)


async def test_money_routes_declare_limits_outages_and_the_required_key(api: Api) -> None:
    deposit = (await _document(api))["paths"]["/v1/wallets/{wallet_id}/deposit"]["post"]
    responses = deposit["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "429", "503"} <= set(responses)
    assert "idempotency_key_required" in responses["400"]["description"]
    for status in ("429", "503"):
        assert "Retry-After" in responses[status]["headers"]
    (key,) = [p for p in deposit["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True


async def test_release_keeps_the_key_optional_and_health_declares_no_errors(api: Api) -> None:
    paths = (await _document(api))["paths"]
    (key,) = [
        p
        for p in paths["/v1/holds/{hold_id}/release"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    ]
    assert key["required"] is False
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
