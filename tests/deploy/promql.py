"""The metric names a PromQL expression reads, and the names the service exports."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

# Importing these modules registers every metric the service defines.
import wallet.holds.metrics
import wallet.observability
import wallet.outbox.metrics
import wallet.reconciliation.metrics  # noqa: F401

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGES = re.compile(r"\[[^\]]*\]")
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset({"and", "or", "unless", "offset", "bool", "inf", "nan"})
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def metric_names(expr: str) -> set[str]:
    """Every metric an expression selects (functions, labels and keywords left out)."""
    text = _RANGES.sub(" ", _GROUPING.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub(" ", expr))))
    names: set[str] = set()
    for match in _NAME.finditer(text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group().lower() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def exported_metrics() -> set[str]:
    """Series names the service's /metrics can contain."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith(("wallet_", "http_", "transfer_")):
            names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names
