"""Admin calls, so the tests read as the flows they check."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx

from tests.support import Api
from wallet.auth.tokens import Role


class Admins:
    """Two admins (four eyes) and the calls they make."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.alice = api.token("admin-alice", Role.ADMIN)
        self.bob = api.token("admin-bob", Role.ADMIN)

    async def post(
        self, path: str, body: dict[str, Any] | None = None, *, token: str, key: str | None = None
    ) -> httpx.Response:
        headers = self.api.headers(token, key=key)
        return await self.api.http.post(path, json=body, headers=headers)

    async def reconcile(self) -> dict[str, Any]:
        response = await self.post("/v1/admin/reconcile", token=self.alice)
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()
        return run

    async def propose(self, body: dict[str, Any], *, token: str | None = None) -> httpx.Response:
        return await self.post(
            "/v1/admin/adjustments", body, token=token or self.alice, key=str(uuid4())
        )

    async def decide(self, adjustment_id: str, verdict: str, *, token: str) -> httpx.Response:
        body = {"reason": "checked the case"} if verdict == "reject" else None
        return await self.post(
            f"/v1/admin/adjustments/{adjustment_id}/{verdict}", body, token=token
        )


def findings_about(run: dict[str, Any], *ids: str) -> list[dict[str, Any]]:
    """The run's findings that concern these wallets or journals (the shared test database
    may hold other tests' leftovers)."""
    return [
        finding
        for finding in run["findings"]
        if finding["wallet_id"] in ids or finding["journal_id"] in ids
    ]
