"""deploy/compose.yaml: valid for Compose, complete, and every variable a service reads."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from .conftest import DEPLOY, ROOT, SERVICES, settings_fields, tool

SECRETS = re.findall(r"\$\{([A-Z_]+):\?", (DEPLOY / "compose.yaml").read_text())


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [tool("PSS_DOCKER_COMPOSE", "docker-compose"), "-f", str(DEPLOY / "compose.yaml"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def resolved() -> dict:
    result = compose("config", env={name: f"test-{name.lower()}" for name in SECRETS})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_accepts_the_file_with_its_secrets_set(resolved):
    assert set(resolved["services"]) == {
        *SERVICES,
        "kafka",
        "kafka-topics",
        "postgres",
        "otel-collector",
        "jaeger",
        "prometheus",
        "grafana",
    }


def test_compose_refuses_to_start_without_a_secret_and_names_it():
    env = {name: "x" for name in SECRETS if name != "PERSONAL_DATA_KEYS"}
    result = compose("config", "-q", env=env)
    assert result.returncode != 0
    assert "intake's Fernet keys for personal data" in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_built_from_its_dockerfile_and_given_only_variables_it_reads(resolved, service):
    entry = resolved["services"][service]
    assert entry["build"]["dockerfile"] == f"deploy/docker/{service}.Dockerfile"
    assert os.path.realpath(entry["build"]["context"]) == str(ROOT)
    unread = (
        set(entry["environment"])
        - settings_fields(service)
        - {"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT"}
    )
    assert not unread, f"{service} does not read {sorted(unread)}"


def test_each_service_connects_to_the_database_as_its_own_role(resolved):
    for service in ("intake", "matching", "oncall", "training", "metrics"):
        url = resolved["services"][service]["environment"]["DATABASE_URL"]
        assert url.startswith(f"postgresql+asyncpg://{service}:")


def test_every_file_compose_mounts_exists(resolved):
    for name, entry in resolved["services"].items():
        for volume in entry.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("/") or source.startswith("."):
                assert os.path.exists(source), f"{name} mounts {source}, which does not exist"
