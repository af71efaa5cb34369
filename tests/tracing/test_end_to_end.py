"""One trace from the caller's request through the database to the published event.

Runs the real service (``wallet serve``, with the worker's loops in the same process) with
OTLP/HTTP pointed at a receiver in this test, on a database of its own and a broker exchange
of its own, and reads back what the SDK exported: spans decoded from protobuf.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from tests.events import EventSink
from tests.tracing.otlp import OtlpReceiver, ReceivedSpan
from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings

SECRET = "tracing-test-signing-secret-long-enough-for-hs256"


@dataclass
class TracedService:
    http: httpx.AsyncClient
    receiver: OtlpReceiver
    sink: EventSink
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _other_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


@pytest.fixture(scope="module")
async def traced(
    database_url: str, rabbitmq_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TracedService]:
    tmp_path = tmp_path_factory.mktemp("traced")
    event_sink = await EventSink.open(rabbitmq_url, exchange_name=f"wallet.events.trace.{uuid4()}")
    name = f"wallet_trace_{uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    receiver = OtlpReceiver()
    await receiver.start()
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WALLET_")}
    env |= {
        "WALLET_DATABASE_URL": _other_database(database_url, name),
        "WALLET_RABBITMQ_URL": event_sink.url,
        "WALLET_RABBITMQ_EXCHANGE": event_sink.exchange_name,
        "WALLET_RUN_WORKER_IN_SERVER": "true",
        "WALLET_OUTBOX_POLL_SECONDS": "0.05",
        "WALLET_JWT_SECRET": SECRET,
        "WALLET_DATA_DIR": str(tmp_path),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_SERVICE_NAME": "wallet-trace-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wallet.cli", "serve", "--port", str(port),
            env=env, stdout=log_file, stderr=log_file,
        )  # fmt: skip
    token = issue_token(
        settings=Settings(jwt_secret=SECRET, data_dir=tmp_path),
        subject="trace-test",
        roles=[Role.PAYMENTS],
    )
    base_url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as http:
            for _ in range(300):
                assert server.returncode is None, log.read_text()
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            yield TracedService(http=http, receiver=receiver, sink=event_sink, log=log)
    finally:
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), timeout=20)
        except TimeoutError:
            server.kill()
        await receiver.stop()
        await event_sink.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _post(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    response = await http.post(path, json=body, headers={"Idempotency-Key": uuid4().hex, **headers})
    assert response.status_code == 201, response.text
    return response


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[str]:
    chain = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span.span_id)
    return chain


async def test_one_trace_connects_request_database_and_publish(traced: TracedService) -> None:
    http = traced.http
    payer = (await _post(http, "/v1/wallets", {"owner_id": "tp-1", "currency": "USD"})).json()
    payee = (await _post(http, "/v1/wallets", {"owner_id": "tp-2", "currency": "USD"})).json()
    await _post(http, f"/v1/wallets/{payer['id']}/deposit", {"amount": 5000})
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)

    response = await _post(
        http,
        f"/v1/wallets/{payer['id']}/transfer",
        {"to_wallet_id": payee["id"], "amount": 1250},
        traceparent=f"00-{caller_trace}-{caller_span}-01",
    )

    # The server span continues the caller's trace and is named in both response headers.
    version, trace_id, server_span_id, flags = response.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", caller_trace, "01")
    assert server_span_id != caller_span
    assert response.headers["x-trace-id"] == response.headers["traceparent"]
    transaction = response.json()
    assert transaction["trace_id"] == response.headers["traceparent"]

    def transfer_events() -> list[dict[str, Any]]:
        return [
            d.body
            for d in traced.sink.received
            if d.body["type"] == "wallet.transfer.completed"
            and d.body["data"]["transaction"]["id"] == transaction["id"]
        ]

    await traced.sink.wait_until(lambda: len(transfer_events()) == 2, what="both wallets' events")
    event_parents = set()
    for event in transfer_events():
        _, event_trace, event_parent, _ = event["traceparent"].split("-")
        assert event_trace == caller_trace  # the consumer joins the caller's trace
        event_parents.add(event_parent)

    receiver = traced.receiver
    await receiver.wait_for(
        lambda: event_parents <= {s.span_id for s in receiver.in_trace(caller_trace)},
        what="the publish spans",
    )
    await asyncio.sleep(0.5)  # what else the batch processor still holds
    spans = receiver.in_trace(caller_trace)
    by_id = {span.span_id: span for span in spans}
    (server,) = [s for s in spans if s.kind == "SERVER"]
    assert server.span_id == server_span_id and server.parent_span_id == caller_span
    assert server.service == "wallet-trace-test"
    assert server.name == "POST /v1/wallets/{wallet_id}/transfer"
    assert server.attributes["http.route"] == "/v1/wallets/{wallet_id}/transfer"
    assert server.attributes["http.response.status_code"] == 201

    (batch,) = [s for s in spans if s.name == "ledger.post_batch"]
    assert server.span_id in _ancestors(batch, by_id)
    posting_calls = [
        s
        for s in spans
        if s.kind == "CLIENT" and any("ledger_post" in str(v) for v in s.attributes.values())
    ]
    assert posting_calls, [(s.name, s.attributes) for s in spans if s.kind == "CLIENT"]
    assert all(batch.span_id in _ancestors(s, by_id) for s in posting_calls)
    assert all(s.attributes.get("db.system") == "postgresql" or s.attributes.get(
        "db.system.name") == "postgresql" for s in posting_calls)  # fmt: skip

    publishes = [s for s in spans if s.kind == "PRODUCER"]
    assert {s.span_id for s in publishes} == event_parents
    for publish in publishes:
        assert publish.name == "wallet.transfer.completed publish"
        assert publish.parent_span_id == server.span_id
        assert publish.attributes["messaging.system"] == "rabbitmq"
    print("trace", caller_trace, "spans:", sorted(f"{s.kind} {s.name}" for s in spans))


async def test_x_trace_id_still_wins_and_traceparent_is_returned(traced: TracedService) -> None:
    caller_trace = secrets.token_hex(16)
    response = await _post(
        traced.http,
        "/v1/wallets",
        {"owner_id": "tp-3", "currency": "EUR"},
        **{"X-Trace-Id": "ride-42", "traceparent": f"00-{caller_trace}-{secrets.token_hex(8)}-01"},
    )
    assert response.headers["x-trace-id"] == "ride-42"
    assert response.headers["traceparent"].split("-")[1] == caller_trace
    await traced.receiver.wait_for(
        lambda: any(s.kind == "SERVER" for s in traced.receiver.in_trace(caller_trace)),
        what="the request's server span",
    )


async def test_an_unsampled_request_keeps_its_context_and_makes_no_spans(
    traced: TracedService,
) -> None:
    """The caller said not sampled: its trace context still goes through, and nothing is
    recorded (not the request, its database calls, nor the batch that carried its posting)."""
    http = traced.http
    payer = (await _post(http, "/v1/wallets", {"owner_id": "tp-4", "currency": "USD"})).json()
    await _post(http, f"/v1/wallets/{payer['id']}/deposit", {"amount": 500})
    caller_trace = secrets.token_hex(16)
    response = await _post(
        http,
        f"/v1/wallets/{payer['id']}/withdraw",
        {"amount": 100},
        traceparent=f"00-{caller_trace}-{secrets.token_hex(8)}-00",
    )
    version, trace_id, _, flags = response.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", caller_trace, "00")
    assert response.json()["trace_id"] == response.headers["traceparent"]
    # A sampled request sent after it is exported; by then the unsampled one would have been.
    sampled_trace = secrets.token_hex(16)
    await _post(
        http,
        f"/v1/wallets/{payer['id']}/withdraw",
        {"amount": 100},
        traceparent=f"00-{sampled_trace}-{secrets.token_hex(8)}-01",
    )
    await traced.receiver.wait_for(
        lambda: any(s.name == "ledger.post_batch" for s in traced.receiver.in_trace(sampled_trace)),
        what="the sampled request's batch span",
    )
    await asyncio.sleep(0.3)
    assert traced.receiver.in_trace(caller_trace) == []
