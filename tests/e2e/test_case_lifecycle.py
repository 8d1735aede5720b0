"""A case that ends stops everything about it, whatever order the events come in: no page,
timer or message outlives it, and no action on it is accepted (issue: case lifecycle)."""

from __future__ import annotations

import time
import uuid

from contracts import topics
from contracts.events import Candidate, MatchProposed, ReferralClosed, ReferralSubmitted, ReferralWithdrawn
from contracts.types import CaseOutcome, Modality, ReasonCategory, ReasonKind, Urgency, WithdrawalStage
from pss_testkit.testing import TEST_ACK_TIMEOUT_SECONDS, wait_for

from .helpers import as_worker, pages_sent, person, post, ref, wait_for_page

CRITICAL = {"category": "critical_incident", "kind": "unexpected_patient_death"}


def _open_case(p, site, tag: str) -> tuple[uuid.UUID, dict]:
    worker = person(tag, ref(site, "rn1"))
    answer = post(
        p,
        "/referrals",
        {"site_id": site.site_id, "reason": CRITICAL, "urgency": "within_hours", "worker": worker},
    )
    return uuid.UUID(answer["referral_id"]), answer


def _episode(p, referral_id):
    rows = p.sql("SELECT status FROM oncall.episode WHERE referral_id = %s", referral_id)
    return rows[0][0] if rows else None


def _live_timers(p, referral_id) -> int:
    return p.sql(
        "SELECT count(*) FROM oncall.timer"
        " WHERE referral_id = %s AND fired_at IS NULL AND cancelled_at IS NULL",
        referral_id,
    )[0][0]


def _unsent_messages(p, referral_id) -> int:
    return p.sql(
        "SELECT count(*) FROM oncall.notification"
        " WHERE referral_id = %s AND status IN ('pending', 'sending')",
        referral_id,
    )[0][0]


def test_closing_a_case_that_is_still_paging_stops_every_page_timer_and_message(running_platform, site):
    p = running_platform
    referral_id, _ = _open_case(p, site, "close-paging")
    wait_for_page(p, referral_id, 0)
    with p.coordinator(site) as coordinator:
        closed = coordinator.post(
            f"{p.url('intake')}/referrals/{referral_id}/close",
            json={"contact_made": False, "outcome": "no_contact"},
        )
    assert closed.status_code == 200, closed.text
    wait_for(lambda: _episode(p, referral_id) == "closed", what="oncall to end the episode")
    assert _live_timers(p, referral_id) == 0
    assert _unsent_messages(p, referral_id) == 0
    assert p.sql(
        "SELECT count(*) FROM oncall.page WHERE referral_id = %s AND status IN ('sent', 'expired')",
        referral_id,
    ) == [(0,)]
    # the acknowledgement timeout passes: nobody else (backup, coordinator) is paged
    time.sleep(TEST_ACK_TIMEOUT_SECONDS + 1.5)
    assert [e["payload"]["step"] for e in pages_sent(p, referral_id)] == [0]
    # the page that went out can no longer be taken
    page_id = pages_sent(p, referral_id)[0]["payload"]["page_id"]
    with p.supporter(site.primary) as supporter:
        late = supporter.post(f"{p.url('oncall')}/pages/{page_id}/acknowledge")
    assert late.status_code == 409, late.text
    # and the coordinator's queue no longer shows it
    with p.coordinator(site) as coordinator:
        queue = coordinator.get(f"{p.url('oncall')}/sites/{site.site_id}/episodes").json()
    assert str(referral_id) not in {str(e["referral_id"]) for e in queue}


