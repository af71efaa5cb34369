"""What every route that calls a SQL money function (holds, refunds) needs, as a dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from wallet.audit.service import client_address_of
from wallet.auth.tokens import Principal
from wallet.db.session import DbConnection
from wallet.ledger.calls import MoneyCall
from wallet.ledger.core import request_fingerprint
from wallet.observability import TraceId


class CallParts:
    """The request, its transaction's connection and its trace id, gathered once."""

    def __init__(self, request: Request, conn: DbConnection, trace_id: TraceId) -> None:
        self.request = request
        self.conn = conn
        self.trace_id = trace_id

    def call(self, caller: Principal, key: str | None, body: BaseModel | None) -> MoneyCall:
        """Who is asking, under which key, for exactly what."""
        fingerprint = request_fingerprint(
            method=self.request.method,
            path=self.request.url.path,
            body=body.model_dump(mode="json") if body is not None else {},
        )
        return MoneyCall(
            caller=caller.subject,
            idempotency_key=key,
            fingerprint=fingerprint,
            trace_id=self.trace_id,
            required_owner=caller.owner_scope,
            client_address=client_address_of(self.request),
        )


async def call_parts(request: Request, conn: DbConnection, trace_id: TraceId) -> CallParts:
    # An async factory: FastAPI would run a class dependency in its thread pool.
    return CallParts(request, conn, trace_id)


CallRequest = Annotated[CallParts, Depends(call_parts)]
