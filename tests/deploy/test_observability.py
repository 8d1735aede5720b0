"""Dashboards, alerts and runbooks: every query parses, names metrics and labels the
platform emits (the e2e test proves the emitting), and every alert has a runbook."""

from __future__ import annotations

from pathlib import Path

import promql_parser
import pytest
import yaml
from contracts import EVENT_TYPES
from pss_testkit.dashboards import (
    FROM_THE_COLLECTOR,
    alert_rules,
    dashboards,
    grouping_labels,
    queries,
    referenced_metrics,
    selectors,
)

from .conftest import DEPLOY

OBSERVABILITY = DEPLOY / "observability"
RULES = alert_rules()
DASHBOARDS = dashboards()
# labels every platform metric may carry, besides an event's METRIC_LABELS
GENERIC_LABELS = {"service", "consumer", "topic", "event_type", "le", "group", "job", "partition", "loop"}


def test_every_query_parses_as_promql():
    for where, expr in queries():
        try:
            promql_parser.parse(expr)
        except Exception as exc:  # the parser raises its own error type
            pytest.fail(f"{where}: {exc}")


def test_queries_name_only_platform_or_collector_metrics():
    assert referenced_metrics() - FROM_THE_COLLECTOR <= {
        m for m in referenced_metrics() if m.startswith("pss_")
    }


def test_event_types_and_labels_in_queries_exist_in_the_contracts():
    allowed = GENERIC_LABELS | {label for cls in EVENT_TYPES.values() for label in cls.METRIC_LABELS}
    for where, expr in queries():
        parsed = promql_parser.parse(expr)
        for selector in selectors(parsed):
            for matcher in selector.matchers.matchers:
                assert matcher.name in allowed, f"{where}: label {matcher.name} is never emitted"
                if matcher.name == "event_type":
                    assert matcher.value in EVENT_TYPES, f"{where}: no event type {matcher.value}"
                    labels = {m.name for m in selector.matchers.matchers} - GENERIC_LABELS
                    assert labels <= set(EVENT_TYPES[matcher.value].METRIC_LABELS), where
        for label in grouping_labels(parsed):
            assert label in allowed, f"{where}: grouping by {label}, which is never emitted"


def test_the_dashboards_cover_what_operations_watch():
    titles = " | ".join(p["title"].lower() for d in DASHBOARDS.values() for p in d["panels"])
    for topic in (
        "referrals submitted",
        "pages sent",
        "time to acknowledge",
        "escalations",
        "service-level breaches",
        "consumer lag",
        "outbox backlog",
        "dead letters",
    ):
        assert topic in titles, f"no panel for {topic}"
    for dashboard in DASHBOARDS.values():
        assert dashboard["uid"] and dashboard["title"]
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        assert all(t["datasource"]["uid"] == "prometheus" for p in dashboard["panels"] for t in p["targets"])


def test_every_alert_says_who_it_wakes_and_has_a_runbook_with_the_sections_an_operator_needs():
    for rule in RULES:
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        runbook = DEPLOY.parent / rule["annotations"]["runbook"]
        assert runbook.is_file(), f"{rule['alert']}: no runbook {runbook}"
        text = runbook.read_text()
        assert rule["alert"] in text.splitlines()[0], f"{runbook.name} does not name {rule['alert']}"
        for section in ("## What it means", "## First checks", "## Fix", "## Confidentiality"):
            assert section in text, f"{runbook.name}: missing {section}"


def test_every_runbook_belongs_to_an_alert_and_the_index_lists_every_alert():
    used = {Path(rule["annotations"]["runbook"]).name for rule in RULES}
    written = {p.name for p in (DEPLOY / "runbooks").glob("*.md")} - {"README.md"}
    assert written == used
    index = (DEPLOY / "runbooks" / "README.md").read_text()
    for rule in RULES:
        assert rule["alert"] in index


def test_the_paging_path_wakes_someone():
    paging = {rule["alert"] for rule in RULES if rule["labels"]["severity"] == "page"}
    assert {
        "ReferralsNotPaged",
        "PagingExhausted",
        "PagingPathConsumerLag",
        "OutboxStuck",
        "DeadLetterOnPagingPath",
    } <= paging


def test_the_collector_adds_consumer_lag_and_serves_prometheus_and_jaeger():
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    assert "consumers" in config["receivers"]["kafkametrics"]["scrapers"]
    metrics = config["service"]["pipelines"]["metrics"]
    assert set(metrics["receivers"]) == {"otlp", "kafkametrics"} and metrics["exporters"] == ["prometheus"]
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    prometheus = yaml.safe_load((OBSERVABILITY / "prometheus" / "prometheus.yml").read_text())
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts.yaml"]
