"""deploy/helm/pss: helm lint, then every rendered object checked against Kubernetes'
own schemas (kubernetes-validate, strict) and against what the services read."""

from __future__ import annotations

import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .conftest import DEPLOY, SERVICES, WITH_DATABASE, settings_fields, tool

CHART = DEPLOY / "helm" / "pss"
KUBERNETES = "1.31"


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("PSS_HELM", "helm"), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    result = helm("template", "pss", str(CHART))
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_helm_lint_passes():
    result = helm("lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_object_is_valid_kubernetes(objects):
    for o in objects:
        kubernetes_validate.validate(o, KUBERNETES, strict=True)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_replicated_probed_bounded_and_unprivileged(objects, service):
    deployment = of_kind(objects, "Deployment")[f"pss-{service}"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"].endswith(f"/{service}:0.1.0")
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    security = container["securityContext"]
    assert security["runAsNonRoot"] and not security["allowPrivilegeEscalation"]
    assert security["readOnlyRootFilesystem"] and security["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    assert f"pss-{service}" in of_kind(objects, "PodDisruptionBudget")
    assert f"pss-{service}" in of_kind(objects, "NetworkPolicy")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_gets_only_variables_it_reads_and_its_secrets_from_its_own_secret(objects, service):
    container = of_kind(objects, "Deployment")[f"pss-{service}"]["spec"]["template"]["spec"]["containers"][0]
    config = of_kind(objects, "ConfigMap")[f"pss-{service}"]["data"]
    secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    unread = (
        (set(config) | set(secret_env))
        - settings_fields(service)
        - {
            "OTEL_SERVICE_NAME",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        }
    )
    assert not unread, f"{service} does not read {sorted(unread)}"
    assert {ref["name"] for ref in secret_env.values()} == {f"pss-{service}"}
    # a secret never sits in a ConfigMap
    assert not {
        "DATABASE_URL",
        "PERSONAL_DATA_KEYS",
        "SESSION_KEY",
        "OIDC_CLIENT_SECRET",
        "PAGE_LINK_SECRET",
    } & set(config)


def test_each_database_service_migrates_as_its_own_role_before_the_release(objects):
    jobs = of_kind(objects, "Job")
    for service in WITH_DATABASE:
        deployment = of_kind(objects, "Deployment")[f"pss-{service}"]
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {
            "name": "DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": f"pss-{service}", "key": "DATABASE_URL"}},
        } in env
        (job,) = [j for name, j in jobs.items() if name.startswith(f"pss-{service}-migrate")]
        assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["migrate"]
        assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == f"pss-{service}"
    assert not [name for name in jobs if name.startswith("pss-frontend")]


def test_only_the_public_ways_in_are_exposed(objects):
    paths = {
        name: {p["path"] for rule in o["spec"]["rules"] for p in rule["http"]["paths"]}
        for name, o in of_kind(objects, "Ingress").items()
    }
    assert set(paths) == {"pss-frontend", "pss-intake", "pss-oncall"}
    assert paths["pss-oncall"] == {"/answer"}
    # a case's routes (its contact, its access log) are never reached from outside
    assert not any(p.startswith("/referrals") for p in paths["pss-intake"])


def test_the_database_roles_file_makes_one_role_and_schema_per_service():
    roles = (DEPLOY / "postgres" / "roles.sql").read_text()
    assert "ARRAY['intake', 'matching', 'oncall', 'training', 'metrics']" in roles
    assert "REVOKE ALL ON SCHEMA %I FROM PUBLIC" in roles
