"""Admin use cases: propose, approve and reject corrections; freeze, unfreeze, close wallets;
set credit limits.

Every step runs in the caller's transaction, is logged in admin_actions (who, when, why) and,
except approvals, published as an event on the wallet's stream; an approval's event is the
journal it posts, whose metadata names the proposal, the proposer and the approver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.admin import repository
from wallet.admin.core import (
    WALLET_ACTION_EVENTS,
    AdjustmentMethod,
    AdjustmentStatus,
    WalletAction,
    next_status,
    plan_reversal,
    should_apply,
    should_reject,
)
from wallet.admin.schemas import (
    AdjustmentList,
    AdjustmentOut,
    AdjustmentRequest,
    FindingAdjustmentRequest,
    WalletAdjustmentRequest,
)
from wallet.db.pool import Connection
from wallet.errors import (
    ERRORS_BY_CODE,
    AdjustmentAlreadyProposed,
    AdjustmentNotApplicable,
    AdjustmentNotFound,
    FindingNotFound,
    InsufficientFunds,
    InvalidCursor,
    TransactionAlreadyReversed,
    TransactionNotFound,
    WalletNotActive,
    WalletNotFound,
)
from wallet.ledger import core as ledger
from wallet.ledger.core import JournalType, Posting, PostingContext
from wallet.ledger.service import post_one
from wallet.money import MAX_AMOUNT
from wallet.paging import decode_cursor, encode_cursor
from wallet.reconciliation import repository as reconciliation
from wallet.reconciliation.core import FindingKind, alignment_amount
from wallet.wallets.repository import find_wallet
from wallet.wallets.schemas import WalletOut


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, under which trace."""

    subject: str
    trace_id: str


@dataclass(frozen=True, slots=True)
class IdempotentAnswer:
    status_code: int
    body: str
    replayed: bool


async def idempotently(
    conn: Connection,
    *,
    actor: Actor,
    key: str,
    fingerprint: str,
    create: Callable[[], Awaitable[AdjustmentOut]],
) -> IdempotentAnswer:
    """Create once per Idempotency-Key; a retry gets the first answer back, byte for byte."""
    outcome, status_code, body = await repository.idempotency_begin(
        conn, caller=actor.subject, key=key, fingerprint=fingerprint
    )
    if outcome == "replayed" and status_code is not None and body is not None:
        return IdempotentAnswer(status_code=status_code, body=body, replayed=True)
    if outcome != "new":
        raise ERRORS_BY_CODE[outcome]()
    body = (await create()).model_dump_json()
    await repository.idempotency_finish(
        conn, caller=actor.subject, key=key, fingerprint=fingerprint, status_code=201, body=body
    )
    return IdempotentAnswer(status_code=201, body=body, replayed=False)


async def propose_adjustment(
    conn: Connection, *, request: AdjustmentRequest, actor: Actor
) -> AdjustmentOut:
    if isinstance(request, FindingAdjustmentRequest):
        wallet_id, amount, method = await _from_finding(conn, request.finding_id)
        finding_id: UUID | None = request.finding_id
    else:
        wallet_id, amount, method = await _for_wallet(conn, request)
        finding_id = None
    return await _propose(
        conn,
        kind=JournalType.ADJUSTMENT,
        method=method,
        wallet_id=wallet_id,
        amount=amount,
        finding_id=finding_id,
        target_journal_id=None,
        reason=request.reason,
        actor=actor,
    )


async def _from_finding(conn: Connection, finding_id: UUID) -> tuple[UUID, int, AdjustmentMethod]:
    finding = await reconciliation.find_finding(conn, finding_id=finding_id)
    if finding is None:
        raise FindingNotFound()
    if finding["kind"] != FindingKind.BALANCE_MISMATCH or finding["wallet_id"] is None:
        raise AdjustmentNotApplicable(
            f"Only {FindingKind.BALANCE_MISMATCH} findings are corrected by an adjustment"
        )
    amount = alignment_amount(expected=int(finding["expected"]), actual=int(finding["actual"]))
    if abs(amount) > MAX_AMOUNT:
        raise AdjustmentNotApplicable("The discrepancy exceeds what one adjustment can carry")
    return finding["wallet_id"], amount, AdjustmentMethod.ALIGN_ENTRIES


async def _for_wallet(
    conn: Connection, request: WalletAdjustmentRequest
) -> tuple[UUID, int, AdjustmentMethod]:
    if await find_wallet(conn, wallet_id=request.wallet_id, owner_scope=None) is None:
        raise WalletNotFound()
    return request.wallet_id, request.amount, AdjustmentMethod.MOVE_BALANCE


async def propose_reversal(
    conn: Connection, *, journal_id: UUID, reason: str, actor: Actor
) -> AdjustmentOut:
    journal = await repository.journal_with_entries(conn, journal_id=journal_id)
    if journal is None:
        raise TransactionNotFound()
    if journal["reversed"]:
        raise TransactionAlreadyReversed()
    plan_reversal(
        journal_type=journal["type"], hold_id=journal["hold_id"], entries=journal["entries"]
    )
    # The addressed wallet's own change, negated: what the reversal does to it.
    own_change = sum(
        entry.amount for entry in journal["entries"] if entry.wallet_id == journal["wallet_id"]
    )
    return await _propose(
        conn,
        kind=JournalType.REVERSAL,
        method=AdjustmentMethod.REVERSE_JOURNAL,
        wallet_id=journal["wallet_id"],
        amount=-own_change,
        finding_id=None,
        target_journal_id=journal_id,
        reason=reason,
        actor=actor,
    )


