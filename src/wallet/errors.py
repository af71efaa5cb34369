"""One error hierarchy with stable machine codes, rendered as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"


class WalletError(Exception):
    """Base of every expected error: carries the HTTP status and a stable ``code``."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}


class NotAuthenticated(WalletError):
    status_code = 401
    code = "not_authenticated"
    title = "Missing or invalid bearer token"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'


class Forbidden(WalletError):
    status_code = 403
    code = "forbidden"
    title = "This role may not do that"


class WalletNotFound(WalletError):
    status_code = 404
    code = "wallet_not_found"
    title = "Wallet not found"


class TransactionNotFound(WalletError):
    status_code = 404
    code = "transaction_not_found"
    title = "Transaction not found"


class WalletAlreadyExists(WalletError):
    status_code = 409
    code = "wallet_already_exists"
    title = "The owner already has a wallet in this currency"


class WalletNotActive(WalletError):
    status_code = 409
    code = "wallet_not_active"
    title = "Wallet is not active"


class InsufficientFunds(WalletError):
    status_code = 422
    code = "insufficient_funds"
    title = "Insufficient available funds"


class InsufficientWithdrawableFunds(WalletError):
    """Promotional credit pays for rides but never leaves as cash or goes to another owner."""

    status_code = 422
    code = "insufficient_withdrawable_funds"
    title = "Insufficient withdrawable funds"


class AmountOutOfRange(WalletError):
    status_code = 422
    code = "amount_out_of_range"
    title = "The resulting balance would exceed what a wallet can hold"


class CurrencyMismatch(WalletError):
    status_code = 422
    code = "currency_mismatch"
    title = "Wallets hold different currencies"


class SameWallet(WalletError):
    status_code = 422
    code = "same_wallet"
    title = "Source and destination are the same wallet"


class InvalidCursor(WalletError):
    status_code = 400
    code = "invalid_cursor"
    title = "The cursor is not one this service issued"


class IdempotencyKeyRequired(WalletError):
    status_code = 400
    code = "idempotency_key_required"
    title = "Idempotency-Key header is required"


class IdempotencyKeyReused(WalletError):
    status_code = 422
    code = "idempotency_key_reused"
    title = "Idempotency-Key was already used for a different request"


class IdempotencyKeyInUse(WalletError):
    status_code = 409
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still in progress"


class RequestValidationFailed(WalletError):
    status_code = 422
    code = "validation_error"
    title = "The request is not valid"


ERRORS_BY_CODE: dict[str, type[WalletError]] = {
    cls.code: cls
    for cls in (
        WalletNotFound,
        WalletNotActive,
        InsufficientFunds,
        AmountOutOfRange,
        CurrencyMismatch,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
    )
}


# --- Holds and refunds -------------------------------------------------------------


class HoldNotFound(WalletError):
    status_code = 404
    code = "hold_not_found"
    title = "Hold not found"


class HoldNotActive(WalletError):
    status_code = 409
    code = "hold_not_active"
    title = "The hold is no longer HELD (captured, released or past its expiry)"


class HoldExceeded(WalletError):
    status_code = 422
    code = "hold_exceeded"
    title = "More than the hold still reserves"


class HoldAmountBelowCaptured(WalletError):
    status_code = 422
    code = "hold_amount_below_captured"
    title = "A hold's amount must stay above what was already captured"


class TransactionNotRefundable(WalletError):
    status_code = 422
    code = "transaction_not_refundable"
    title = "Only transfers and captures can be refunded"


class RefundExceeded(WalletError):
    status_code = 422
    code = "refund_exceeded"
    title = "More than what is left to refund of the transaction"


ERRORS_BY_CODE.update(
    {
        cls.code: cls
        for cls in (
            SameWallet,
            TransactionNotFound,
            HoldNotFound,
            HoldNotActive,
            HoldExceeded,
            HoldAmountBelowCaptured,
            TransactionNotRefundable,
            RefundExceeded,
        )
    }
)

# --- end of holds and refunds ------------------------------------------------------------------


def problem_response(
    *,
    status_code: int,
    code: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:wallet:problem:{code}",
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    body.update(extra or {})
    return Response(
        content=orjson.dumps(body),
        status_code=status_code,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def problem_document(error: WalletError) -> dict[str, Any]:
    """The problem an error answers with, as a JSON object (a batch item's ``problem``)."""
    return {
        "type": f"urn:wallet:problem:{error.code}",
        "title": error.title,
        "status": error.status_code,
        "detail": error.detail,
        "code": error.code,
    }


def problem_for(error: WalletError) -> Response:
    return problem_response(
        status_code=error.status_code,
        code=error.code,
        title=error.title,
        detail=error.detail,
        extra=error.extra,
        headers=error.headers,
    )


async def _wallet_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, WalletError)
    return problem_for(exc)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"loc": list(error["loc"]), "message": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem_for(RequestValidationFailed("The request has invalid fields", errors=fields))


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "malformed_body",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }.get(exc.status_code, "http_error")
    return problem_response(
        status_code=exc.status_code,
        code=code,
        title=str(exc.detail),
        detail=str(exc.detail),
        headers=dict(exc.headers or {}),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WalletError, _wallet_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def problem_doc(*errors: type[WalletError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the errors a route can return."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = responses.setdefault(
            error.status_code, {"description": "", "content": {PROBLEM_JSON: {}}}
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], error.code]))
    return responses


