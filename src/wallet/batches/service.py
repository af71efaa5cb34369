"""The batch use case: items in order, money items set-based, holds one call each.

Consecutive deposits, withdrawals and transfers go to the posting engine as one
``ledger_post`` call (the engine decides them in order, on running balances, each posted or
refused on its own); a hold or a capture ends such a run and is one call of its SQL function.
Order is therefore exactly the batch's, and so are the outcomes: the same as posting the items
one by one. Items carry no idempotency key of their own: the batch's key covers them all, and
the batch's answer is what it keeps.

Atomic batches run in a savepoint of the request's transaction: the first refused item rolls
everything back (journals, holds, events, audit rows of the batch) and the batch is refused.

The key keeps the batch's answer as a record (``kept_record``) that names each transaction
posted by the batch's money items by its journal id; the answer is rendered from it after
commit (``answer_text``), the first time and on every replay alike, so a replay is the first
answer byte for byte. Rendering 1,000 transactions inside the transaction took 12 ms of the
engine's call and the answer's 800 kB went back to the database to be kept, all while the
batch held its wallets' locks, which the next batch over the same wallets waits for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from uuid_utils.compat import uuid7

from wallet.auth.tokens import Principal
from wallet.batches import repository
from wallet.batches.schemas import (
    BatchRequest,
    CaptureItem,
    DepositItem,
    HoldItem,
    TransferItem,
    WithdrawItem,
)
from wallet.db.pool import Connection
from wallet.errors import (
    ERRORS_BY_CODE,
    BatchRejected,
    Forbidden,
    WalletError,
    problem_document,
)
from wallet.holds import service as holds_service
from wallet.holds.service import HoldLimits
from wallet.ledger import core
from wallet.ledger import repository as ledger_repository
from wallet.ledger.calls import MoneyCall
from wallet.ledger.core import JournalType, Posting, PostingContext
from wallet.ledger.service import answer_of, count_outcomes
from wallet.ledger.views import hide_counterparties

_Item = DepositItem | WithdrawItem | TransferItem | HoldItem | CaptureItem
_MoneyItem = DepositItem | WithdrawItem | TransferItem

# What a `user` token may batch: what its single routes allow it (transfer, hold).
_USER_KINDS = frozenset({"transfer", "hold"})


@dataclass(frozen=True, slots=True)
class BatchCall:
    """Who sends the batch, under which key, for exactly what."""

    caller: Principal
    key: str
    fingerprint: str
    trace_id: str
    client_address: str | None = None

    def money_call(self) -> MoneyCall:
        # No key per item: the batch's key is taken once and keeps the batch's answer.
        return MoneyCall(
            caller=self.caller.subject,
            idempotency_key=None,
            fingerprint=self.fingerprint,
            trace_id=self.trace_id,
            required_owner=self.caller.owner_scope,
            client_address=self.client_address,
        )

    def posting_context(self) -> PostingContext:
        return PostingContext(
            caller=self.caller.subject,
            idempotency_key=None,
            fingerprint=self.fingerprint,
            trace_id=self.trace_id,
            required_owner=self.caller.owner_scope,
            client_address=self.client_address,
        )


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """The batch's answer; or, for a refused atomic batch, the refusal to raise once the
    transaction (holding only its audit record) has committed."""

    status_code: int
    body: str
    replayed: bool
    refusal: WalletError | None = None


@dataclass(frozen=True, slots=True)
class _Outcome:
    body: str | None = None  # the item's answer as its single route gives it
    transaction_id: UUID | None = None  # or its transaction, posted now, rendered after commit
    error: WalletError | None = None


class _Rejected(Exception):
    """Leaves the atomic batch's savepoint, rolling it back."""

    def __init__(self, index: int, error: WalletError) -> None:
        super().__init__(error.code)
        self.index = index
        self.error = error