async def _propose(
    conn: Connection,
    *,
    kind: JournalType,
    method: AdjustmentMethod,
    wallet_id: UUID,
    amount: int,
    finding_id: UUID | None,
    target_journal_id: UUID | None,
    reason: str,
    actor: Actor,
) -> AdjustmentOut:
    wallet = await repository.lock_wallet(conn, wallet_id=wallet_id)
    if wallet is None:
        raise WalletNotFound()
    if wallet["status"] == "CLOSED":
        raise WalletNotActive("The wallet is closed")
    if method is AdjustmentMethod.ALIGN_ENTRIES and wallet["kind"] == "SUSPENSE":
        raise AdjustmentNotApplicable("SUSPENSE cannot carry its own discrepancy")
    row = await repository.insert_adjustment(
        conn,
        adjustment_id=uuid7(),
        kind=kind.value,
        method=method.value,
        wallet_id=wallet_id,
        currency=wallet["currency"],
        amount=amount,
        finding_id=finding_id,
        target_journal_id=target_journal_id,
        reason=reason,
        proposed_by=actor.subject,
        trace_id=actor.trace_id,
    )
    if row is None:
        raise AdjustmentAlreadyProposed()
    adjustment = AdjustmentOut.model_validate(row)
    await _record(conn, adjustment, action="proposed", actor=actor, reason=reason, publish=True)
    return adjustment


async def approve(
    conn: Connection, *, adjustment_id: UUID, reason: str | None, actor: Actor
) -> AdjustmentOut:
    """Apply a proposal: by an admin other than its proposer, once however often asked."""
    adjustment = await _locked(conn, adjustment_id)
    if not should_apply(
        status=adjustment.status, proposed_by=adjustment.proposed_by, approver=actor.subject
    ):
        return adjustment  # already applied: approving again changes nothing
    journal_id = uuid7()
    metadata = {
        "adjustment_id": str(adjustment.id),
        "reason": adjustment.reason,
        "proposed_by": adjustment.proposed_by,
        "approved_by": actor.subject,
    }
    await _apply(conn, adjustment, journal_id=journal_id, metadata=metadata, actor=actor)
    row = await repository.decide_adjustment(
        conn,
        adjustment_id=adjustment.id,
        status=AdjustmentStatus.APPLIED,
        decided_by=actor.subject,
        reason=reason,
        applied_journal_id=journal_id,
    )
    approved = AdjustmentOut.model_validate(row)
    await _record(conn, approved, action="approved", actor=actor, reason=reason, publish=False)
    return approved


async def _apply(
    conn: Connection,
    adjustment: AdjustmentOut,
    *,
    journal_id: UUID,
    metadata: dict[str, Any],
    actor: Actor,
) -> None:
    """Post the proposal's journal; a refusal raises and leaves nothing written."""
    if adjustment.method == AdjustmentMethod.ALIGN_ENTRIES:
        result = await repository.align_entries(
            conn,
            journal_id=journal_id,
            wallet_id=adjustment.wallet_id,
            amount=adjustment.amount,
            metadata=metadata,
            trace_id=actor.trace_id,
        )
        if result.outcome != "posted":
            raise ERRORS_BY_CODE[result.outcome]()
        return
    posting = await _posting(
        conn, adjustment, journal_id=journal_id, metadata=metadata, actor=actor
    )
    await post_one(conn, posting)


async def _posting(
    conn: Connection,
    adjustment: AdjustmentOut,
    *,
    journal_id: UUID,
    metadata: dict[str, Any],
    actor: Actor,
) -> Posting:
    journal_type = JournalType(adjustment.kind)
    related: UUID | None = None
    if adjustment.method == AdjustmentMethod.REVERSE_JOURNAL:
        assert adjustment.transaction_id is not None
        journal = await repository.journal_with_entries(conn, journal_id=adjustment.transaction_id)
        assert journal is not None  # referenced by the proposal; journals are never deleted
        if journal["reversed"]:
            raise TransactionAlreadyReversed()
        legs = plan_reversal(
            journal_type=journal["type"], hold_id=journal["hold_id"], entries=journal["entries"]
        )
        amount, related = journal["amount"], journal["id"]
    else:
        legs = ledger.adjustment_legs(adjustment.wallet_id, adjustment.amount)
        amount = abs(adjustment.amount)
    return Posting(
        context=PostingContext(
            caller=actor.subject, idempotency_key=None, fingerprint="", trace_id=actor.trace_id
        ),
        journal_id=journal_id,
        journal_type=journal_type.value,
        event_type=ledger.EVENT_TYPES[journal_type],
        wallet_id=adjustment.wallet_id,
        amount=amount,
        legs=legs,
        metadata=metadata,
        related_journal_id=related,
    )


