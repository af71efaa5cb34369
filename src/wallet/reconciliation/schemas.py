"""Reconciliation response bodies."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class FindingOut(BaseModel):
    """One thing that does not add up: ``actual`` is what the books hold, ``expected`` what
    they should hold by the ledger's own rules."""

    id: UUID
    kind: str
    wallet_id: UUID | None
    journal_id: UUID | None
    currency: str | None
    expected: int
    actual: int
    detail: str | None = None


class RunSummary(BaseModel):
    id: UUID
    status: str = Field(description="RUNNING, COMPLETED or FAILED")
    trigger: str = Field(description="api, cli or schedule")
    requested_by: str
    started_at: datetime
    snapshot_at: datetime | None
    finished_at: datetime | None
    wallets_checked: int
    entries_checked: int
    journals_checked: int
    findings_count: int = Field(description="All findings; at most a configured number stored.")
    error: str | None
    trace_id: str


class RunOut(RunSummary):
    findings: list[FindingOut]


class RunPage(BaseModel):
    items: list[RunSummary]
    next_cursor: str | None
