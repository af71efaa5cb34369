"""What an audit record says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str  # the token subject, or "anonymous" before authentication
    action: str  # e.g. "auth.failed", "wallet.create", "admin.POST /v1/admin/reconcile"
    resource_type: str
    resource_id: str | None
    outcome: str  # "ok", "created", "posted", or the refusal's error code
    client_address: str | None
    trace_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing ``wallet audit verify`` found wrong."""

    table: str
    row: str  # the row's id (or the wallet's, for a head mismatch)
    problem: str  # changed | removed | inserted | chain_broken | ...
    detail: str

    def __str__(self) -> str:
        return f"{self.table} {self.row}: {self.problem} ({self.detail})"


@dataclass(frozen=True, slots=True)
class RequestAudit:
    """Who asked, from where, under which trace: what a mutation's audit row records."""

    actor: str
    client_address: str | None
    trace_id: str
