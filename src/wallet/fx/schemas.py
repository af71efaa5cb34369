"""FX request and response bodies. Rates are exact decimal strings, never floats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from wallet.schemas import Amount, RequestModel

DecimalString = Annotated[
    str,
    Field(
        pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,18})?$",
        description='An exact positive decimal, e.g. "1.0850": quote units per 1 base unit.',
        examples=["1.0850"],
    ),
]


class FxRateRequest(RequestModel):
    rate: DecimalString
    source: Annotated[str, Field(min_length=1, max_length=128)]


class FxRateOut(BaseModel):
    base: str
    quote: str
    rate: str
    source: str
    updated_at: datetime


class QuoteRequest(RequestModel):
    """Sell ``amount`` minor units of the source wallet's currency for the target's."""

    from_wallet_id: UUID
    to_wallet_id: UUID
    amount: Amount


class QuoteOut(BaseModel):
    id: UUID
    from_wallet_id: UUID
    to_wallet_id: UUID
    from_currency: str
    to_currency: str
    sell_amount: int
    buy_amount: int
    rate: str
    spread: int = Field(description="Kept by the platform (FEES), in the target currency.")
    expires_at: datetime
    rounding: str = Field(
        description="How buy_amount was rounded: half to even on what the customer receives."
    )


class FxPosition(BaseModel):
    currency: str
    position: int = Field(description="The FX wallets' balance: + bought, - sold, minor units.")


class FxPair(BaseModel):
    from_currency: str
    to_currency: str
    exchanges: int
    sold: int
    bought: int
    spread: int


class FxPositionReport(BaseModel):
    currencies: list[FxPosition]
    pairs: list[FxPair]
