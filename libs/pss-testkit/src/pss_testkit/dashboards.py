"""The queries of the Grafana dashboards and Prometheus alerts in deploy/observability,
parsed: what metrics and labels they need. The deploy tests check them against the
contracts; the end-to-end test checks the running services emit them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import promql_parser
import yaml
from pss_cli.paths import repo_root

# the series the OpenTelemetry Collector adds itself: Kafka's lag (kafkametrics receiver)
# and one target_info per reporting service (prometheus exporter)
FROM_THE_COLLECTOR = frozenset({"kafka_consumer_group_lag", "target_info"})


def alert_rules() -> list[dict[str, Any]]:
    path = repo_root() / "deploy" / "observability" / "prometheus" / "alerts.yaml"
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def dashboards() -> dict[str, dict[str, Any]]:
    folder = repo_root() / "deploy" / "observability" / "grafana" / "dashboards"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every alert and every dashboard panel."""
    for rule in alert_rules():
        yield f"alert {rule['alert']}", rule["expr"]
    for name, dashboard in dashboards().items():
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                yield f"{name}: {panel['title']}", target["expr"]


def _children(node: Any) -> Iterator[Any]:
    for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, str | int | float):
            yield child
    yield from getattr(node, "args", None) or []


def selectors(node: Any) -> Iterator[Any]:
    """Every vector selector in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        yield node
        return
    for child in _children(node):
        yield from selectors(child)


def grouping_labels(node: Any) -> Iterator[str]:
    """The labels of every `by (...)` in a parsed expression."""
    modifier = getattr(node, "modifier", None)
    yield from getattr(modifier, "labels", None) or []
    for child in _children(node):
        if not isinstance(child, promql_parser.VectorSelector):
            yield from grouping_labels(child)


def referenced_metrics() -> set[str]:
    return {s.name for _, expr in queries() for s in selectors(promql_parser.parse(expr)) if s.name}
