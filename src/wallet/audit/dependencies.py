"""The audit context of a request, as a dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wallet.audit.schemas import RequestAudit
from wallet.audit.service import client_address_of
from wallet.auth.dependencies import Caller
from wallet.observability import TraceId


def request_audit(request: Request, caller: Caller, trace_id: TraceId) -> RequestAudit:
    return RequestAudit(
        actor=caller.subject, client_address=client_address_of(request), trace_id=trace_id
    )


AuditContext = Annotated[RequestAudit, Depends(request_audit)]
