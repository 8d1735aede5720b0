"""Every route's answer has a declared shape in the OpenAPI document.

An authority's integrator reads /openapi.json to know what comes back; a route that returns
a bare dict documents nothing and lets a field slip out unnoticed. Here, every JSON answer
of every service is a named model (or a list or map of them), and no model leaves its
fields open. Built without a database or a broker: nothing connects when a service is wired.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from servicekit.vault import PersonalDataVault

SERVICES = ["intake", "matching", "oncall", "training", "metrics"]


@pytest.fixture
def wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_JWKS_URL", "http://127.0.0.1:9/jwks")
    monkeypatch.setenv("PERSONAL_DATA_KEYS", PersonalDataVault.new_key())


def _untyped(schema: dict[str, Any], components: dict[str, Any], seen: set[str]) -> list[str]:
    """Where a schema accepts anything: no type, no reference, or open properties."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _untyped(components[name], components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [p for s in schema[key] for p in _untyped(s, components, seen)]
    kind = schema.get("type")
    if kind == "array":
        return _untyped(schema.get("items", {}), components, seen)
    if kind == "object":
        if "properties" not in schema:
            extra = schema.get("additionalProperties")
            if not isinstance(extra, dict) or not extra:
                return [schema.get("title", "an object with open fields")]
            return _untyped(extra, components, seen)
        return [
            f"{schema.get('title', '?')}.{name}"
            for name, prop in schema["properties"].items()
            # a free map (preferences, counts by rule) is declared as such, by name
            if name not in OPEN_BY_DESIGN
            for _ in _untyped(prop, components, seen)
        ]
    return [] if kind else [schema.get("title", "a value of no declared type")]


# maps whose keys are data, each documented on its model
OPEN_BY_DESIGN = {"preferences"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_answer_of_every_route_has_a_declared_shape(service, wiring):
    document = importlib.import_module(f"{service}.bootstrap").build().api.openapi()
    components = document.get("components", {}).get("schemas", {})
    open_answers = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if not status.startswith("2") or status == "204":
                    continue
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if schema is None:
                    continue  # HTML, CSV, or no body
                if not schema:
                    open_answers.append(f"{method.upper()} {path}: no shape")
                    continue
                open_answers += [
                    f"{method.upper()} {path}: {where}" for where in _untyped(schema, components, set())
                ]
    assert not open_answers, "\n".join(open_answers)
