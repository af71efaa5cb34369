"""The outbox publisher: claimed rows out to the broker, marked only after its confirm.

One round is one database transaction: claim rows (locked, so other workers skip them),
publish them, wait for every confirm, mark what the broker acknowledged, commit. If the process
dies before the commit, the locks go with its connection and the rows are still PENDING, so
they are published again: delivery is at least once, duplicates carry the same event id.

Failures are of two kinds. The broker being unreachable (or the connection breaking) is not
the event's fault: the rows stay as they are and the runner retries the round with backoff.
A message the broker refuses (nack) or one that can never be a valid message is the event's
fault: its row is retried with exponential backoff and jitter and, after ``max_attempts``,
dead-lettered (status DEAD, counted, logged) so the wallet's later events go on.
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wallet.config import Settings
from wallet.db.pool import Pool, transaction
from wallet.outbox import repository
from wallet.outbox.broker import Broker, BrokerUnavailable, PublishRejected
from wallet.outbox.core import EventNotPublishable, OutboxEvent, encode_message, retry_delay
from wallet.outbox.metrics import (
    OUTBOX_DEAD_LETTERED,
    OUTBOX_EVENT_LAG,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISH_LATENCY,
    OUTBOX_PUBLISHED,
)
from wallet.outbox.repository import FailedAttempt
from wallet.tracing import publish_span

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublisherConfig:
    """The publisher's settings; their defaults live in ``Settings`` alone."""

    source: str
    wallets_per_round: int
    events_per_wallet: int
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    confirm_timeout_seconds: float
    max_message_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PublisherConfig:
        return cls(
            source=settings.events_source,
            wallets_per_round=settings.outbox_wallets_per_round,
            events_per_wallet=settings.outbox_events_per_wallet,
            max_attempts=settings.outbox_max_attempts,
            retry_base_seconds=settings.outbox_retry_base_seconds,
            retry_max_seconds=settings.outbox_retry_max_seconds,
            confirm_timeout_seconds=settings.outbox_confirm_timeout_seconds,
            max_message_bytes=settings.outbox_max_message_bytes,
        )


@dataclass
class _Round:
    published: list[OutboxEvent] = field(default_factory=list)
    failures: list[FailedAttempt] = field(default_factory=list)
    broker_lost: BrokerUnavailable | None = None


class OutboxPublisher:
    def __init__(self, *, pool: Pool, broker: Broker, config: PublisherConfig) -> None:
        self._pool = pool
        self._broker = broker
        self._config = config

    async def publish_due(self) -> int:
        """One round; returns how many rows it claimed (0: nothing due)."""
        await self._broker.connect()
        async with transaction(self._pool) as conn:
            events = await repository.claim_due(
                conn,
                heads=self._config.wallets_per_round,
                per_wallet=self._config.events_per_wallet,
            )
            if not events:
                return 0
            outcome = await self._publish(events)
            await repository.mark_published(conn, events=outcome.published)
            await repository.record_failures(conn, outcome.failures)
        self._observe(outcome)
        if outcome.broker_lost is not None:
            await self._broker.close()
            raise outcome.broker_lost
        return len(events)

    async def _publish(self, events: list[OutboxEvent]) -> _Round:
        """In waves: each wave holds the next event of every wallet, sent as one batch.

        A wallet's event goes out only after the broker confirmed the one before it, so
        confirms are pipelined across wallets, never within one. A wallet's chain stops at its
        first failure: its later events must not overtake it.
        """
        outcome = _Round()
        chains = [
            collections.deque(chain)
            for _, chain in itertools.groupby(events, key=lambda e: e.wallet_id)
        ]
        while chains and outcome.broker_lost is None:
            wave = [chain.popleft() for chain in chains]
            confirmed = await self._publish_wave(wave, outcome)
            chains = [chain for chain, ok in zip(chains, confirmed, strict=True) if ok and chain]
        return outcome

    async def _publish_wave(self, wave: list[OutboxEvent], outcome: _Round) -> list[bool]:
        """Publish one event per wallet; says, per event, whether it was confirmed."""
        confirmed = [False] * len(wave)
        sendable: list[tuple[int, OutboxEvent, bytes]] = []
        for index, event in enumerate(wave):
            try:
                # The span covers the message's making: its traceparent goes in the message;
                # the wave's confirms arrive together afterwards.
                with publish_span(event) as traceparent:
                    body = encode_message(
                        event,
                        source=self._config.source,
                        max_bytes=self._config.max_message_bytes,
                        traceparent=traceparent,
                    )
            except EventNotPublishable as exc:
                outcome.failures.append(self._failed(event, exc, "unpublishable"))
                continue
            sendable.append((index, event, body))
        if not sendable:
            return confirmed
        started = time.perf_counter()
        try:
            results = await self._broker.publish_batch(
                [(event, body) for _, event, body in sendable],
                confirm_timeout=self._config.confirm_timeout_seconds,
            )
        except BrokerUnavailable as exc:
            results = [exc] * len(sendable)
        elapsed = time.perf_counter() - started
        for (index, event, _), result in zip(sendable, results, strict=True):
            if result is None:
                OUTBOX_PUBLISH_LATENCY.observe(elapsed)
                outcome.published.append(event)
                confirmed[index] = True
            elif isinstance(result, PublishRejected):
                outcome.failures.append(self._failed(event, result, "nack"))
            elif outcome.broker_lost is None:
                OUTBOX_PUBLISH_FAILURES.labels("broker_unavailable").inc()
                outcome.broker_lost = (
                    result
                    if isinstance(result, BrokerUnavailable)
                    else BrokerUnavailable(str(result))
                )
        return confirmed

    def _failed(self, event: OutboxEvent, exc: Exception, reason: str) -> FailedAttempt:
        OUTBOX_PUBLISH_FAILURES.labels(reason).inc()
        attempts = event.attempts + 1
        dead = attempts >= self._config.max_attempts
        retry_in = retry_delay(
            attempts,
            base_seconds=self._config.retry_base_seconds,
            max_seconds=self._config.retry_max_seconds,
        )
        details = {
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "wallet_id": str(event.wallet_id),
            "sequence": event.sequence,
            "attempts": attempts,
            "reason": reason,
            "error": str(exc),
        }
        if dead:
            logger.error("outbox event dead-lettered", extra=details)
        else:
            logger.warning("outbox event not published; will retry", extra=details)
        return FailedAttempt(
            wallet_id=event.wallet_id,
            sequence=event.sequence,
            attempts=attempts,
            retry_in_seconds=retry_in,
            error=str(exc),
            dead=dead,
        )

    @staticmethod
    def _observe(outcome: _Round) -> None:
        """Counted after the commit: only what the database now says happened."""
        now = datetime.now(UTC)
        for event in outcome.published:
            OUTBOX_EVENT_LAG.observe(max((now - event.created_at).total_seconds(), 0.0))
        OUTBOX_PUBLISHED.inc(len(outcome.published))
        OUTBOX_DEAD_LETTERED.inc(sum(1 for failure in outcome.failures if failure.dead))