async def run_batch(
    conn: Connection, *, call: BatchCall, request: BatchRequest, limits: HoldLimits
) -> BatchAnswer:
    """Post the batch (``conn`` is in the request's transaction) or find its kept answer.

    A refused atomic batch is returned, not raised, so that its audit record commits. The body
    of the answer is the kept record: ``answer_text`` renders it once the transaction is over."""
    check = await repository.begin(
        conn, caller=call.caller.subject, key=call.key, fingerprint=call.fingerprint
    )
    if check.outcome == "replayed":
        assert check.body is not None and check.status_code is not None
        return BatchAnswer(check.status_code, check.body, replayed=True)
    if check.outcome != "new":
        raise ERRORS_BY_CODE[check.outcome]()
    items: Sequence[_Item] = request.items
    if request.atomic:
        try:
            async with conn.transaction():  # a savepoint: a refusal undoes the whole batch
                outcomes = await _apply(conn, call, items, limits, stop_at_refusal=True)
                for index, outcome in enumerate(outcomes):
                    if outcome.error is not None:
                        raise _Rejected(index, outcome.error)
        except _Rejected as rejected:
            refusal = rejection(rejected.index, rejected.error)
            await repository.audit_rejection(
                conn,
                actor=call.caller.subject,
                key=call.key,
                outcome=refusal.code,
                client_address=call.client_address,
                trace_id=call.trace_id,
                details={"item_index": rejected.index, "item_problem": rejected.error.code},
            )
            # Nothing is kept under the key: like a refused single posting, it may be retried.
            return BatchAnswer(refusal.status_code, "", replayed=False, refusal=refusal)
    else:
        outcomes = await _apply(conn, call, items, limits, stop_at_refusal=False)
    body = kept_record(uuid7(), atomic=request.atomic, items=items, outcomes=outcomes)
    await repository.finish(
        conn,
        caller=call.caller.subject,
        key=call.key,
        fingerprint=call.fingerprint,
        status_code=201,
        body=body,
    )
    return BatchAnswer(201, body, replayed=False)


def rejection(index: int, error: WalletError) -> WalletError:
    """The answer to a refused atomic batch. A wallet or hold the caller may not see is 404
    for the batch, as on the single route (no hint that it exists); any other refusal is
    ``batch_rejected``. Both name the item and its problem."""
    extra = {"item_index": index, "item_problem": problem_document(error)}
    if error.status_code == 404:
        return type(error)(f"item {index}: {error.detail}", **extra)
    return BatchRejected(f"item {index} was refused: {error.code}", **extra)


def _allowed(caller: Principal, item: _Item) -> bool:
    return caller.is_privileged or item.kind in _USER_KINDS


async def _apply(
    conn: Connection,
    call: BatchCall,
    items: Sequence[_Item],
    limits: HoldLimits,
    *,
    stop_at_refusal: bool,
) -> list[_Outcome]:
    outcomes: list[_Outcome] = []
    position = 0
    while position < len(items):
        item = items[position]
        if not _allowed(call.caller, item):
            outcomes.append(_Outcome(error=Forbidden(f"a user token may not batch a {item.kind}")))
            position += 1
        elif isinstance(item, DepositItem | WithdrawItem | TransferItem):
            run: list[_MoneyItem] = []
            while position < len(items):
                candidate = items[position]
                if not isinstance(candidate, DepositItem | WithdrawItem | TransferItem):
                    break
                if not _allowed(call.caller, candidate):
                    break
                run.append(candidate)
                position += 1
            outcomes.extend(await _post_money(conn, call, run))
        elif isinstance(item, HoldItem):
            outcomes.append(await _hold(conn, call, item, limits))
            position += 1
        else:
            outcomes.append(await _capture(conn, call, item))
            position += 1
        if stop_at_refusal and any(outcome.error is not None for outcome in outcomes):
            break
    return outcomes


async def _post_money(
    conn: Connection, call: BatchCall, run: Sequence[_MoneyItem]
) -> list[_Outcome]:
    """One ``ledger_post`` call for the whole run of money items."""
    context = call.posting_context()
    outcomes: list[_Outcome | None] = []
    postings: list[Posting] = []
    for item in run:
        try:
            postings.append(_posting(context, item))
            outcomes.append(None)
        except WalletError as error:  # refused before the database (a transfer to itself)
            outcomes.append(_Outcome(error=error))
    results = iter(await ledger_repository.post(conn, postings, render=False) if postings else [])
    sent = iter(postings)
    counted: Counter[tuple[str, str, bool]] = Counter()
    filled: list[_Outcome] = []
    for outcome in outcomes:
        if outcome is not None:
            filled.append(outcome)
            continue
        result, posting = next(results), next(sent)
        if result.outcome == "posted":  # unrendered: rendered after commit
            filled.append(_Outcome(transaction_id=posting.journal_id))
        else:
            try:
                filled.append(_Outcome(body=answer_of(result).body))
            except WalletError as error:
                filled.append(_Outcome(error=error))
        counted[posting.journal_type, result.outcome, filled[-1].error is None] += 1
    for (journal_type, ended_in, answered), times in counted.items():
        count_outcomes(journal_type=journal_type, outcome=ended_in, answered=answered, times=times)
    return filled


