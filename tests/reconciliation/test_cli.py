"""``wallet reconcile``: progress on stderr, the outcome on stdout, exit 1 on findings."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from wallet.cli import app
from wallet.config import get_settings


def test_wallet_reconcile_prints_the_outcome(
    quiet_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALLET_DATABASE_URL", quiet_database_url)
    get_settings.cache_clear()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the command configures logging for itself
    try:
        result = CliRunner().invoke(app, ["reconcile", "--batch-size", "50"])
    finally:
        root.handlers[:], root.level = handlers, level
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "COMPLETED" in result.output
    assert "0 finding(s)" in result.output
