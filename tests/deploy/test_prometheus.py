"""Alert rules and the dashboard: valid, unit-tested with promtool, and reading only metrics
the service really exports, each alert with a runbook section that exists."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import exported_metrics, metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "wallet.json"
RUNBOOK = ROOT / "docs" / "operations.md"


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("WALLET_REQUIRE_PROMTOOL"):
            pytest.fail("promtool is required here (WALLET_REQUIRE_PROMTOOL) but not installed")
        pytest.skip("promtool not installed (Debian package prometheus); CI installs it")
    return found


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(  # noqa: S603 - promtool on our own files
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = subprocess.run(  # noqa: S603 - promtool on our own files
        [_promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {
        test["alertname"]
        for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for test in case["alert_rule_test"]
        if test["exp_alerts"]
    }
    assert tested == {rule["alert"] for rule in _rules()}, "every alert is shown firing"


def test_every_alert_links_to_its_runbook_section() -> None:
    anchors = {
        _anchor(line.lstrip("#"))
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in _rules():
        link = rule["annotations"]["runbook_url"]
        path, _, anchor = link.partition("#")
        assert path == "docs/operations.md", rule["alert"]
        assert anchor == f"alert-{rule['alert'].lower()}", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no section {anchor} in {RUNBOOK.name}"


def test_alerts_and_dashboard_read_only_exported_metrics() -> None:
    exported = exported_metrics()
    assert {"http_request_duration_seconds_bucket", "wallet_outbox_backlog"} <= exported
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = {f"alert {r['alert']}": r["expr"] for r in _rules()} | {
        f"panel {p['title']}": t["expr"] for p in dashboard["panels"] for t in p["targets"]
    }
    for where, expr in expressions.items():
        names = metric_names(expr)
        assert names, f"{where} reads no metric"
        assert names <= exported, f"{where} reads {sorted(names - exported)}, never exported"


def test_metric_names_are_found_in_promql() -> None:
    expr = 'sum by (le) (rate(a_bucket{route=~"/v1/.*", x="rate(b)"}[5m])) / ignoring(x) c and d'
    assert metric_names(expr) == {"a_bucket", "c", "d"}
    assert metric_names("time() - max(wallet_x) > 26 * 3600") == {"wallet_x"}