# --- Reconciliation and admin operations -------------------------------------------


class ReconciliationInProgress(WalletError):
    status_code = 409
    code = "reconciliation_in_progress"
    title = "A reconciliation run is already in progress"


class ReconciliationNotFound(WalletError):
    status_code = 404
    code = "reconciliation_not_found"
    title = "Reconciliation run not found"


class FindingNotFound(WalletError):
    status_code = 404
    code = "finding_not_found"
    title = "Finding not found"


class AdjustmentNotApplicable(WalletError):
    status_code = 422
    code = "adjustment_not_applicable"
    title = "This finding or wallet cannot be corrected by an adjustment"


class AdjustmentNotFound(WalletError):
    status_code = 404
    code = "adjustment_not_found"
    title = "Adjustment not found"


class AdjustmentAlreadyProposed(WalletError):
    status_code = 409
    code = "adjustment_already_proposed"
    title = "A live proposal already exists for this finding or transaction"


class AdjustmentAlreadyDecided(WalletError):
    status_code = 409
    code = "adjustment_already_decided"
    title = "The adjustment was already applied or rejected"


class AdjustmentStale(WalletError):
    status_code = 409
    code = "adjustment_stale"
    title = "The discrepancy changed since the proposal; run a reconciliation again"


class FourEyesRequired(WalletError):
    status_code = 403
    code = "four_eyes_required"
    title = "A different admin must approve this proposal"


class TransactionNotReversible(WalletError):
    status_code = 422
    code = "transaction_not_reversible"
    title = "This transaction cannot be reversed"


class TransactionAlreadyReversed(WalletError):
    status_code = 409
    code = "transaction_already_reversed"
    title = "This transaction was already reversed"


class WalletNotEmpty(WalletError):
    status_code = 409
    code = "wallet_not_empty"
    title = "Only a wallet with zero balance and zero held can be closed"


ERRORS_BY_CODE.update(
    {cls.code: cls for cls in (AdjustmentStale, AdjustmentNotApplicable)},
)


# --- Security: rate limits and request size -------------------------------------


class RateLimited(WalletError):
    status_code = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        super().__init__(detail, retry_after=retry_after_seconds)
        self.headers["Retry-After"] = str(retry_after_seconds)


class PayloadTooLarge(WalletError):
    status_code = 413
    code = "payload_too_large"
    title = "The request body is too large"


# --- Faults: a dependency is down (DESIGN D13) --------------------------------------


class DatabaseUnavailable(WalletError):
    """The database could not be reached or the connection died: retry, never a bug."""

    status_code = 503
    code = "database_unavailable"
    title = "The database is unavailable"
    retry_after_seconds: ClassVar[int] = 2

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["Retry-After"] = str(self.retry_after_seconds)


ERRORS_BY_CODE[DatabaseUnavailable.code] = DatabaseUnavailable
ERRORS_BY_CODE[InsufficientWithdrawableFunds.code] = InsufficientWithdrawableFunds


# --- FX ---------------------------------------------------------------------------


class QuoteNotFound(WalletError):
    """Unknown, or another caller's, or for other wallets."""

    status_code = 404
    code = "quote_not_found"
    title = "FX quote not found"


class QuoteExpired(WalletError):
    """Past its expiry, or already used: ask for a new quote."""

    status_code = 409
    code = "quote_expired"
    title = "FX quote expired or already used"


class FxRateNotFound(WalletError):
    status_code = 422
    code = "fx_rate_not_found"
    title = "No FX rate for this currency pair"


ERRORS_BY_CODE.update({cls.code: cls for cls in (QuoteNotFound, QuoteExpired, FxRateNotFound)})


class PayoutRunNotFound(WalletError):
    status_code = 404
    code = "payout_run_not_found"
    title = "Payout run not found"


ERRORS_BY_CODE[PayoutRunNotFound.code] = PayoutRunNotFound


# --- Batches, transactions as a resource (issue 11) ---------------------------------


class BatchRejected(WalletError):
    """An atomic batch with a refused item: nothing posted; ``item_index`` and
    ``item_problem`` say which item and why."""

    status_code = 422
    code = "batch_rejected"
    title = "An item of the atomic batch was refused; nothing was posted"
