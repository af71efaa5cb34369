"""The events feed: every event straight from the outbox, for readers without the broker."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from wallet.auth.dependencies import PlatformCaller
from wallet.db.session import DbConnection
from wallet.errors import Forbidden, InvalidCursor, NotAuthenticated, problem_doc
from wallet.outbox import service
from wallet.outbox.schemas import EventPage

router = APIRouter(tags=["events"])


@router.get(
    "/v1/events",
    response_model=EventPage,
    responses=problem_doc(NotAuthenticated, Forbidden, InvalidCursor),
)
async def list_events(
    caller: PlatformCaller,
    conn: DbConnection,
    request: Request,
    after: Annotated[
        str | None, Query(max_length=128, description="The `next_cursor` of a previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, description="Page size; capped by configuration.")] = 100,
) -> Response:
    settings = request.app.state.settings
    page = await service.events_page(
        conn,
        after=after,
        limit=min(limit, settings.events_page_max),
        source=settings.events_source,
    )
    # The same envelope bytes as on the broker, so no model round trip here.
    return Response(orjson.dumps(page), media_type="application/json")
