"""Smoke test of a running deployment: token -> wallets -> deposit -> transfer -> event.

Used by scripts/container-check against the containers it starts; works against any
deployment given its URL, a payments token and its broker. Exits non-zero on the first thing
that is not as it must be. Binds its queue before moving money, so the event cannot be missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any
from uuid import uuid4

import aio_pika
import httpx


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"smoke test FAILED: {message}")


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers={"Idempotency-Key": uuid4().hex})
    _check(response.status_code == 201, f"POST {path}: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


async def _wait_for_event(
    queue: aio_pika.abc.AbstractQueue, *, transaction_id: str, seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    async with queue.iterator(timeout=seconds) as messages:
        async for message in messages:
            async with message.process():
                event: dict[str, Any] = json.loads(message.body)
            if event["type"] == "wallet.transfer.completed" and (
                event["data"]["transaction"]["id"] == transaction_id
            ):
                return event
            _check(time.monotonic() < deadline, "no transfer event in time")
    raise SystemExit("smoke test FAILED: the event stream ended")


async def smoke(args: argparse.Namespace) -> None:
    connection = await aio_pika.connect(args.rabbitmq_url, timeout=10)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            args.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="wallet.#")
        headers = {"Authorization": f"Bearer {args.token}"}
        async with httpx.AsyncClient(base_url=args.base_url, headers=headers, timeout=10) as client:
            ready = await client.get("/readyz")
            _check(ready.status_code == 200, f"/readyz: {ready.status_code} {ready.text}")
            owner = f"smoke-{uuid4().hex[:8]}"
            payer = await _post(client, "/v1/wallets", {"owner_id": owner, "currency": "USD"})
            payee = await _post(
                client, "/v1/wallets", {"owner_id": f"{owner}-b", "currency": "USD"}
            )
            await _post(client, f"/v1/wallets/{payer['id']}/deposit", {"amount": 5000})
            transfer = await _post(
                client,
                f"/v1/wallets/{payer['id']}/transfer",
                {"to_wallet_id": payee["id"], "amount": 1250},
            )
            balances = [
                (await client.get(f"/v1/wallets/{wallet['id']}")).json()["balance"]
                for wallet in (payer, payee)
            ]
            _check(balances == [3750, 1250], f"balances after the transfer: {balances}")
        event = await _wait_for_event(queue, transaction_id=transfer["id"], seconds=args.timeout)
        await channel.exchange_delete(args.exchange)
    finally:
        await connection.close()
    print(
        f"smoke test passed: transfer {transfer['id']} posted, balances {balances}, "
        f"event {event['type']} (id {event['id']}, sequence {event['sequence']}) received"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rabbitmq-url", required=True)
    parser.add_argument("--exchange", default="wallet.events")
    parser.add_argument("--timeout", type=float, default=30.0)
    asyncio.run(smoke(parser.parse_args()))


if __name__ == "__main__":
    main()
