"""Effects once: restarts, redelivery and poison messages, on real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from contracts import topics
from pss_cli.provision import SERVICES
from pss_testkit.testing import TEST_ACK_TIMEOUT_SECONDS, subscribed_topics, wait_for

from .helpers import distinct, pages_sent, ref, self_referral, submit, wait_for_page


def test_oncall_killed_while_pages_wait_still_escalates_each_exactly_once(running_platform, site):
    """Three episodes wait on their acknowledgement timers when oncall dies; after the
    restart each escalates once, and none twice."""
    p = running_platform
    oncall = p.platform.services["oncall"]
    referrals = [submit(p, self_referral(site, ref(site, worker))) for worker in ("rn1", "rn2", "rn1")]
    for referral_id in referrals:
        wait_for_page(p, referral_id, step=0)

    oncall.kill()  # SIGKILL: no shutdown hook runs
    time.sleep(TEST_ACK_TIMEOUT_SECONDS + 1)  # the acknowledgement deadlines pass while it is down
    oncall.start()
    oncall.wait_ready()

    for referral_id in referrals:
        second = wait_for_page(p, referral_id, step=1, timeout=30)
        assert second["recipient"] == site.backup
    time.sleep(2)  # room for a duplicate to appear, if a timer could fire twice
    for referral_id in referrals:
        escalations = distinct(
            p.kafka.events(topics.PAGES, type_="oncall.page.escalated.v1", referral_id=referral_id)
        )
        assert [e["payload"]["from_step"] for e in escalations].count(0) == 1
        assert p.sql("SELECT count(*) FROM oncall.page WHERE referral_id = %s AND step = 1", referral_id) == [
            (1,)
        ]
        assert p.sql(
            "SELECT count(*) FROM oncall.timer"
            " WHERE referral_id = %s AND step = 0 AND kind = 'acknowledge' AND fired_at IS NOT NULL",
            referral_id,
        ) == [(1,)]


def test_an_event_redelivered_twice_has_one_effect(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    wait_for_page(p, referral_id, step=0)
    submitted = p.kafka.events(
        topics.SUBMISSIONS, type_="intake.referral.submitted.v1", referral_id=referral_id
    )[0]

    raw = json.dumps(submitted).encode()
    p.kafka.publish(topics.SUBMISSIONS, raw, key=site.site_id.encode())
    p.kafka.publish(topics.SUBMISSIONS, raw, key=site.site_id.encode())

    # a later referral of the same site is processed after the redeliveries (same partition)
    marker = submit(p, self_referral(site, ref(site, "rn2")))
    wait_for_page(p, marker, step=0)
    marker_event = p.kafka.events(
        topics.SUBMISSIONS, type_="intake.referral.submitted.v1", referral_id=marker
    )
    wait_for(
        lambda: p.sql("SELECT 1 FROM metrics.inbox WHERE event_id = %s", marker_event[0]["id"]),
        what="metrics to process the marker referral",
    )

    proposals = distinct(p.kafka.events(topics.PROPOSALS, referral_id=referral_id))
    assert len(proposals) == 1
    assert len(distinct([e for e in pages_sent(p, referral_id) if e["payload"]["step"] == 0])) == 1
    assert p.sql(
        "SELECT value FROM metrics.aggregate WHERE site_id = %s AND measure = 'referrals'", site.site_id
    ) == [(2,)]


def test_a_malformed_message_goes_to_the_dead_letter_topic_and_the_next_is_processed(running_platform, site):
    p = running_platform
    poison = b'{"id": "not-a-uuid", "type": "intake.referral.submitted.v1", "payload": {}}'
    p.kafka.publish(topics.SUBMISSIONS, poison, key=site.site_id.encode())
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))

    wait_for_page(p, referral_id, step=0)  # the flow goes on past the poison message

    def dead_letters():
        records = [r for r in p.kafka.read(topics.dead_letter(topics.SUBMISSIONS)) if r.value == poison]
        return records if {r.headers["dlt.consumer"] for r in records} >= {"matching", "metrics"} else None

    records = wait_for(dead_letters, what="each consumer to dead-letter the poison message")
    for record in records:
        assert record.headers["dlt.original_topic"] == topics.SUBMISSIONS
        assert record.headers["dlt.original_partition"].isdigit()
        assert record.headers["dlt.original_offset"].isdigit()
        assert record.headers["dlt.attempts"] == "1"
        assert record.headers["dlt.error"].startswith("malformed:")
        assert record.key == site.site_id.encode()


# the ways a message can be unreadable: not JSON, not an envelope, an envelope whose
# payload breaks its event's contract
POISONS = [
    b"\xff\xfe not json {",
    b'{"hello": "world"}',
    b'{"id": "not-a-uuid", "type": "intake.referral.submitted.v1", "payload": {}}',
]


def test_a_poison_message_on_every_consumed_topic_is_dead_lettered_by_each_consumer_and_the_flow_goes_on(
    running_platform, site
):
    p = running_platform
    consumed = {topic: {s for s in SERVICES if topic in subscribed_topics(s)} for topic in topics.ALL}
    assert all(consumed.values()), f"topics nobody consumes: {[t for t, s in consumed.items() if not s]}"
    marker = uuid.uuid4().hex
    poisons = {}
    for i, topic in enumerate(consumed):  # each unique, so it is found again exactly
        poison = POISONS[i % len(POISONS)]
        tag = f', "drill": "{marker}"}}'.encode()
        poisons[topic] = poison[:-1] + tag if poison.endswith(b"}") else poison + marker.encode()
    p.kafka.publish_many([(topic, site.site_id.encode(), poison) for topic, poison in poisons.items()])

    # the referral flow runs over three of these topics, past their poison messages
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    wait_for_page(p, referral_id, step=0)

    def dead_lettered() -> dict[str, list[Any]] | None:
        found = {
            topic: [r for r in p.kafka.read(topics.dead_letter(topic)) if r.value == poisons[topic]]
            for topic in consumed
        }
        complete = all({r.headers["dlt.consumer"] for r in found[t]} >= consumed[t] for t in consumed)
        return found if complete else None

    found = wait_for(dead_lettered, timeout=60, what="each consumer of each topic to dead-letter its poison")
    for topic, records in found.items():
        assert {r.headers["dlt.consumer"] for r in records} == consumed[topic]
        for record in records:
            assert record.headers["dlt.original_topic"] == topic
            assert record.headers["dlt.error"].startswith("malformed:")
            assert record.key == site.site_id.encode()
        # each consumer committed past the poison: it will not be read again after a restart
        partition = int(records[0].headers["dlt.original_partition"])
        offset = int(records[0].headers["dlt.original_offset"])
        for service in consumed[topic]:
            wait_for(
                lambda s=service, t=topic, part=partition, off=offset: (
                    (committed_offset(p, s, t, part) or -1) > off
                ),
                timeout=30,
                what=f"{service} to commit past the poison on {topic}",
            )


def committed_offset(p, group: str, topic: str, partition: int) -> int | None:
    async def read() -> int | None:
        from aiokafka import TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=p.platform.infrastructure.kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        meta = offsets.get(TopicPartition(topic, partition))
        return None if meta is None else meta.offset

    return asyncio.run(read())