def _posting(context: PostingContext, item: _MoneyItem) -> Posting:
    if isinstance(item, DepositItem):
        journal_type = JournalType.DEPOSIT
        legs = core.deposit_legs(item.wallet_id, item.amount)
    elif isinstance(item, WithdrawItem):
        journal_type = JournalType.WITHDRAW
        legs = core.withdraw_legs(item.wallet_id, item.amount)
    else:
        journal_type = JournalType.TRANSFER
        legs = core.transfer_legs(item.wallet_id, item.to_wallet_id, item.amount)
    return Posting(
        context=context,
        journal_id=uuid7(),
        journal_type=journal_type.value,
        event_type=core.EVENT_TYPES[journal_type],
        wallet_id=item.wallet_id,
        amount=item.amount,
        legs=legs,
        reference_id=item.reference_id,
        category=item.category,
        metadata=item.metadata,
    )


async def _hold(conn: Connection, call: BatchCall, item: HoldItem, limits: HoldLimits) -> _Outcome:
    try:
        posted = await holds_service.create_hold(
            conn, call=call.money_call(), wallet_id=item.wallet_id, request=item, limits=limits
        )
    except WalletError as error:
        return _Outcome(error=error)
    return _Outcome(body=posted.body)


async def _capture(conn: Connection, call: BatchCall, item: CaptureItem) -> _Outcome:
    try:
        posted = await holds_service.capture_hold(
            conn, call=call.money_call(), hold_id=item.hold_id, request=item
        )
    except WalletError as error:
        return _Outcome(error=error)
    return _Outcome(body=posted.body)


# What a kept record says it is: an answer kept before records (the rendered answer itself)
# has no such field, and is answered as it was kept.
_RECORD_FORMAT = 2


def kept_record(
    batch_id: UUID, *, atomic: bool, items: Sequence[_Item], outcomes: Sequence[_Outcome]
) -> str:
    """What the batch's key keeps: each item's outcome, a transaction posted now by its id, any
    other answer as its text (holds change after the batch: theirs is kept as it was)."""
    kept: list[dict[str, Any]] = []
    for index, (item, outcome) in enumerate(zip(items, outcomes, strict=True)):
        entry: dict[str, Any] = {"index": index, "client_ref": item.client_ref}
        if outcome.transaction_id is not None:
            entry.update(status="posted", transaction_id=str(outcome.transaction_id))
        elif outcome.body is not None:
            entry.update(status="posted", field="hold" if item.kind == "hold" else "transaction")
            entry["text"] = outcome.body
        else:
            assert outcome.error is not None
            entry.update(status="refused", problem=problem_document(outcome.error))
        kept.append(entry)
    record = {"format": _RECORD_FORMAT, "id": str(batch_id), "atomic": atomic, "items": kept}
    return orjson.dumps(record).decode()


async def answer_text(conn: Connection, kept: str) -> str:
    """The batch's answer from its kept record: every item's answer as its single route gives
    it (the database's rendering, spliced in as is), in item order."""
    record: dict[str, Any] = orjson.loads(kept)
    if record.get("format") != _RECORD_FORMAT:
        return kept
    posted = [item["transaction_id"] for item in record["items"] if "transaction_id" in item]
    bodies = await ledger_repository.transaction_bodies(conn, posted) if posted else {}
    rendered: list[dict[str, Any]] = []
    for item in record["items"]:
        entry: dict[str, Any] = {
            "index": item["index"],
            "client_ref": item["client_ref"],
            "status": item["status"],
        }
        if "transaction_id" in item:
            entry["transaction"] = orjson.Fragment(bodies[item["transaction_id"]])
        elif "text" in item:
            entry[item["field"]] = orjson.Fragment(item["text"])
        else:
            entry["problem"] = item["problem"]
        rendered.append(entry)
    answer = {"id": record["id"], "atomic": record["atomic"], "items": rendered}
    return orjson.dumps(answer).decode()


def batch_for_caller(body: str, caller: Principal) -> str | bytes:
    """The kept answer as ``caller`` may see it: for a `user`, each item's transaction shows
    balances of the item's own wallet only. Deterministic, so a replay is byte for byte."""
    if caller.owner_scope is None:
        return body
    document: dict[str, Any] = orjson.loads(body)
    for entry in document["items"]:
        transaction = entry.get("transaction")
        if isinstance(transaction, dict):
            hide_counterparties(transaction, {transaction.get("wallet_id")})
    return orjson.dumps(document)
