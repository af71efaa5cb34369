"""Readiness follows the database only: a broker outage is reported, never a failure."""

from __future__ import annotations

from tests.server import free_port  # nothing listens there
from tests.support import started_app
from wallet.config import Settings


async def test_an_unreachable_broker_is_reported_but_the_service_stays_ready(
    settings: Settings,
) -> None:
    down = settings.model_copy(
        update={"rabbitmq_url": f"amqp://guest:guest@127.0.0.1:{free_port()}/"}
    )
    async with started_app(down) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}
