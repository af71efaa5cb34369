"""Redis down: rate limits fall back to in-process counting, logged once, never a 500."""

from __future__ import annotations

import logging

import pytest

from tests.server import free_port  # nothing listens there
from tests.support import Api, started_app
from wallet.auth.tokens import Role
from wallet.config import Settings


async def test_unreachable_redis_falls_back_to_in_process_limits(
    api: Api, owner: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
            "rate_limit_user": "3/minute",
        }
    )
    wallet_id = await api.funded_wallet(owner, 10)
    user = {"Authorization": f"Bearer {api.token(owner, Role.USER)}"}
    caplog.set_level(logging.WARNING, logger="wallet.ratelimit")
    async with started_app(down) as client:
        statuses = [
            (await client.get(f"/v1/wallets/{wallet_id}", headers=user)).status_code
            for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]  # still limited, per process
    fallbacks = [r for r in caplog.records if "counting in process" in r.getMessage()]
    assert len(fallbacks) == 1