def test_every_action_on_an_ended_case_is_refused_with_the_reason(running_platform, site):
    p = running_platform
    referral_id, answer = _open_case(p, site, "ended-actions")
    wait_for_page(p, referral_id, 0)
    assert as_worker(p, answer["worker_token"], "withdraw")["status"] == "withdrawn"
    wait_for(lambda: _episode(p, referral_id) == "withdrawn", what="oncall to end the episode")
    url = f"{p.url('intake')}/referrals/{referral_id}"
    with p.coordinator(site) as coordinator:
        # matching learns the ending from intake's event
        wait_for(
            lambda: p.sql("SELECT ended FROM matching.ended_referral WHERE referral_id = %s", referral_id),
            what="matching to learn the case ended",
        )
        override = coordinator.post(
            f"{p.url('matching')}/proposals/{referral_id}/override",
            json={"supporter": site.backup, "reason": "availability"},
        )
        assert override.status_code == 409, override.text
        assert "ended (withdrawn)" in override.json()["message"]
        for path, body in [
            ("/contacted", None),
            ("/encounters", None),
            ("/close", {"contact_made": False, "outcome": "no_contact"}),
            ("/withdraw", None),
            ("/confidentiality-exceptions", {"reason": "risk_of_harm_to_others", "worker_informed": True}),
        ]:
            refused = coordinator.post(f"{url}{path}", json=body)
            assert refused.status_code == 409, (path, refused.text)
            assert "withdrawn" in refused.json()["message"], path
    time.sleep(TEST_ACK_TIMEOUT_SECONDS + 1.5)
    assert [e["payload"]["step"] for e in pages_sent(p, referral_id)] == [
        0
    ]  # nobody paged after the override


def test_a_case_closed_before_its_proposal_arrives_pages_nobody(running_platform, site):
    """Oncall reads the proposals and the endings from two topics: the ending may come
    first. It is remembered, so the late proposal pages nobody."""
    p = running_platform
    referral_id = uuid.uuid4()
    ending = ReferralClosed(
        referral_id=referral_id, site_id=site.site_id, contact_made=False, outcome=CaseOutcome.NO_CONTACT
    ).envelope(site_id=site.site_id, producer="intake")
    p.kafka.publish(topics.REFERRALS, ending.model_dump_json().encode(), key=site.site_id.encode())
    wait_for(lambda: _episode(p, referral_id) == "closed", what="oncall to record the ended case")
    late = MatchProposed(
        referral_id=referral_id,
        site_id=site.site_id,
        urgency=Urgency.WITHIN_HOURS,
        candidates=[Candidate(supporter=site.primary, rank=1, score=1.0)],
    ).envelope(site_id=site.site_id, producer="matching")
    p.kafka.publish(topics.PROPOSALS, late.model_dump_json().encode(), key=site.site_id.encode())
    wait_for(
        lambda: p.sql("SELECT 1 FROM oncall.inbox WHERE event_id = %s", late.id),
        what="oncall to take the proposal",
    )
    assert pages_sent(p, referral_id) == []
    assert _live_timers(p, referral_id) == 0


def test_a_case_withdrawn_before_matching_reads_its_submission_is_proposed_to_nobody(running_platform, site):
    """Matching reads the submissions and the endings from two topics: the ending may come
    first. It is remembered, so the late submission is decided for nobody and pages nobody."""
    p = running_platform
    referral_id = uuid.uuid4()
    ending = ReferralWithdrawn(
        referral_id=referral_id, site_id=site.site_id, stage=WithdrawalStage.SUBMITTED
    ).envelope(site_id=site.site_id, producer="intake")
    p.kafka.publish(ReferralWithdrawn.TOPIC, ending.model_dump_json().encode(), key=site.site_id.encode())
    wait_for(
        lambda: p.sql("SELECT 1 FROM matching.ended_referral WHERE referral_id = %s", referral_id),
        what="matching to record the ended case",
    )
    late = ReferralSubmitted(
        referral_id=referral_id,
        site_id=site.site_id,
        path="self",
        reason_category=ReasonCategory.CRITICAL_INCIDENT,
        reason_kind=ReasonKind.UNEXPECTED_PATIENT_DEATH,
        urgency=Urgency.WITHIN_HOURS,
        modality=Modality.PHONE,
        worker=ref(site, "rn1"),
    ).envelope(site_id=site.site_id, producer="intake")
    assert ReferralSubmitted.TOPIC == topics.SUBMISSIONS != ReferralWithdrawn.TOPIC
    p.kafka.publish(topics.SUBMISSIONS, late.model_dump_json().encode(), key=site.site_id.encode())
    wait_for(
        lambda: p.sql("SELECT 1 FROM matching.inbox WHERE event_id = %s", late.id),
        what="matching to take the submission",
    )
    assert p.sql("SELECT count(*) FROM matching.proposal WHERE referral_id = %s", referral_id) == [(0,)]
    assert p.kafka.events(topics.PROPOSALS, referral_id=str(referral_id)) == []  # nothing for oncall
    assert pages_sent(p, referral_id) == []


