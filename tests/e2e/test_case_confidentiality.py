"""Who may read a case, the audit of every read, the purge of identifiers, and a scan of
everything intake put on Kafka for anything that could identify a person."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from contracts import topics
from pss_dev.seed import sample_site, seed_site
from pss_testkit.testing import wait_for

from .helpers import acknowledge, as_worker, intake_events, offer_token, person, post, ref, wait_for_page

CRITICAL = {"category": "critical_incident", "kind": "unexpected_patient_death"}


def acknowledged_case(p, site, tag="access"):
    worker = person(tag, ref(site, "rn1"))
    answer = post(
        p,
        "/referrals",
        {"site_id": site.site_id, "reason": CRITICAL, "urgency": "within_hours", "worker": worker},
    )
    referral_id = uuid.UUID(answer["referral_id"])
    acknowledge(p, wait_for_page(p, referral_id, 0))
    wait_for(
        lambda: p.sql("SELECT supporters FROM intake.referral WHERE referral_id = %s", referral_id)[0][0],
        what="intake to assign the supporter",
    )
    return referral_id, worker, answer


def audit_rows(p, referral_id):
    return p.sql(
        "SELECT actor, actor_role, action, purpose FROM intake.personal_data_audit"
        " WHERE referral_id = %s ORDER BY id",
        referral_id,
    )


def test_only_the_site_s_coordinators_and_the_assigned_supporter_read_a_case_and_every_read_is_audited(
    running_platform, site
):
    p = running_platform
    referral_id, worker, _ = acknowledged_case(p, site)
    other = sample_site(f"t-{uuid.uuid4().hex[:6]}", "Another hospital", uuid.uuid4().hex[:6])
    with p.admin() as admin:
        seed_site(admin, {n: p.url(n) for n in p.platform.services}, other)
    contact_url = f"{p.url('intake')}/referrals/{referral_id}/contact"

    # refused, and without learning the case exists
    with p.coordinator(other) as foreign_coordinator:
        assert foreign_coordinator.get(contact_url).status_code == 404
        assert foreign_coordinator.get(f"{p.url('intake')}/referrals/{referral_id}").status_code == 404
    with p.supporter(site.backup) as unassigned:
        assert unassigned.get(contact_url).status_code == 404
    with p.client() as anonymous:
        assert anonymous.get(contact_url).status_code == 401
    with p.manager(site, ref(site, "mgr")) as manager:
        assert manager.get(contact_url).status_code == 403
    assert audit_rows(p, referral_id) == []  # refusals read nothing

    # permitted, and each read leaves a row: who, which case, why
    with p.supporter(site.primary) as assigned:
        read = assigned.get(contact_url, params={"purpose": "call back"})
    assert read.status_code == 200 and read.json()["email"] == worker["email"]
    with p.coordinator(site) as coordinator:
        assert coordinator.get(contact_url, params={"purpose": "reassign"}).status_code == 200
        log = coordinator.get(f"{p.url('intake')}/referrals/{referral_id}/access-log").json()
    assert audit_rows(p, referral_id) == [
        (f"user-{site.primary}", "peer_supporter", "read_contact", "call back"),
        (f"coord-{site.site_id}", "site_coordinator", "read_contact", "reassign"),
    ]
    assert [entry["actor_role"] for entry in log] == ["peer_supporter", "site_coordinator"]


def test_personal_data_is_encrypted_at_rest(running_platform, site):
    p = running_platform
    referral_id, worker, _ = acknowledged_case(p, site, "at-rest")
    raw = p.sql(
        "SELECT name_sealed, phone_sealed, email_sealed FROM intake.contact WHERE referral_id = %s",
        referral_id,
    )
    stored = b"".join(bytes(v) for v in raw[0])
    for secret in (worker["name"], worker["email"], worker["phone"]):
        assert secret.encode() not in stored


def test_the_purge_erases_identifiers_after_the_retention_period_and_the_statistics_survive(
    running_platform, site
):
    p = running_platform
    referral_id, _, answer = acknowledged_case(p, site, "purge")
    base = f"{p.url('intake')}/referrals/{referral_id}"
    with p.supporter(site.primary) as supporter:
        supporter.get(f"{base}/contact").raise_for_status()
        supporter.post(f"{base}/contacted").raise_for_status()
        supporter.post(
            f"{base}/close", json={"contact_made": True, "outcome": "one_time_support"}
        ).raise_for_status()

    # just closed: within the retention period nothing is erased
    assert p.sql("SELECT count(*) FROM intake.contact WHERE referral_id = %s", referral_id) == [(1,)]

    # thirty-one days later (the default retention is thirty)
    p.sql(
        "UPDATE intake.referral SET ended_at = ended_at - interval '31 days'"
        " WHERE referral_id = %s RETURNING 1",
        referral_id,
    )
    wait_for(
        lambda: (
            p.sql("SELECT purged_at IS NOT NULL FROM intake.referral WHERE referral_id = %s", referral_id)
            == [(True,)]
        ),
        what="the purge",
    )
    assert p.sql("SELECT count(*) FROM intake.contact WHERE referral_id = %s", referral_id) == [(0,)]
    assert p.sql(
        "SELECT worker_ref, supporters, worker_token_digest, idempotency_key FROM intake.referral"
        " WHERE referral_id = %s",
        referral_id,
    ) == [(None, [], None, None)]
    with p.coordinator(site) as coordinator:
        assert coordinator.get(f"{base}/contact").status_code == 404
        summary = coordinator.get(base).json()
    with p.client() as client:  # the worker's old link no longer opens anything
        assert (
            client.get(
                f"{p.url('intake')}/my-case", headers={"Worker-Token": answer["worker_token"]}
            ).status_code
            == 404
        )
    # the de-identified record stays for statistics
    assert {
        k: summary[k] for k in ("reason_category", "reason_kind", "status", "outcome", "encounters", "purged")
    } == {
        "reason_category": "critical_incident",
        "reason_kind": "unexpected_patient_death",
        "status": "closed",
        "outcome": "one_time_support",
        "encounters": 0,
        "purged": True,
    }
    assert summary["contacted_at"] is not None
    # who read the data before it went stays on record: accountability outlives the data
    assert [row[2] for row in audit_rows(p, referral_id)] == ["read_contact"]


IDENTIFIER = re.compile(
    r"^(?:"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a UUID
    r"|\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?"  # a date or time
    r"|st-[0-9a-z]{2,40}"  # a staff reference
    r"|[a-z0-9][a-z0-9_.-]{0,80}"  # a category, site id, course code, event type or topic
    r")$"
)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_no_event_intake_produced_carries_a_name_a_contact_or_free_text(running_platform, site):
    """A full run of every path, then every intake event on the bus is scanned."""
    p = running_platform
    people = []

    def who(tag):
        people.append(person(tag, ref(site, "rn1")))
        return people[-1]

    tokens = []
    base = {"site_id": site.site_id, "reason": CRITICAL, "urgency": "within_hours"}
    tokens.append(
        post(p, "/referrals", {**base, "worker": who("scan-self"), "imminent_risk": True})["worker_token"]
    )
    tokens.append(post(p, "/referrals/colleague", {**base, "caller": who("scan-colleague")})["worker_token"])
    with p.occupational_health() as oh:
        consent = {"method": "written", "given_at": "2026-01-05T10:00:00Z"}
        post(p, "/referrals/eap", {**base, "worker": who("scan-eap"), "consent": consent}, client=oh)
    with p.manager(site, ref(site, "mgr")) as manager:
        group = {
            "site_id": site.site_id,
            "unit": "ed",
            "people": 5,
            "event": CRITICAL,
            "contact": who("scan-group"),
        }
        tokens.append(post(p, "/group-activations", group, client=manager)["worker_token"])
    offered = who("scan-manager")
    with p.manager(site, ref(site, "mgr")) as manager:
        post(p, "/referrals/manager", {**base, "worker": offered}, client=manager)
    tokens.append(offer_token(p, offered["email"]))
    as_worker(p, tokens[-1], "accept")
    huddle = who("scan-huddle")
    with p.coordinator(site) as coordinator:
        post(p, "/outreach-offers", {**base, "source": "safety_huddle", "worker": huddle}, client=coordinator)
    tokens.append(offer_token(p, huddle["email"]))
    as_worker(p, tokens[-1], "decline")
    referral_id, closing, answer = acknowledged_case(p, site, "scan-closed")
    people.append(closing)
    tokens.append(answer["worker_token"])
    with p.supporter(site.primary) as supporter:
        url = f"{p.url('intake')}/referrals/{referral_id}"
        supporter.post(f"{url}/contacted").raise_for_status()
        supporter.post(f"{url}/encounters").raise_for_status()
        supporter.post(f"{url}/close", json={"contact_made": True, "outcome": "follow_up"}).raise_for_status()
    as_worker(p, tokens[1], "withdraw")
    wait_for(lambda: intake_events(p, "intake.referral.closed.v1", referral_id), what="the closing event")

    every_type = {
        "intake.referral.submitted.v1",
        "intake.referral.offered.v1",
        "intake.referral.declined.v1",
        "intake.referral.contacted.v1",
        "intake.referral.met.v1",
        "intake.referral.closed.v1",
        "intake.referral.withdrawn.v1",
    }

    def every_kind_published() -> list[Any] | None:
        # the withdrawal came last, on its own relay batch: read until it is there too
        records = [
            r
            for topic in (topics.REFERRALS, topics.SUBMISSIONS)
            for r in p.kafka.read(topic)
            if r.json().get("site_id") == site.site_id
        ]
        return records if {r.json()["type"] for r in records} >= every_type else None

    records = wait_for(every_kind_published, what="an event of every kind intake produces")
    secrets = [s for who_ in people for s in (who_["name"], who_["email"], who_["phone"])] + tokens
    for record in records:
        raw = record.value.decode() + json.dumps(record.headers)
        for secret in secrets:
            assert secret not in raw, f"{record.json()['type']} carries personal data"
        for text in _strings(record.json()["payload"]):
            assert IDENTIFIER.match(text), (
                f"{record.json()['type']} carries text that is not an identifier: {text!r}"
            )
