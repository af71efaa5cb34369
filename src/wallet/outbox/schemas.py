"""The events feed, as documented in the OpenAPI schema (the body is built in core.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON form; docs/events.md lists the types."""

    specversion: Literal["1.0"]
    id: UUID = Field(description="Unique per event; redeliveries carry the same id.")
    source: str
    type: str = Field(examples=["wallet.deposit.completed"])
    subject: UUID = Field(description="The wallet the event is about.")
    time: datetime
    datacontenttype: Literal["application/json"]
    dataschema: str = Field(description="Names the type and the version of `data`.")
    sequence: int = Field(description="Per-wallet, strictly increasing: order and de-duplicate.")
    traceid: str = Field(description="The X-Trace-Id of the request that made the change.")
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[CloudEvent]
    next_cursor: str | None = Field(
        description="Pass as `after` for the next page; present even when the page is empty "
        "once any position is known, so a reader can poll from it."
    )
