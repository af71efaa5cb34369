"""The one way a posted transaction (or a hold step's answer) goes back over HTTP."""

from __future__ import annotations

from starlette.responses import Response

from wallet.auth.tokens import Principal
from wallet.ledger.service import PostedTransaction
from wallet.ledger.views import body_for_caller


def transaction_response(posted: PostedTransaction, caller: Principal) -> Response:
    """The posting's answer (first or replayed) as this caller may see it."""
    headers = {"Idempotent-Replayed": "true"} if posted.replayed else None
    return Response(
        content=body_for_caller(posted.body, caller),
        status_code=posted.status_code,
        media_type="application/json",
        headers=headers,
    )
