"""deploy/kafka/topics.yaml against the code: every topic, its durability, and ACLs that
give each service exactly what it publishes and consumes."""

from __future__ import annotations

import subprocess

import pytest
from contracts import EVENT_TYPES, topics
from contracts.events import MatchProposed, PageAcknowledged, PageSent, ReferralSubmitted
from pss_cli.kafka_plan import AclBinding, PlanError, load_plan, parse_plan
from pss_testkit.testing import subscribed_topics, subscriptions_of

from .conftest import DEPLOY, ROOT, WITH_DATABASE

PLAN = load_plan(DEPLOY / "kafka" / "topics.yaml")


def produced(service: str) -> set[str]:
    return {cls.TOPIC for type_, cls in EVENT_TYPES.items() if type_.split(".")[0] == service}


# the events of a referral on its way to a page and back. A consumer fetches every event of
# the topics it reads; at a few referrals a second each comes alone, and one a service only
# ignores costs a fetch and its decoding for nothing (issue 25, fourteenth round)
REFERRAL_PATH = (ReferralSubmitted, MatchProposed, PageSent, PageAcknowledged)
ON_THE_PATH = ("intake", "matching", "oncall")


@pytest.mark.parametrize("service", ON_THE_PATH)
def test_no_service_on_a_referrals_path_reads_a_topic_of_its_events_only_to_ignore_them(service):
    handled = set(subscriptions_of(service).handlers)
    read = subscribed_topics(service)
    ignored = [e.TYPE for e in REFERRAL_PATH if e.TOPIC in read and e.TYPE not in handled]
    assert not ignored, f"{service} fetches these only to ignore them: {ignored}"


def test_every_topic_and_its_dead_letter_topic_is_defined_and_nothing_else():
    assert set(PLAN.topics) == {*topics.ALL, *(topics.dead_letter(t) for t in topics.ALL)}


def test_every_topic_survives_a_lost_broker_and_is_not_kept_forever():
    for spec in PLAN.topics.values():
        assert spec.replication_factor == 3
        assert spec.config["min.insync.replicas"] == "2"
        assert spec.config["unclean.leader.election.enable"] == "false"
        assert 0 < int(spec.config["retention.ms"]) <= 800 * 24 * 3600 * 1000


@pytest.mark.parametrize("service", WITH_DATABASE)
def test_a_service_may_write_what_it_publishes_and_read_what_it_consumes_and_nothing_more(service):
    mine = {b for b in PLAN.bindings() if b.principal == f"User:pss-{service}"}
    expected = set()
    for topic in produced(service) | {topics.dead_letter(t) for t in subscribed_topics(service)}:
        expected |= {AclBinding(f"User:pss-{service}", "TOPIC", topic, op) for op in ("WRITE", "DESCRIBE")}
    for topic in subscribed_topics(service):
        expected |= {AclBinding(f"User:pss-{service}", "TOPIC", topic, op) for op in ("READ", "DESCRIBE")}
    expected |= {
        AclBinding(f"User:pss-{service}", "GROUP", service, "READ"),
        AclBinding(f"User:pss-{service}", "CLUSTER", "kafka-cluster", "IDEMPOTENT_WRITE"),
    }
    assert mine == expected


def test_operators_read_dead_letters_only_and_monitoring_only_describes():
    operations = {b for b in PLAN.bindings() if b.principal == "User:pss-operations"}
    assert {b.resource_name for b in operations if b.resource_type == "TOPIC"} == {
        topics.dead_letter(t) for t in topics.ALL
    }
    assert not {b for b in operations if b.operation == "WRITE"}
    monitoring = {b.operation for b in PLAN.bindings() if b.principal == "User:pss-monitoring"}
    assert monitoring == {"DESCRIBE"}


def test_no_one_else_has_any_right_and_the_front_end_has_no_kafka_access():
    principals = {b.principal for b in PLAN.bindings()}
    assert principals == {f"User:pss-{s}" for s in WITH_DATABASE} | {
        "User:pss-operations",
        "User:pss-monitoring",
    }


def test_the_plan_prints_the_commands_an_authority_runs():
    lines = PLAN.commands("kafka-1:9093")
    create = [line for line in lines if "kafka-topics.sh" in line]
    assert len(create) == len(PLAN.topics)
    assert all("--replication-factor 3" in line and "min.insync.replicas=2" in line for line in create)
    assert len([line for line in lines if "kafka-acls.sh" in line]) == len(PLAN.bindings())
    assert (
        "kafka-acls.sh --bootstrap-server kafka-1:9093 --command-config admin.properties --add"
        " --allow-principal User:pss-matching --operation Write --topic pss.matching.proposals.v1"
    ) in lines


def test_the_compose_topics_script_is_the_plan_for_one_broker():
    script = (DEPLOY / "kafka" / "compose-topics.sh").read_text().splitlines()
    generated = subprocess.run(
        [
            "pss",
            "kafka-plan",
            "--brokers",
            "1",
            "--topics-only",
            "--bootstrap",
            "kafka:9092",
            "--command-config",
            "",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.splitlines()
    assert [line for line in script if line.startswith("kafka-topics.sh")] == generated
    assert all("--replication-factor 1" in line and "min.insync.replicas=1" in line for line in generated)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"defaults": {"replication_factor": 3, "config": {"min.insync.replicas": "3"}}, "topics": {}},
            "below the replication factor",
        ),
        (
            {"defaults": {"config": {"min.insync.replicas": "2"}}, "topics": {"t": {"partitions": 3}}},
            "retention_days",
        ),
        (
            {
                "defaults": {"config": {"min.insync.replicas": "2"}},
                "topics": {"t": {"partitions": 1, "retention_days": 1}},
                "principals": {"User:x": {"group": "x", "read": ["u"]}},
            },
            "unknown topics ['u']",
        ),
    ],
)
def test_a_wrong_plan_is_refused_with_the_entry_named(raw, message):
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_plan(raw)
