"""Training on real Kafka and PostgreSQL: a certification lapses at its moment with no
manual step and matching stops proposing the supporter; the reminders ahead of it go out
once each, across a restart of training; a renewal brings the supporter back."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from contracts import topics
from pss_cli.seed import Person, Site
from pss_cli.testing import seed_and_wait, wait_for

from .helpers import self_referral, submit

VALIDITY = timedelta(days=730)  # crisis-mgmt in the seeded catalogue
REMINDERS = (0.0002, 0.0001)  # days before expiry, as the test platform configures (~17 s, ~9 s)


def completion(p, staff_ref: str, completed_at: datetime, course: str = "crisis-mgmt") -> dict:  # type: ignore[no-untyped-def,type-arg]
    with p.admin() as admin:
        response = admin.post(
            f"{p.url('training')}/supporters/{staff_ref}/completions",
            json={"course": course, "completed_at": completed_at.isoformat()},
        )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def reminders(p, staff_ref: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    found = p.kafka.events(
        topics.CERTIFICATIONS, type_="training.certification.expiring.v1", supporter=staff_ref
    )
    return list({e["id"]: e["payload"] for e in found}.values())


def eligible(p, staff_ref: str) -> list[tuple[bool]]:  # type: ignore[no-untyped-def]
    return p.sql("SELECT eligible FROM matching.eligibility WHERE staff_ref = %s", staff_ref)  # type: ignore[no-any-return]


def test_a_lapse_at_its_moment_stops_proposals_reminders_go_once_across_a_restart_and_renewal_restores(
    running_platform,
):
    p = running_platform
    tag = uuid.uuid4().hex[:6]
    site = seed_and_wait(
        p,
        Site(
            f"t-{tag}",
            "Training hospital",
            [
                Person(f"st-{tag}rn", "nursing", 3),
                Person(f"st-{tag}lapsing", "nursing", 4, supporter=True, certified=False),
                Person(f"st-{tag}steady", "nursing", 4, supporter=True),
                Person(f"st-{tag}coord", "social_work", 4),
            ],
            primary=f"st-{tag}steady",
            backup=None,
            coordinator=f"st-{tag}coord",
            region=f"r-{tag}",
        ),
    )
    supporter = f"st-{tag}lapsing"
    now = datetime.now(UTC)
    for course in ("basic-peer-support", "confidentiality"):
        completion(p, supporter, now, course)
    expires_at = now + timedelta(seconds=30)
    answer = completion(p, supporter, expires_at - VALIDITY)
    assert datetime.fromisoformat(answer["expires_at"]) == expires_at

    first = wait_for(lambda: reminders(p, supporter), timeout=30, what="the first reminder")
    assert [r["days_before"] for r in first] == [REMINDERS[0]]
    training = p.platform.services["training"]
    training.kill()  # SIGKILL while the second reminder is still ahead
    time.sleep(max(0.0, (expires_at - timedelta(days=REMINDERS[1]) - datetime.now(UTC)).total_seconds()) + 1)
    training.start()
    training.wait_ready()

    wait_for(
        lambda: len(reminders(p, supporter)) == 2, timeout=30, what="the second reminder, after the restart"
    )
    # the lapse: no manual step, matching learns it from the eligibility event
    wait_for(lambda: eligible(p, supporter) == [(False,)], timeout=40, what="the lapse at the expiry moment")
    expired = p.kafka.events(
        topics.CERTIFICATIONS, type_="training.certification.expired.v1", supporter=supporter
    )
    assert expired and datetime.now(UTC) >= expires_at
    referral_id = submit(p, self_referral(site, f"st-{tag}rn"))
    proposed = wait_for(
        lambda: p.kafka.events(topics.PROPOSALS, type_="matching.match.proposed.v1", referral_id=referral_id),
        what="a proposal after the lapse",
    )[0]["payload"]
    assert supporter not in [c["supporter"] for c in proposed["candidates"]]
    assert proposed["excluded_by_rule"]["certification"] >= 1

    completion(p, supporter, datetime.now(UTC))  # renewed today
    wait_for(lambda: eligible(p, supporter) == [(True,)], what="the renewal to restore eligibility")

    time.sleep(2)  # room for a duplicate, if a timer could fire twice
    assert sorted(r["days_before"] for r in reminders(p, supporter)) == sorted(REMINDERS)
    sent = wait_for(
        lambda: (
            (
                rows := p.sql(
                    "SELECT recipient, detail->>'days_before' FROM oncall.notification"
                    " WHERE kind = 'reminder' AND detail->>'supporter' = %s ORDER BY 1, 2",
                    supporter,
                )
            )
            and len(rows) == 4
            and rows
        ),
        what="oncall to send each reminder to the supporter and the coordinator",
    )
    assert sorted(sent) == sorted(
        (who, str(days)) for who in (supporter, site.coordinator) for days in REMINDERS
    )
