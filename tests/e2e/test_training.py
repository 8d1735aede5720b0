"""Training on real Kafka and PostgreSQL: a certification lapses at its moment with no
manual step and matching stops proposing the supporter; the reminders ahead of it go out
once each, across a restart of training; a renewal brings the supporter back. The
recruitment pipeline refuses invalid steps and its last step makes a new supporter
proposable; completions import from CSV; a closed encounter prompts a debrief."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts import topics
from pss_cli.imports import import_completions
from pss_cli.main import app
from pss_dev.seed import REQUIRED, Person, Site, sample_site
from pss_testkit.testing import seed_and_wait, wait_for
from servicekit.database import Database, UnitOfWork
from training.supporter_care import handlers as supporter_care
from typer.testing import CliRunner

from .helpers import acknowledge, proposal, ref, self_referral, submit, wait_for_page

VALIDITY = timedelta(days=730)  # crisis-management in the seeded catalogue
REMINDERS = (0.0002, 0.0001)  # days before expiry, as the test platform configures (~17 s, ~9 s)


def completion(p, staff_ref: str, completed_at: datetime, course: str = "crisis-management") -> dict:  # type: ignore[no-untyped-def,type-arg]
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


# --- recruitment ---------------------------------------------------------------------------


def test_recruitment_refuses_each_invalid_step_with_the_reason_and_activation_makes_a_supporter_proposable(
    running_platform, site
):
    p = running_platform
    candidate = ref(site, "newsup")
    with p.admin() as admin:  # in the authority's directory and roster, not yet in training
        admin.put(
            f"{p.url('matching')}/directory/people",
            json=[{"staff_ref": candidate, "site_id": site.site_id, "profession": "nursing", "seniority": 4}],
        ).raise_for_status()
        admin.put(f"{p.url('matching')}/supporters/{candidate}", json={}).raise_for_status()
    base = f"{p.url('training')}/candidates"

    def step(client, stage: str, expect: int = 200) -> dict:  # type: ignore[no-untyped-def,type-arg]
        response = client.post(f"{base}/{candidate}/stage", json={"stage": stage})
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]

    def reference(client, referee: str, kind: str) -> None:  # type: ignore[no-untyped-def]
        response = client.post(f"{base}/{candidate}/references", json={"referee": referee, "kind": kind})
        assert response.status_code == 200, response.text

    with p.coordinator(site) as coordinator:
        started = coordinator.post(base, json={"staff_ref": candidate, "home_site": site.site_id})
        assert started.status_code == 201, started.text
        assert started.json()["stage"] == "interested"
        again = coordinator.post(base, json={"staff_ref": candidate, "home_site": site.site_id})
        assert again.status_code == 409 and "already has a candidacy" in again.json()["message"]

        skipped = step(coordinator, "fitness_interviewed", expect=409)
        assert (
            skipped["message"] == "cannot go from interested to fitness_interviewed: the next step is applied"
        )
        early = coordinator.post(
            f"{base}/{candidate}/references", json={"referee": ref(site, "rn1"), "kind": "peer"}
        )
        assert early.status_code == 409 and "collected with the application" in early.json()["message"]
        step(coordinator, "applied")
        reference(coordinator, ref(site, "rn1"), "peer")
        reference(coordinator, ref(site, "rn1"), "peer")  # the same referee counts once
        short = step(coordinator, "fitness_interviewed", expect=409)["message"]
        assert short.endswith("1 more peer reference and 1 more manager reference")
        reference(coordinator, ref(site, "rn2"), "peer")
        reference(coordinator, ref(site, "mgr"), "manager")
        for stage in ("fitness_interviewed", "skills_interviewed", "agreement_signed"):
            assert step(coordinator, stage)["stage"] == stage
        untrained = step(coordinator, "trained", expect=409)["message"]
        assert untrained.endswith("still missing: " + ", ".join(sorted(REQUIRED)))
        for course in REQUIRED:
            done = coordinator.post(
                f"{p.url('training')}/supporters/{candidate}/completions",
                json={"course": course, "completed_on": str(datetime.now(UTC).date())},
            )
            assert done.status_code == 201, done.text
        step(coordinator, "trained")
        # trained but not yet active: never eligible
        assert eligible(p, candidate) in ([], [(False,)])
        # nor can the authority's registration skip the activation step
        with p.admin() as admin:
            registered = admin.put(
                f"{p.url('training')}/supporters/{candidate}",
                json={"home_site": site.site_id, "active": True},
            )
        assert (
            registered.status_code == 409 and "being recruited (at 'trained')" in registered.json()["message"]
        )
        assert eligible(p, candidate) in ([], [(False,)])
        view = step(coordinator, "active")
        assert [s["stage"] for s in view["steps"]] == [
            "interested",
            "applied",
            "fitness_interviewed",
            "skills_interviewed",
            "agreement_signed",
            "trained",
            "active",
        ]
        assert step(coordinator, "declined", expect=409)["message"].startswith(
            "an active supporter is not declined"
        )

    wait_for(lambda: eligible(p, candidate) == [(True,)], what="matching to learn the activation")
    proposed = proposal(p, submit(p, self_referral(site, ref(site, "rn1"))))
    assert candidate in [c["supporter"] for c in proposed["candidates"]]

    other = sample_site(f"t-{uuid.uuid4().hex[:6]}", "Elsewhere", uuid.uuid4().hex[:6])
    with p.coordinator(other) as stranger:  # another site's coordinator learns nothing
        assert stranger.get(f"{base}/{candidate}").status_code == 404
        assert stranger.post(f"{base}/{candidate}/stage", json={"stage": "withdrawn"}).status_code == 404
        assert stranger.get(f"{p.url('training')}/supporters/{candidate}").status_code == 404

    with p.coordinator(site) as coordinator:
        assert step(coordinator, "withdrawn")["stage"] == "withdrawn"
        assert step(coordinator, "applied", expect=409)["message"].startswith("this candidacy was withdrawn")
    wait_for(lambda: eligible(p, candidate) == [(False,)], what="matching to learn the withdrawal")
    audit = p.sql(
        "SELECT count(*), array_agg(DISTINCT by_subject) FROM training.candidacy_step s"
        " JOIN training.candidacy c USING (candidacy_id) WHERE c.staff_ref = %s",
        candidate,
    )
    assert audit == [(8, [f"coord-{site.site_id}"])]


# --- records from CSV --------------------------------------------------------------------


def test_completions_import_from_csv_reports_each_bad_row_imports_the_rest_and_a_reimport_adds_nothing(
    running_platform, tmp_path: Path
):
    p = running_platform
    tag = uuid.uuid4().hex[:6]
    site = seed_and_wait(
        p,
        Site(
            f"t-{tag}",
            "Import hospital",
            [
                Person(f"st-{tag}new", "nursing", 4, supporter=True, certified=False),
                Person(f"st-{tag}coord", "social_work", 4),
            ],
            primary=None,
            backup=None,
            coordinator=f"st-{tag}coord",
        ),
    )
    who = f"st-{tag}new"
    today = datetime.now(UTC).date()
    renewed = today - timedelta(days=10)
    csv_text = (
        "staff_ref,course,completed_on,completed_at\n"
        f"{who},basic-peer-support,{today - timedelta(days=30)},\n"  # 2
        f"{who},crisis-management,,{datetime.now(UTC).isoformat()}\n"  # 3: a moment
        f"{who},juggling,{today},\n"  # 4: not in the catalogue
        f"st-{tag}nobody,confidentiality,{today},\n"  # 5: not a supporter
        f"{who},confidentiality,{today + timedelta(days=3)},\n"  # 6: in the future
        f"{who},confidentiality,31/12/2025,\n"  # 7: not a date
        f"{who},confidentiality,{renewed},{datetime.now(UTC).isoformat()}\n"  # 8: both
        f"{who},confidentiality,{renewed},\n"  # 9: the renewal
        f"{who},confidentiality,{renewed - timedelta(days=700)},\n"  # 10: the older one, read later
        f"{who},confidentiality,{renewed},\n"  # 11: line 9 again
    )
    path = tmp_path / "completions.csv"
    path.write_text(csv_text)
    token = p.issuer.token("importer", ["authority_admin"])
    report = import_completions(path, training_url=p.url("training"), token=token, batch_size=5)
    assert (report.rows, report.imported, report.already_recorded) == (10, 4, 0)
    problems = dict(report.rejected)
    assert sorted(problems) == [4, 5, 6, 7, 8, 9]
    assert problems[4] == "course: 'juggling' is not in the catalogue"
    assert problems[5] == f"staff_ref: supporter 'st-{tag}nobody' is not registered with training"
    assert problems[6] == "a completion cannot be in the future"
    assert problems[7].startswith("completed_on: ")
    assert problems[8].startswith("give completed_on (a day) or completed_at (a moment)")
    assert problems[9] == "repeated on line 11, which was used"
    # every required course is current now: eligible, from the import alone
    wait_for(lambda: eligible(p, who) == [(True,)], what="eligibility from imported records")
    # the renewal owns the timers; the older record, imported after it, cancelled none
    live = p.sql(
        "SELECT c.completed_on FROM training.timer x JOIN training.certification c USING (certification_id)"
        " WHERE c.staff_ref = %s AND c.course = 'confidentiality' AND x.kind = 'expiry'"
        " AND x.cancelled_at IS NULL AND x.fired_at IS NULL",
        who,
    )
    assert live == [(renewed,)]

    # the command line, again with the same file: nothing new, the same rows refused
    result = CliRunner().invoke(
        app, ["training", "import", str(path), "--training-url", p.url("training")], env={"PSS_TOKEN": token}
    )
    assert result.exit_code == 2, result.output
    assert "0 imported, 6 rejected, 4 already recorded, of 10 rows" in result.output
    assert "line 4: course: 'juggling' is not in the catalogue" in result.output
    assert p.sql("SELECT count(*) FROM training.certification WHERE staff_ref = %s", who) == [(4,)]
    with p.coordinator(site) as coordinator:
        record = coordinator.get(f"{p.url('training')}/supporters/{who}").json()
    assert record["eligible"] and record["courses_missing"] == []
    assert {c["course"]: c["completed_at"][:10] for c in record["certifications"]}["confidentiality"] == str(
        renewed
    )


# --- supporting the supporters ----------------------------------------------------------


async def _forget_closures(database_url: str, *, older_than: datetime) -> int:
    """training's own clean-up, run once against its database (its loop runs hourly)."""
    database = Database(database_url, schema="training", pool_size=1)
    try:
        async with UnitOfWork(database, producer="training") as uow:
            return await supporter_care.forget_closures(uow, older_than=older_than)
    finally:
        await database.dispose()


