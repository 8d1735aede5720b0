"""The deploy artefacts, checked without a Docker engine or a cluster."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "matching", "oncall", "training", "metrics", "frontend")
WITH_DATABASE = ("intake", "matching", "oncall", "training", "metrics")


def settings_fields(service: str) -> set[str]:
    """The environment variables a service reads: its settings' fields, upper-cased."""
    module = importlib.import_module(f"{service}.settings")
    classes = [
        c
        for c in vars(module).values()
        if isinstance(c, type) and issubclass(c, BaseSettings) and c.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"{service}.settings should define one settings class"
    return {name.upper() for name in classes[0].model_fields}


# where `make deploy-tools` puts them (the Makefile exports the same paths)
TOOLS = Path(os.environ.get("PSS_CACHE_DIR", Path.home() / ".cache" / "pss")) / "tools"
DEFAULT_TOOLS = {
    "PSS_HELM": TOOLS / "helm-v3.16.4" / "helm",
    "PSS_DOCKER_COMPOSE": TOOLS / "compose-1.29.2" / "bin" / "docker-compose",
}


def tool(env: str, name: str) -> str:
    """A validator installed by `make deploy-tools`; a missing one fails the test, it never skips."""
    path = os.environ.get(env) or (str(DEFAULT_TOOLS[env]) if DEFAULT_TOOLS[env].exists() else None)
    if not path or not Path(path).exists():
        pytest.fail(f"{name} is missing: run `make deploy-tools` (it sets {env})")
    return path
