"""The platform's Kafka topics and ACLs, read from ``deploy/kafka/topics.yaml``.

One file says what an authority's cluster needs; ``pss kafka-plan`` turns it into the
commands its Kafka team runs, and the local broker creates its topics from it, with the
replicas one broker can hold.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pss_cli.paths import repo_root

DAY_MS = 24 * 3600 * 1000


class PlanError(ValueError):
    """The topics file is wrong; the message names the entry."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str]

    def config_for(self, brokers: int) -> dict[str, str]:
        """Its configuration on a cluster of ``brokers``: a single development broker
        cannot ask two replicas to acknowledge a write."""
        config = dict(self.config)
        config["min.insync.replicas"] = str(min(int(config["min.insync.replicas"]), brokers))
        return config


@dataclass(frozen=True)
class AclBinding:
    principal: str
    resource_type: str  # TOPIC, GROUP or CLUSTER
    resource_name: str
    operation: str  # READ, WRITE, DESCRIBE, IDEMPOTENT_WRITE


@dataclass(frozen=True)
class Principal:
    name: str
    group: str | None
    write: tuple[str, ...]
    read: tuple[str, ...]
    describe_only: bool = False


@dataclass
class KafkaPlan:
    topics: dict[str, TopicSpec]
    principals: dict[str, Principal] = field(default_factory=dict)

    def bindings(self) -> list[AclBinding]:
        """Allow-only ACLs: a principal can do what is listed and nothing else."""
        found: list[AclBinding] = []
        groups = sorted({p.group for p in self.principals.values() if p.group})
        for p in self.principals.values():
            if p.describe_only:
                found += [AclBinding(p.name, "TOPIC", t, "DESCRIBE") for t in self.topics]
                found += [AclBinding(p.name, "GROUP", g, "DESCRIBE") for g in groups]
                continue
            for topic in p.write:
                found += [AclBinding(p.name, "TOPIC", topic, op) for op in ("WRITE", "DESCRIBE")]
            for topic in p.read:
                found += [AclBinding(p.name, "TOPIC", topic, op) for op in ("READ", "DESCRIBE")]
            if p.group:
                found.append(AclBinding(p.name, "GROUP", p.group, "READ"))
            if p.write:
                found.append(AclBinding(p.name, "CLUSTER", "kafka-cluster", "IDEMPOTENT_WRITE"))
        return found

    def commands(
        self,
        bootstrap: str,
        command_config: str | None = "admin.properties",
        *,
        brokers: int = 3,
        acls: bool = True,
    ) -> list[str]:
        """The kafka-topics.sh and kafka-acls.sh lines for an authority's Kafka team."""
        common = f"--bootstrap-server {shlex.quote(bootstrap)}"
        if command_config:
            common += f" --command-config {shlex.quote(command_config)}"
        lines = []
        for spec in self.topics.values():
            configs = " ".join(f"--config {k}={v}" for k, v in sorted(spec.config_for(brokers).items()))
            replicas = min(spec.replication_factor, brokers)
            lines.append(
                f"kafka-topics.sh {common} --create --if-not-exists --topic {spec.name}"
                f" --partitions {spec.partitions} --replication-factor {replicas} {configs}"
            )
        if not acls:
            return lines
        option = {"TOPIC": "--topic", "GROUP": "--group"}
        operation = {"IDEMPOTENT_WRITE": "IdempotentWrite"}
        for b in self.bindings():
            resource = (
                "--cluster"
                if b.resource_type == "CLUSTER"
                else f"{option[b.resource_type]} {b.resource_name}"
            )
            op = operation.get(b.operation, b.operation.capitalize())
            lines.append(
                f"kafka-acls.sh {common} --add --allow-principal {shlex.quote(b.principal)}"
                f" --operation {op} {resource}"
            )
        return lines


def default_path() -> Path:
    return repo_root() / "deploy" / "kafka" / "topics.yaml"


def load_plan(path: Path | None = None) -> KafkaPlan:
    raw = yaml.safe_load((path or default_path()).read_text())
    return parse_plan(raw)


def parse_plan(raw: Any) -> KafkaPlan:
    if not isinstance(raw, dict) or not isinstance(raw.get("topics"), dict):
        raise PlanError("the file needs 'defaults', 'topics' and 'principals' sections")
    defaults = raw.get("defaults") or {}
    replication = int(defaults.get("replication_factor", 3))
    base_config = {str(k): str(v) for k, v in (defaults.get("config") or {}).items()}
    if "min.insync.replicas" not in base_config:
        raise PlanError("defaults.config must set min.insync.replicas")
    if int(base_config["min.insync.replicas"]) >= replication:
        raise PlanError(
            "min.insync.replicas must be below the replication factor, or one lost broker stops writes"
        )
    topics: dict[str, TopicSpec] = {}
    for name, entry in raw["topics"].items():
        if not isinstance(entry, dict) or int(entry.get("partitions", 0)) < 1:
            raise PlanError(f"topic {name}: give partitions (at least 1)")
        days = entry.get("retention_days")
        if not isinstance(days, int | float) or days <= 0:
            raise PlanError(f"topic {name}: give retention_days, a positive number (nothing is kept forever)")
        config = {**base_config, "retention.ms": str(int(days * DAY_MS))}
        topics[name] = TopicSpec(name, int(entry["partitions"]), replication, config)
    principals: dict[str, Principal] = {}
    for name, entry in (raw.get("principals") or {}).items():
        entry = entry or {}
        principal = Principal(
            name=name,
            group=entry.get("group"),
            write=tuple(entry.get("write") or ()),
            read=tuple(entry.get("read") or ()),
            describe_only=bool(entry.get("describe_only", False)),
        )
        unknown = sorted(set(principal.write + principal.read) - set(topics))
        if unknown:
            raise PlanError(f"principal {name}: unknown topics {unknown}")
        if principal.read and not principal.group:
            raise PlanError(f"principal {name}: a reader needs its consumer group")
        principals[name] = principal
    return KafkaPlan(topics, principals)
