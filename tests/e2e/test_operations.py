"""What operations watch is what the platform emits: the dashboards' and alerts' metrics
come from the running services, and the broker's topics are deploy/kafka/topics.yaml's."""

from __future__ import annotations

import asyncio

import promql_parser
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from contracts import EVENT_TYPES, topics
from pss_cli.kafka_plan import load_plan
from pss_testkit.dashboards import FROM_THE_COLLECTOR, grouping_labels, queries, referenced_metrics
from pss_testkit.testing import TEST_ACK_TIMEOUT_SECONDS, prometheus_names, wait_for

from .helpers import acknowledge, ref, self_referral, submit, wait_for_page


def test_every_metric_the_dashboards_and_alerts_query_is_emitted_with_the_labels_they_use(
    running_platform, site
):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    acknowledge(p, wait_for_page(p, referral_id, step=0))
    lapsed = submit(p, self_referral(site, ref(site, "rn2")))
    wait_for_page(p, lapsed, step=1, timeout=TEST_ACK_TIMEOUT_SECONDS + 30)  # an escalation
    p.kafka.publish(topics.PAGES, b"not an event", key=site.site_id.encode())  # a dead letter

    wanted = referenced_metrics() - FROM_THE_COLLECTOR

    def emitted() -> dict[str, set[str]] | None:
        series: dict[str, set[str]] = {}
        for point in p.telemetry.metric_points():
            for name in prometheus_names(point):
                series.setdefault(name, set()).update(key for key, _ in point.attributes)
        return series if wanted <= set(series) else None

    series = wait_for(emitted, timeout=30, what=f"the services to export {sorted(wanted)}")
    # each event is counted under its type and exactly the categories its class declares
    counted: dict[str, set[str]] = {}
    for point in p.telemetry.metric_points("pss.outbox.published"):
        attributes = dict(point.attributes)
        counted.setdefault(attributes["event_type"], set()).update(attributes)
    for event_type, labels in counted.items():
        assert labels == {"service", "event_type", *EVENT_TYPES[event_type].METRIC_LABELS}, event_type
    assert {"intake.referral.submitted.v1", "oncall.page.escalated.v1", "oncall.page.acknowledged.v1"} <= set(
        counted
    )
    # every `by (...)` of a dashboard or alert has series to group, unless it is a category of
    # an event this flow did not cause (a breach): those come from the same code, checked above
    not_caused = {
        label for type_, cls in EVENT_TYPES.items() if type_ not in counted for label in cls.METRIC_LABELS
    }
    labels_everywhere = set().union(*series.values()) | {"le", "job", "group", "topic", "partition"}
    for where, expr in queries():
        for label in grouping_labels(promql_parser.parse(expr)):
            assert label in labels_everywhere | not_caused, (
                f"{where}: no emitted series has the label {label}"
            )
    published = [
        dict(pt.attributes)
        for pt in p.telemetry.metric_points("pss.outbox.published")
        if dict(pt.attributes).get("event_type") == "intake.referral.submitted.v1"
    ]
    assert published and all({"path", "urgency", "crisis", "service"} <= set(a) for a in published)
    # no site, no referral, no person in any metric's labels
    for point in p.telemetry.metric_points():
        for key, value in point.attributes:
            assert key not in ("site_id", "referral_id", "recipient", "worker"), point
            assert site.site_id not in value and str(referral_id) not in value, point


def test_the_brokers_topics_are_those_of_the_deploy_plan(running_platform):
    plan = load_plan()

    async def describe() -> tuple[dict[str, int], dict[str, str]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=running_platform.kafka.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics(list(plan.topics))
            partitions = {t["topic"]: len(t["partitions"]) for t in described}
            configs = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in plan.topics]
            )
            retention = {}
            for response in configs:
                for resource in response.resources:
                    name, entries = resource[3], resource[4]
                    retention[name] = next(e[1] for e in entries if e[0] == "retention.ms")
            return partitions, retention
        finally:
            await admin.close()

    partitions, retention = asyncio.run(describe())
    for name, spec in plan.topics.items():
        assert partitions[name] == spec.partitions, name
        assert retention[name] == spec.config["retention.ms"], name
