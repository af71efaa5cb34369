"""deploy/compose.yaml: the full stack, wired to the files and commands that exist."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from wallet.cli import app as cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_the_stack_has_every_part(services: dict[str, Any]) -> None:
    assert set(services) == {
        "postgres", "rabbitmq", "redis", "migrate", "api", "worker", "prometheus",
        "otel-collector",
    }  # fmt: skip
    assert services["api"]["deploy"]["replicas"] == 2
    for name in ("migrate", "api", "worker"):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "Dockerfile"}, name
        assert service["read_only"] is True, name
        command = service["command"]
        commands = {c.name or getattr(c.callback, "__name__", "") for c in cli.registered_commands}
        assert command[0] == "wallet" and command[1] in commands, name
        env = service["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
    assert "--no-migrate" in services["api"]["command"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_mounted_files_exist(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (COMPOSE.parent / source).is_file(), f"{name} mounts missing {source}"


def test_prometheus_config_scrapes_both_and_loads_the_rules() -> None:
    config_path = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job["dns_sd_configs"][0] for job in config["scrape_configs"]}
    assert jobs["wallet-api"]["names"] == ["api"] and jobs["wallet-api"]["port"] == 8000
    assert jobs["wallet-worker"]["names"] == ["worker"] and jobs["wallet-worker"]["port"] == 9100
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus); CI installs it")
    result = subprocess.run(  # noqa: S603 - promtool on our own file
        [promtool, "check", "config", str(config_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
