"""Batch request and response bodies: each item is its single route's body plus what the
route's path carried (``wallet_id``, or ``hold_id`` for a capture) and an optional
``client_ref`` the answer echoes."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool

from wallet.holds.schemas import HoldCapture, HoldCreate, HoldOut
from wallet.ledger.schemas import TransactionOut
from wallet.schemas import RequestModel
from wallet.transfers.schemas import MovementRequest

MAX_BATCH_ITEMS = 1000

ClientRef = Annotated[str, Field(min_length=1, max_length=128)]


class DepositItem(MovementRequest):
    kind: Literal["deposit"]
    wallet_id: UUID
    client_ref: ClientRef | None = None


class WithdrawItem(MovementRequest):
    kind: Literal["withdraw"]
    wallet_id: UUID
    client_ref: ClientRef | None = None


class TransferItem(MovementRequest):
    """A same-currency transfer: the single route's fields less ``quote_id`` (an exchange is
    quoted and posted on its own route)."""

    kind: Literal["transfer"]
    wallet_id: UUID
    to_wallet_id: UUID
    client_ref: ClientRef | None = None


class HoldItem(HoldCreate):
    kind: Literal["hold"]
    wallet_id: UUID
    client_ref: ClientRef | None = None


class CaptureItem(HoldCapture):
    kind: Literal["capture"]
    hold_id: UUID
    client_ref: ClientRef | None = None


MoneyItem = DepositItem | WithdrawItem | TransferItem
BatchItem = Annotated[
    DepositItem | WithdrawItem | TransferItem | HoldItem | CaptureItem,
    Field(discriminator="kind"),
]


class BatchRequest(RequestModel):
    """``atomic``: every item posts or none does. Otherwise each item on its own, in order."""

    self_checked_fields = frozenset({"items"})  # each item is a RequestModel

    atomic: StrictBool = False
    items: Annotated[list[BatchItem], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]


class ItemProblem(BaseModel):
    """Why an item was refused: the problem its single route would have answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class BatchItemOut(BaseModel):
    index: int
    client_ref: str | None
    status: Literal["posted", "refused"]
    transaction: TransactionOut | None = None
    hold: HoldOut | None = None
    problem: ItemProblem | None = None


class BatchOut(BaseModel):
    id: UUID
    atomic: bool
    items: list[BatchItemOut]


def item_fields(item: Any) -> dict[str, Any]:
    """An item's body as its single route receives it (without kind, path ids, client_ref)."""
    body: dict[str, Any] = item.model_dump(exclude={"kind", "wallet_id", "hold_id", "client_ref"})
    return body
