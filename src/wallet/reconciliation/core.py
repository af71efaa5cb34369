"""What a reconciliation run checks and what it found. Pure values, no I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID


class FindingKind(StrEnum):
    # Per wallet
    BALANCE_MISMATCH = "balance_mismatch"  # stored balance <> sum of the wallet's entries
    HELD_MISMATCH = "held_mismatch"  # stored held <> sum of held changes in its entries
    HOLD_RESERVATION_MISMATCH = "hold_reservation_mismatch"  # held <> what HELD holds reserve
    NEGATIVE_AVAILABLE = "negative_available"  # a user wallet's balance - held < -credit_limit
    PROMOTIONAL_MISMATCH = "promotional_mismatch"  # promotional <> its ACTIVE grants' remaining
    PROMOTIONAL_EXCEEDS_BALANCE = "promotional_exceeds_balance"  # > balance + credit_limit
    # Global
    CURRENCY_UNBALANCED = "currency_unbalanced"  # a currency's balances do not sum to zero
    JOURNAL_UNBALANCED = "journal_unbalanced"  # a journal's entries do not sum to zero
    JOURNAL_WITHOUT_ENTRIES = "journal_without_entries"
    JOURNAL_CURRENCY_MISMATCH = "journal_currency_mismatch"  # an entry in another currency
    JOURNAL_WITHOUT_EVENT = "journal_without_event"  # a recent journal has no outbox row
    CHAIN_BROKEN = "chain_broken"  # an audit or ledger row changed, inserted or removed


class Phase(StrEnum):
    WALLETS = "wallets"
    JOURNALS = "journals"
    GLOBAL = "global"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    expected: int
    actual: int
    wallet_id: UUID | None = None
    journal_id: UUID | None = None
    currency: str | None = None
    detail: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Finding:
        """A finding as the check queries return it (sums as text: they may exceed bigint)."""
        wallet_id = row.get("wallet_id")
        journal_id = row.get("journal_id")
        return cls(
            kind=FindingKind(row["kind"]),
            expected=int(row["expected"]),
            actual=int(row["actual"]),
            wallet_id=UUID(str(wallet_id)) if wallet_id else None,
            journal_id=UUID(str(journal_id)) if journal_id else None,
            currency=row.get("currency"),
        )


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One keyset batch of a check: how far it got and what it found."""

    last_id: UUID | None
    rows: int
    entries: int
    findings: list[Finding]


@dataclass(slots=True)
class SnapshotReport:
    """The outcome of one pass over a snapshot. Findings are kept up to ``max_findings``."""

    max_findings: int
    wallets_checked: int = 0
    entries_checked: int = 0
    journals_checked: int = 0
    findings_count: int = 0
    findings: list[Finding] = field(default_factory=list)

    def add(self, findings: list[Finding]) -> None:
        self.findings_count += len(findings)
        room = self.max_findings - len(self.findings)
        if room > 0:
            self.findings.extend(findings[:room])

    def counts_by_kind(self) -> dict[FindingKind, int]:
        """Stored findings per kind, every kind present (zero when none)."""
        counts = dict.fromkeys(FindingKind, 0)
        for finding in self.findings:
            counts[finding.kind] += 1
        return counts


# Called after every batch with (phase, done, total); async so that callers may do I/O.
ProgressCallback = Callable[[Phase, int, int], Awaitable[None]]


def alignment_amount(*, expected: int, actual: int) -> int:
    """The entries a balance_mismatch needs: the stored balance (actual) stands."""
    return actual - expected
