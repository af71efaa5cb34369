"""Every admin action is audited: who, which route, what status, from where, which trace."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallet.audit import service

ADMIN_PREFIX = "/v1/admin/"


class AdminAuditMiddleware:
    """Records one audit row per request under /v1/admin/, after its answer is known.

    Plain ASGI and a no-op for every other path, so the money path pays nothing for it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            request = Request(scope)
            route = scope.get("route")
            template = getattr(route, "path", scope["path"])
            record = service.record_for(
                request,
                action=f"admin.{scope['method']} {template}",
                outcome=str(status),
                resource_type="admin",
                resource_id=scope["path"],
            )
            await service.record_outside_transaction(request.app.state.pool, record)
