"""Every refusal the SQL functions can return is a known error with the same status.

An outcome code missing from ERRORS_BY_CODE would surface as a 500; this reads the SQL modules
(and the landed migrations) so that a new code cannot be added without its error class.
"""

from __future__ import annotations

import re
from pathlib import Path

from wallet.db.migrations import numbered_migrations
from wallet.db.modules import sql_modules
from wallet.errors import ERRORS_BY_CODE

# A refusal as a result row, or as the engine's pair of assignments (code, then status).
_REFUSALS = (
    re.compile(r"ROW\('([a-z_]+)', (\d{3}),"),
    re.compile(r":= '([a-z_]+)';\s*\w+(?:\[i\])? := (\d{3});"),
)


def _sql_files() -> list[Path]:
    return [m.path for m in numbered_migrations()] + [m.path for m in sql_modules()]


def _refusals_in_migrations() -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for path in _sql_files():
        text = path.read_text()
        for pattern in _REFUSALS:
            for code, status in pattern.findall(text):
                if int(status) >= 400:
                    found.setdefault(code, set()).add(int(status))
    return found


def test_the_migrations_are_read() -> None:
    refusals = _refusals_in_migrations()
    assert {"insufficient_funds", "hold_exceeded", "adjustment_stale"} <= set(refusals)
    # The engine's own refusals (assignments in ledger.sql) are read too.
    ledger = next(m.path for m in sql_modules() if m.name == "ledger").read_text()
    engine = {code for code, _ in _REFUSALS[1].findall(ledger)}
    assert {"insufficient_funds", "wallet_not_active", "amount_out_of_range"} <= engine


def test_every_sql_refusal_is_a_registered_error_with_its_status() -> None:
    for code, statuses in _refusals_in_migrations().items():
        assert code in ERRORS_BY_CODE, f"{code} has no error class in ERRORS_BY_CODE"
        assert statuses == {ERRORS_BY_CODE[code].status_code}, code
