"""The OpenAPI document, completed with every answer an operation can give.

Routes declare their own domain errors (``errors.problem_doc``). What applies to many routes at
once is added here from the same facts the app enforces, so the document cannot drift:

- the RBAC matrix: authenticated routes can answer 401 and 429 (per-caller limit), routes not
  open to every role 403;
- the middleware in front of every route: 429 per address (all but the health paths), 413
  and 400 (a body that is not UTF-8) where a body is read;
- the database: 503 ``database_unavailable`` with ``Retry-After`` on every route that uses it;
- the Idempotency-Key dependency: required where it is required (it answers 400
  ``idempotency_key_required`` rather than FastAPI's 422, so FastAPI cannot declare it).

Every error answer is ``application/problem+json`` with the ``Problem`` schema; FastAPI's
default 422 (``application/json`` HTTPValidationError) is replaced, because the app never
answers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from wallet.auth.rbac import EVERYONE, rule_for
from wallet.errors import PROBLEM_JSON
from wallet.idempotency.dependencies import required_idempotency_key
from wallet.ratelimit import UNLIMITED_PATHS

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details with a stable machine `code`.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "additionalProperties": True,
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
# Extra statuses: (status, code, headers).
_CommonAnswer = tuple[int, str, dict[str, Any] | None]
_UNAVAILABLE: _CommonAnswer = (503, "database_unavailable", RETRY_AFTER)
_ADDRESS_LIMIT: _CommonAnswer = (429, "rate_limited", RETRY_AFTER)
_UNAUTHENTICATED: _CommonAnswer = (401, "not_authenticated", None)
_FORBIDDEN: _CommonAnswer = (403, "forbidden", None)
_BAD_BODY: _CommonAnswer = (400, "malformed_body", None)  # e.g. not UTF-8
_TOO_LARGE: _CommonAnswer = (413, "payload_too_large", None)
_INVALID: _CommonAnswer = (422, "validation_error", None)
_KEY_MISSING: _CommonAnswer = (400, "idempotency_key_required", None)


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document (built once, on first request)."""
    document: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not document:
            document.update(completed_document(app))
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def completed_document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for route, method in _operations(app):
        operation = document["paths"][route.path_format][method.lower()]
        _complete(operation, route=route, method=method)
    return document


def _operations(app: FastAPI) -> Iterator[tuple[RouteContext, str]]:
    # Included routers stay nested in the app; their contexts carry the full path.
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                yield route, method


def _complete(operation: dict[str, Any], *, route: RouteContext, method: str) -> None:
    responses: dict[str, Any] = operation["responses"]
    if _is_fastapi_default_422(responses.get("422")):
        del responses["422"]  # the app never answers it; ours is declared below
    for answer in _common_answers(operation, route=route, method=method):
        _declare(responses, answer)
    for status, response in responses.items():
        if int(status) >= 400:
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    if _depends_on(route.dependant, required_idempotency_key):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
                parameter["required"] = True
                parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": 255}


def _common_answers(
    operation: dict[str, Any], *, route: RouteContext, method: str
) -> Iterator[_CommonAnswer]:
    rule = rule_for(method, route.path_format or "")
    public = rule is not None and not rule.roles
    if route.path_format not in UNLIMITED_PATHS:
        yield _ADDRESS_LIMIT
    if route.path_format != "/healthz":
        yield _UNAVAILABLE
    if not public:
        yield _UNAUTHENTICATED
        if rule is None or rule.roles != EVERYONE:
            yield _FORBIDDEN
    if "requestBody" in operation:
        yield from (_BAD_BODY, _TOO_LARGE, _INVALID)
    elif operation.get("parameters"):
        yield _INVALID
    if _depends_on(route.dependant, required_idempotency_key):
        yield _KEY_MISSING


def _declare(responses: dict[str, Any], answer: _CommonAnswer) -> None:
    status, code, headers = answer
    entry = responses.setdefault(str(status), {"description": ""})
    codes = [part for part in entry.get("description", "").split(", ") if part]
    if code not in codes:
        entry["description"] = ", ".join([*codes, code])
    if headers:
        entry["headers"] = {**entry.get("headers", {}), **headers}


def _is_fastapi_default_422(response: dict[str, Any] | None) -> bool:
    return response is not None and response.get("description") == "Validation Error"


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)