async def reject(
    conn: Connection, *, adjustment_id: UUID, reason: str, actor: Actor
) -> AdjustmentOut:
    """Discard a proposal (its proposer may withdraw it); rejecting again changes nothing."""
    adjustment = await _locked(conn, adjustment_id)
    if not should_reject(status=adjustment.status):
        return adjustment
    row = await repository.decide_adjustment(
        conn,
        adjustment_id=adjustment.id,
        status=AdjustmentStatus.REJECTED,
        decided_by=actor.subject,
        reason=reason,
        applied_journal_id=None,
    )
    rejected = AdjustmentOut.model_validate(row)
    await _record(conn, rejected, action="rejected", actor=actor, reason=reason, publish=True)
    return rejected


async def _locked(conn: Connection, adjustment_id: UUID) -> AdjustmentOut:
    row = await repository.find_adjustment(conn, adjustment_id=adjustment_id, lock=True)
    if row is None:
        raise AdjustmentNotFound()
    return AdjustmentOut.model_validate(row)


async def _record(
    conn: Connection,
    adjustment: AdjustmentOut,
    *,
    action: str,
    actor: Actor,
    reason: str | None,
    publish: bool,
) -> None:
    await repository.record_action(
        conn,
        action=f"{adjustment.kind.lower()}.{action}",
        actor=actor.subject,
        wallet_id=adjustment.wallet_id,
        subject_id=adjustment.id,
        reason=reason,
        details=adjustment.model_dump(mode="json"),
        trace_id=actor.trace_id,
        publish=publish,
    )


async def get_adjustment(conn: Connection, *, adjustment_id: UUID) -> AdjustmentOut:
    row = await repository.find_adjustment(conn, adjustment_id=adjustment_id)
    if row is None:
        raise AdjustmentNotFound()
    return AdjustmentOut.model_validate(row)


async def list_adjustments(
    conn: Connection, *, status: AdjustmentStatus | None, cursor: str | None, limit: int
) -> AdjustmentList:
    parts = decode_cursor(cursor, "ad", 1)
    try:
        before = UUID(parts[0]) if parts else None
    except ValueError as exc:
        raise InvalidCursor() from exc
    rows = await repository.list_adjustments(
        conn, status=status.value if status else None, before=before, limit=limit + 1
    )
    items = [AdjustmentOut.model_validate(row) for row in rows[:limit]]
    more = len(rows) > limit and items
    return AdjustmentList(
        items=items, next_cursor=encode_cursor("ad", items[-1].id) if more else None
    )


async def change_wallet_status(
    conn: Connection, *, wallet_id: UUID, action: WalletAction, reason: str, actor: Actor
) -> WalletOut:
    """Freeze, unfreeze or close a user wallet; asking for the status it has is a no-op."""
    wallet = await find_wallet(conn, wallet_id=wallet_id, owner_scope=None)
    locked = await repository.lock_wallet(conn, wallet_id=wallet_id) if wallet else None
    if locked is None:
        raise WalletNotFound()
    target = next_status(
        action, status=locked["status"], balance=locked["balance"], held=locked["held"]
    )
    if target is not None:
        await repository.record_action(
            conn,
            action=WALLET_ACTION_EVENTS[action],
            actor=actor.subject,
            wallet_id=wallet_id,
            subject_id=None,
            reason=reason,
            details={"from_status": locked["status"], "to_status": target},
            trace_id=actor.trace_id,
            publish=True,
            new_status=target,
        )
    changed = await find_wallet(conn, wallet_id=wallet_id, owner_scope=None)
    assert changed is not None
    return WalletOut.model_validate(changed)


async def set_credit_limit(
    conn: Connection, *, wallet_id: UUID, credit_limit: int, reason: str, actor: Actor
) -> WalletOut:
    """Let the wallet's available go down to ``-credit_limit``; the same limit again is a no-op.

    A limit lower than the credit the wallet already uses is refused (insufficient_funds): the
    database bound would not hold, and the owner's debt cannot be wished away by an admin.
    """
    wallet = await find_wallet(conn, wallet_id=wallet_id, owner_scope=None)
    locked = await repository.lock_wallet(conn, wallet_id=wallet_id) if wallet else None
    if locked is None:
        raise WalletNotFound()
    if locked["status"] == "CLOSED":
        raise WalletNotActive()
    if locked["balance"] - locked["held"] < -credit_limit:
        raise InsufficientFunds(
            "the wallet already uses more credit than that limit",
            available=locked["balance"] - locked["held"],
        )
    if credit_limit != locked["credit_limit"]:
        await repository.record_action(
            conn,
            action="wallet.credit_limit.changed",
            actor=actor.subject,
            wallet_id=wallet_id,
            subject_id=None,
            reason=reason,
            details={"from_credit_limit": locked["credit_limit"], "to_credit_limit": credit_limit},
            trace_id=actor.trace_id,
            publish=True,
            new_credit_limit=credit_limit,
        )
    changed = await find_wallet(conn, wallet_id=wallet_id, owner_scope=None)
    assert changed is not None
    return WalletOut.model_validate(changed)
