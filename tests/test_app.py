"""How the application is put together."""

from __future__ import annotations

import inspect

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


def _calls(dependant: Dependant) -> list[object]:
    found: list[object] = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found.extend(_calls(sub))
    return found


def test_every_dependency_is_async(app: FastAPI) -> None:
    """FastAPI runs a plain ``def`` dependency in a thread pool: far too slow per request."""
    synchronous = {
        f"{route.path}: {getattr(call, '__qualname__', call)}"
        for route in app.routes
        if isinstance(route, APIRoute)
        for call in _calls(route.dependant)
        if call is not None
        and not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))
    }
    assert synchronous == set()