def test_the_referral_of_a_manager_needs_a_signed_in_manager_of_the_site(running_platform, site, other_site):
    p = running_platform
    body = {
        "site_id": site.site_id,
        "reason": CRITICAL,
        "worker": {"name": "<a href=http://evil.example>Click</a>", "email": "x@example.org"},
    }
    with p.client() as anonymous:
        assert anonymous.post(f"{p.url('intake')}/referrals/manager", json=body).status_code == 401
    with p.manager(other_site, ref(other_site, "mgr")) as elsewhere:
        refused = elsewhere.post(f"{p.url('intake')}/referrals/manager", json=body)
        assert refused.status_code == 404, refused.text
    with p.manager(site, ref(site, "mgr")) as manager:
        assert manager.post(f"{p.url('intake')}/referrals/manager", json=body).status_code == 202
        mail = wait_for(lambda: p.mailbox.to("x@example.org"), what="the offer mail")[0]
        assert "evil" not in mail.body and "Click" not in mail.body  # nothing typed reaches the mail
        # offers are limited per requester: no relay of mail to any address
        for n in range(9):
            worker = {"name": "Sam", "email": f"sam{n}@example.org"}
            sent = manager.post(f"{p.url('intake')}/referrals/manager", json={**body, "worker": worker})
            assert sent.status_code == 202, sent.text
        limited = manager.post(f"{p.url('intake')}/referrals/manager", json=body)
        assert limited.status_code == 429 and "try again later" in limited.json()["message"]
        assert limited.headers["Retry-After"]


def test_a_worker_the_directory_does_not_know_is_not_matched_blind(running_platform, site):
    """No staff reference (the form allows it), or one in no directory: seniority and the
    reporting line cannot be checked, so only the most senior grade may be offered (here:
    nobody, and the coordinator is paged at once), and the explanation says so."""
    p = running_platform
    for who in (person("unknown-none"), person("unknown-typo", "st-nosuchperson")):
        answer = post(
            p,
            "/referrals",
            {"site_id": site.site_id, "reason": CRITICAL, "urgency": "within_hours", "worker": who},
        )
        referral_id = uuid.UUID(answer["referral_id"])
        url = f"{p.url('matching')}/proposals/{referral_id}"
        with p.coordinator(site) as coordinator:

            def decided(client=coordinator, url=url):  # type: ignore[no-untyped-def]
                response = client.get(url)
                return response.status_code == 200 and response.json()

            explained = wait_for(decided, what="the decision")
        assert explained["worker_checks"] == "not in the directory: seniority and reporting line unchecked"
        assert explained["candidates"] == []  # no student, no junior: the site has no grade-6 supporter
        page = wait_for_page(p, referral_id, 0)
        assert page["recipient_role"] == "coordinator"
        # and the coordinator's queue says it too (oncall's episode carries the flag)
        with p.coordinator(site) as coordinator:
            episodes = coordinator.get(f"{p.url('oncall')}/sites/{site.site_id}/episodes").json()
        assert next(e for e in episodes if e["referral_id"] == str(referral_id))["worker_unchecked"] is True
