"""JSON Schema export of every event, and the compatibility check between versions.

``pss-export-schemas`` writes ``libs/contracts/schemas/``. Those files are the published
contract: ``tests/test_compatibility.py`` compares the models against them and fails on a
change that would break a consumer, in either direction:

* forward: a consumer built on the published schema must accept what the new model emits;
* backward: the new model must accept events already in Kafka (metrics rebuilds from them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope
from contracts.events import EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def current_schemas() -> dict[str, dict[str, Any]]:
    schemas = {"envelope": Envelope.model_json_schema()}
    for type_name, cls in EVENT_TYPES.items():
        schemas[type_name] = cls.model_json_schema()
    return schemas


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in current_schemas().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def published_schemas(directory: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    """Inline $ref and fold Optional (anyOf with null) so two schemas compare by shape."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolve(root.get("$defs", {})[name], root)
        out = {
            k: _resolve(v, root)
            for k, v in node.items()
            if k not in ("$defs", "title", "description", "examples")
        }
        return out
    if isinstance(node, list):
        return [_resolve(v, root) for v in node]
    return node


def _variants(node: dict[str, Any]) -> list[dict[str, Any]]:
    return list(node["anyOf"]) if "anyOf" in node else [node]


def _accepts(reader: dict[str, Any], value_schema: dict[str, Any], where: str) -> list[str]:
    """Problems if values valid under ``value_schema`` may be rejected by ``reader``."""
    problems: list[str] = []
    for variant in _variants(value_schema):
        if not any(_fits(r, variant) for r in _variants(reader)):
            problems.append(f"{where}: {_short(variant)} is not accepted by {_short(reader)}")
    return problems


def _fits(reader: dict[str, Any], value: dict[str, Any]) -> bool:
    if reader == value or reader == {}:
        return True
    if reader.get("type") != value.get("type"):
        # an integer always fits where a number is read
        return reader.get("type") == "number" and value.get("type") == "integer"
    if "enum" in reader and not set(value.get("enum", [None])) <= set(reader["enum"]):
        return False
    if "const" in reader and value.get("const") != reader["const"]:
        return False
    for bound in ("pattern", "format"):
        if bound in reader and reader[bound] != value.get(bound):
            return False
    if reader.get("type") == "array":
        return not _accepts(reader.get("items", {}), value.get("items", {}), "")
    if reader.get("type") == "object" and "properties" in reader:
        return not compare_objects(reader, value, "")
    return True


def _short(node: dict[str, Any]) -> str:
    return json.dumps(node, sort_keys=True)[:120]


def compare_objects(reader: dict[str, Any], writer: dict[str, Any], where: str) -> list[str]:
    """Problems if an object written under ``writer`` may be rejected by ``reader``."""
    problems: list[str] = []
    r_props, w_props = reader.get("properties", {}), writer.get("properties", {})
    w_required = set(writer.get("required", []))
    for name in reader.get("required", []):
        if name not in w_required:
            problems.append(f"{where}.{name}: required by the reader, not always written")
    for name, r_schema in r_props.items():
        if name in w_props:
            problems.extend(_accepts(r_schema, w_props[name], f"{where}.{name}"))
    if reader.get("additionalProperties") is False:
        for name in w_props:
            if name not in r_props:
                problems.append(f"{where}.{name}: written but the reader forbids extra fields")
    return problems


def breaking_changes(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    old, new = _resolve(published, published), _resolve(current, current)
    return [f"forward{p}" for p in compare_objects(old, new, "")] + [
        f"backward{p}" for p in compare_objects(new, old, "")
    ]


def main() -> None:
    for path in write_schemas():
        print(path)
    sys.exit(0)