def test_a_closed_encounter_prompts_the_supporter_to_debrief_without_naming_the_case(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    page = wait_for_page(p, referral_id, 0)
    acknowledge(p, page)
    me = page["recipient"]
    case = f"{p.url('intake')}/referrals/{referral_id}"
    with p.supporter(me) as supporter:
        wait_for(lambda: supporter.post(f"{case}/contacted").status_code == 200, what="the call back")
        closed = supporter.post(f"{case}/close", json={"contact_made": True, "outcome": "one_time_support"})
        assert closed.status_code == 200, closed.text
        prompts = wait_for(
            lambda: supporter.get(f"{p.url('training')}/me/debrief-prompts").json(), what="the debrief prompt"
        )
        assert len(prompts) == 1 and prompts[0]["answered_at"] is None
        prompt_id = prompts[0]["prompt_id"]
        # the message reaches the supporter through oncall, and holds nothing of the case
        sent = wait_for(
            lambda: p.sql(
                "SELECT recipient, referral_id, detail FROM oncall.notification WHERE kind = 'debrief'"
                " AND detail->>'prompt_id' = %s",
                prompt_id,
            ),
            what="oncall to send the prompt",
        )
        assert sent == [(me, None, {"site_id": site.site_id, "prompt_id": prompt_id})]
        event = p.kafka.events(topics.SUPPORTER_CARE, type_="training.debrief.prompted.v1", supporter=me)
        assert event and str(referral_id) not in str(event)
        assert p.sql("SELECT count(*) FROM training.engagement WHERE referral_id = %s", referral_id) == [(0,)]
        # the close is kept a while for late acknowledgements, then training drops the case's id
        closure = "SELECT count(*) FROM training.closure WHERE referral_id = %s"
        database_url = p.platform.services["training"].env["DATABASE_URL"]
        assert p.sql(closure, referral_id) == [(1,)]
        asyncio.run(_forget_closures(database_url, older_than=datetime.now(UTC) - timedelta(hours=1)))
        assert p.sql(closure, referral_id) == [(1,)]
        assert asyncio.run(
            _forget_closures(database_url, older_than=datetime.now(UTC) + timedelta(minutes=1))
        )
        assert p.sql(closure, referral_id) == [(0,)]
        with p.coordinator(site) as coordinator:
            waiting = coordinator.get(f"{p.url('training')}/sites/{site.site_id}/debrief-prompts").json()
            assert [w["staff_ref"] for w in waiting] == [me]
        answer = f"{p.url('training')}/me/debrief-prompts/{prompt_id}"
        assert supporter.post(answer, json={"outcome": "debriefed"}).status_code == 200
        twice = supporter.post(answer, json={"outcome": "not_needed"})
        assert twice.status_code == 409 and "answered already (debriefed)" in twice.json()["message"]
        with p.supporter(ref(site, "sup3")) as someone_else:
            assert someone_else.post(answer, json={"outcome": "debriefed"}).status_code == 404
        # continuing education, by the supporter themself
        hours = supporter.post(
            f"{p.url('training')}/supporters/{me}/education",
            json={"on": str(datetime.now(UTC).date()), "hours": 1.5, "activity": "moral-injury-webinar"},
        )
        assert hours.status_code == 201 and hours.json()["education_hours_12_months"] == 1.5


def test_monthly_debriefs_record_attendance_and_the_roster_shows_it_for_the_own_site_only(
    running_platform, site
):
    p = running_platform
    training = p.url("training")
    attendees = [ref(site, "sup1"), ref(site, "sup2")]
    with p.coordinator(site) as coordinator:
        held = coordinator.post(
            f"{training}/sites/{site.site_id}/debriefs",
            json={"held_on": str(datetime.now(UTC).date()), "minutes": 60, "attendees": attendees},
        )
        assert held.status_code == 201, held.text
        unknown = coordinator.post(
            f"{training}/sites/{site.site_id}/debriefs",
            json={"held_on": str(datetime.now(UTC).date()), "minutes": 60, "attendees": ["st-nobody0"]},
        )
        assert (
            unknown.status_code == 422
            and unknown.json()["message"] == "not supporters of this site: st-nobody0"
        )
        ahead = coordinator.post(
            f"{training}/sites/{site.site_id}/debriefs",
            json={
                "held_on": str(datetime.now(UTC).date() + timedelta(days=30)),
                "minutes": 60,
                "attendees": attendees,
            },
        )
        assert ahead.status_code == 422 and "a debrief cannot be in the future" in ahead.json()["message"]
        month = coordinator.get(f"{training}/sites/{site.site_id}/debriefs").json()
        assert [(d["kind"], d["attendees"]) for d in month] == [("monthly", sorted(attendees))]
        roster = {
            r["staff_ref"]: r for r in coordinator.get(f"{training}/sites/{site.site_id}/supporters").json()
        }
    assert roster[ref(site, "sup1")]["debriefs_attended_12_months"] == 1
    assert roster[ref(site, "sup3")]["debriefs_attended_12_months"] == 0
    assert (
        roster[ref(site, "sup1")]["eligible"]
        and roster[ref(site, "sup1")]["next_expiry"]["course"] in REQUIRED
    )
    other = sample_site(f"t-{uuid.uuid4().hex[:6]}", "Elsewhere", uuid.uuid4().hex[:6])
    with p.coordinator(other) as stranger:
        for path in ("debriefs", "supporters", "debrief-prompts"):
            assert stranger.get(f"{training}/sites/{site.site_id}/{path}").status_code == 404
        assert (
            stranger.post(
                f"{training}/sites/{site.site_id}/debriefs",
                json={"held_on": str(datetime.now(UTC).date()), "minutes": 60, "attendees": attendees},
            ).status_code
            == 404
        )
