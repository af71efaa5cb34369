"""Every refusal the SQL functions can return is a known error with the same status.

An outcome code missing from ERRORS_BY_CODE would surface as a 500; this reads the
migrations so that a new code cannot be added without its error class.
"""

from __future__ import annotations

import re
from pathlib import Path

from wallet.errors import ERRORS_BY_CODE

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_REFUSAL = re.compile(r"ROW\('([a-z_]+)', (\d{3}),")


def _refusals_in_migrations() -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for migration in sorted(MIGRATIONS.glob("*.sql")):
        for code, status in _REFUSAL.findall(migration.read_text()):
            if int(status) >= 400:
                found.setdefault(code, set()).add(int(status))
    return found


def test_the_migrations_are_read() -> None:
    refusals = _refusals_in_migrations()
    assert {"insufficient_funds", "hold_exceeded", "adjustment_stale"} <= set(refusals)


def test_every_sql_refusal_is_a_registered_error_with_its_status() -> None:
    for code, statuses in _refusals_in_migrations().items():
        assert code in ERRORS_BY_CODE, f"{code} has no error class in ERRORS_BY_CODE"
        assert statuses == {ERRORS_BY_CODE[code].status_code}, code
