"""On call on real Kafka, PostgreSQL and SMTP: the whole chain, messages with single-use
links that go through a real SMTP server, routes that fall through, service-level clocks
that breach and re-open, broadcasts filled by the first k, schedules that publish duty and
warn of gaps, and a supporter's own pause."""

from __future__ import annotations

import re
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts import topics
from pss_dev.seed import Person, Site
from pss_testkit.testing import RunningPlatform, seed_and_wait, wait_for

from .helpers import (
    acknowledge,
    as_worker,
    pages_sent,
    person,
    post,
    ref,
    self_referral,
    submit,
    wait_for_page,
)


def oncall(p: RunningPlatform) -> str:
    return p.url("oncall")


def set_routes(p: RunningPlatform, staff_ref: str, routes: list[dict[str, str]]) -> None:
    with p.admin() as admin:
        response = admin.put(f"{oncall(p)}/people/{staff_ref}/contact-routes", json=routes)
    assert response.status_code == 204, response.text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def link_in(body: str, action: str) -> str:
    return next(w for w in body.split() if w.startswith("http") and w.endswith(f"a={action}"))


def events(p: RunningPlatform, topic: str, type_: str, **payload: object) -> list[dict]:  # type: ignore[type-arg]
    return list({e["id"]: e for e in p.kafka.events(topic, type_=type_, **payload)}.values())


def test_the_chain_runs_primary_then_backup_then_the_coordinator(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    chain = [wait_for_page(p, referral_id, step) for step in range(3)]
    assert [(page["recipient"], page["recipient_role"]) for page in chain] == [
        (site.primary, "supporter"),
        (site.backup, "supporter"),
        (site.coordinator, "coordinator"),
    ]
    reasons = events(p, topics.PAGES, "oncall.page.escalated.v1", referral_id=str(referral_id))
    assert sorted(e["payload"]["reason"] for e in reasons) == ["not_acknowledged", "not_acknowledged"]


def test_a_page_reaches_the_supporter_by_email_with_a_link_that_works_once_and_says_nothing_of_the_worker(
    running_platform, site
):
    p = running_platform
    address = f"{site.primary}@pager.example.org"
    set_routes(p, site.primary, [{"channel": "email", "address": address}])
    worker = person("paged-worker", ref(site, "rn1"))
    referral_id = submit(p, {**self_referral(site, worker["staff_ref"]), "worker": worker})
    mail = wait_for(lambda: p.mailbox.to(address), what=f"the page mail to {address}")[0]
    assert site.site_id in mail.subject + mail.body
    # the time to answer by in the site's zone (the authority's, with no schedule), as people say it
    assert re.search(r"Please answer by \d{1,2} \w{3} \d{4}, \d\d:\d\d E[SD]T,", mail.body), mail.body
    for secret in worker.values():
        assert secret not in mail.body and secret not in mail.subject
    take = link_in(mail.body, "acknowledge")

    with p.client() as anyone:
        shown = anyone.get(take)  # a mail scanner opening the link answers nothing
        assert shown.status_code == 200 and "<form" in shown.text
        assert site.site_id in shown.text and "Within hours" in shown.text and "Answer by" in shown.text
        in_french = anyone.get(take, headers={"Accept-Language": "fr-CA,fr;q=0.9"})
        assert "Répondre avant" in in_french.text and " h " in in_french.text
        assert p.sql("SELECT status FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id) == [
            ("sent",)
        ]
        token = re.search(r"name='t' value='([^']+)'", shown.text).group(1)  # type: ignore[union-attr]
        answered = anyone.post(f"{oncall(p)}/answer", data={"t": token, "a": "acknowledge"})
        assert answered.status_code == 200, answered.text
        assert f"/me/cases/{referral_id}" in answered.text  # on to the case, after sign-in
        again = anyone.post(f"{oncall(p)}/answer", data={"t": token, "a": "decline"})
        assert again.status_code == 409 and "already used" in again.text
        forged = anyone.post(f"{oncall(p)}/answer", data={"t": token[:-3] + "abc", "a": "acknowledge"})
        assert forged.status_code == 400

    acknowledged = wait_for(
        lambda: events(
            p, topics.ACKNOWLEDGEMENTS, "oncall.page.acknowledged.v1", referral_id=str(referral_id)
        ),
        what="the acknowledgement",
    )
    assert acknowledged[0]["payload"]["recipient"] == site.primary
    assert p.sql(
        "SELECT channel, status, attempts FROM oncall.notification WHERE referral_id = %s AND kind = 'page'",
        referral_id,
    ) == [("email", "delivered", 1)]


def test_a_link_to_a_page_of_an_ended_case_is_refused_and_keeps_nothing(running_platform, site):
    p = running_platform
    address = f"{site.primary}@ended.example.org"
    set_routes(p, site.primary, [{"channel": "email", "address": address}])
    answer = post(
        p,
        "/referrals",
        {**self_referral(site, ref(site, "rn1")), "worker": person("ended-link", ref(site, "rn1"))},
    )
    referral_id = uuid.UUID(answer["referral_id"])
    mail = wait_for(lambda: p.mailbox.to(address), what="the page mail")[0]
    assert as_worker(p, answer["worker_token"], "withdraw")["status"] == "withdrawn"
    wait_for(
        lambda: (
            p.sql("SELECT status FROM oncall.episode WHERE referral_id = %s", referral_id) == [("withdrawn",)]
        ),
        what="oncall to end the episode",
    )
    token = re.search(r"[?&]t=([^&\s]+)", link_in(mail.body, "acknowledge")).group(1)  # type: ignore[union-attr]
    with p.client() as anyone:
        for _ in range(2):  # refused with the reason each time: the refusal did not use the link up
            refused = anyone.post(f"{oncall(p)}/answer", data={"t": token, "a": "acknowledge"})
            assert refused.status_code == 409 and "Thank you all the same" in refused.text, refused.text
        # in the supporter's language, with no English word of the service's inside it
        french = anyone.post(
            f"{oncall(p)}/answer", data={"t": token, "a": "acknowledge"}, headers={"Accept-Language": "fr-CA"}
        )
        assert french.status_code == 409 and "Ce dossier est terminé" in french.text, french.text
        assert "withdrawn" not in french.text and "closed" not in french.text
    assert p.sql("SELECT status FROM oncall.page WHERE referral_id = %s AND step = 0", referral_id) != [
        ("acknowledged",)
    ]


def test_a_route_that_fails_is_retried_then_falls_through_to_the_next(running_platform, site):
    p = running_platform
    address = f"{site.primary}@second.example.org"
    dead = f"http://127.0.0.1:{closed_port()}/hook"
    set_routes(
        p, site.primary, [{"channel": "webhook", "address": dead}, {"channel": "email", "address": address}]
    )
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    wait_for(lambda: p.mailbox.to(address), what="the page, by the second route")

    def recorded() -> tuple | None:
        # the outcome is recorded after the mail went out, in a transaction of its own
        (row,) = p.sql(
            "SELECT channel, status, route, last_error FROM oncall.notification"
            " WHERE referral_id = %s AND kind = 'page' AND recipient = %s",
            referral_id,
            site.primary,
        )
        return row if row[1] != "sending" else None

    row = wait_for(recorded, what="the delivery's outcome recorded")
    assert row[:3] == ("email", "delivered", 1)
    assert row[3].startswith("webhook:")  # the kind of failure is kept, not the message
    # the coordinator sees it on the case's pages: a failing gateway does not stay invisible
    with p.coordinator(site) as coordinator:
        pages = coordinator.get(f"{oncall(p)}/referrals/{referral_id}/pages").json()
    (delivery,) = pages[0]["notifications"]
    assert delivery["channel"] == "email" and delivery["status"] == "delivered" and delivery["route"] == 2
    assert delivery["last_failure"].startswith("webhook:") and "127.0.0.1" not in str(pages)


def test_a_routed_address_is_sealed_at_rest(running_platform, site):
    p = running_platform
    address = f"{site.backup}@sealed.example.org"
    set_routes(p, site.backup, [{"channel": "email", "address": address}])
    (sealed,) = p.sql("SELECT address FROM oncall.contact_route WHERE staff_ref = %s", site.backup)[0]
    assert address.encode() not in bytes(sealed)
    with p.supporter(site.backup) as me:
        assert me.get(f"{oncall(p)}/me/contact-routes").json() == [{"channel": "email", "address": address}]
        refused = me.put(f"{oncall(p)}/me/contact-routes", json=[{"channel": "email", "address": "not-mail"}])
    assert refused.status_code == 422 and "e-mail" in refused.text


def test_a_taken_case_never_called_back_breaches_re_opens_and_alerts_the_coordinator(running_platform, site):
    p = running_platform
    with p.admin() as admin:
        response = admin.put(
            f"{oncall(p)}/sites/{site.site_id}/service-levels",
            json={"callback_within_minutes": 0.1, "meet_within_minutes": 0.25},
        )
    assert response.status_code == 204, response.text
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    acknowledge(p, wait_for_page(p, referral_id, 0))

    breached = wait_for(
        lambda: events(p, topics.PAGES, "oncall.service_level.breached.v1", referral_id=str(referral_id)),
        what="the callback breach",
    )
    assert {"level": "callback", "target_minutes": 1, "acknowledged": True}.items() <= breached[0][
        "payload"
    ].items()
    reopened = wait_for(
        lambda: events(p, topics.PAGES, "oncall.episode.reopened.v1", referral_id=str(referral_id)),
        what="the episode to re-open",
    )
    assert reopened[0]["payload"]["reason"] == "no_callback"
    assert wait_for_page(p, referral_id, 1)["recipient"] == site.backup
    alerts = wait_for(
        lambda: p.sql(
            "SELECT recipient, detail->>'level' FROM oncall.notification"
            " WHERE referral_id = %s AND kind = 'breach'",
            referral_id,
        ),
        what="the coordinator's alert",
    )
    assert alerts[0] == (site.coordinator, "callback")
    # the meeting clock runs out too (nobody met the worker) and is reported once
    meeting = wait_for(
        lambda: [
            e
            for e in events(p, topics.PAGES, "oncall.service_level.breached.v1", referral_id=str(referral_id))
            if e["payload"]["level"] == "meeting"
        ],
        timeout=40,
        what="the meeting breach",
    )
    assert len(meeting) == 1


def test_a_call_back_in_time_stops_the_clock(running_platform, site):
    p = running_platform
    with p.admin() as admin:
        admin.put(
            f"{oncall(p)}/sites/{site.site_id}/service-levels",
            json={"callback_within_minutes": 0.2, "meet_within_minutes": 60},
        )
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    page = wait_for_page(p, referral_id, 0)
    acknowledge(p, page)
    with p.supporter(page["recipient"]) as supporter:
        wait_for(
            lambda: supporter.post(f"{p.url('intake')}/referrals/{referral_id}/contacted").status_code == 200,
            what="intake to accept the call back",
        )
    wait_for(
        lambda: (
            p.sql("SELECT contacted_at IS NOT NULL FROM oncall.episode WHERE referral_id = %s", referral_id)
            == [(True,)]
        ),
        what="oncall to stop the callback clock",
    )
    wait_for(
        lambda: (
            p.sql(
                "SELECT count(*) FROM oncall.timer"
                " WHERE referral_id = %s AND kind = 'callback' AND cancelled_at IS NOT NULL",
                referral_id,
            )
            == [(1,)]
        ),
        what="the callback timer to be cancelled",
    )
    assert not events(p, topics.PAGES, "oncall.service_level.breached.v1", referral_id=str(referral_id))


def test_a_broadcast_is_filled_by_the_first_to_accept_and_the_others_are_told(running_platform, site):
    p = running_platform
    # one supporter's only route is down: their page waits to be retried (backoff) when
    # the team fills, and the acknowledgement must cancel it
    unreachable = ref(site, "psy")
    set_routes(p, unreachable, [{"channel": "webhook", "address": f"http://127.0.0.1:{closed_port()}/hook"}])
    activation = {
        "site_id": site.site_id,
        "unit": "ward-7",
        "people": 4,  # a team of two supporters
        "event": {"category": "critical_incident", "kind": "staff_critical_injury"},
        "contact": person("charge-nurse"),
    }
    with p.manager(site, ref(site, "mgr")) as manager:
        referral_id = uuid.UUID(post(p, "/group-activations", activation, client=manager)["referral_id"])
    proposed = wait_for(
        lambda: events(p, topics.PROPOSALS, "matching.match.proposed.v1", referral_id=str(referral_id)),
        what="the proposal",
    )[0]["payload"]["candidates"]
    paged = wait_for(
        lambda: (
            len(
                found := [
                    e["payload"]
                    for e in pages_sent(p, referral_id)
                    if e["payload"]["recipient_role"] == "supporter"
                ]
            )
            == len(proposed)
            and found
        ),
        what="a page to each proposed supporter",
    )
    # every eligible supporter is messaged at once, not one after another
    assert len(paged) >= 4 and {page["recipient"] for page in paged} == {c["supporter"] for c in proposed}
    assert unreachable in {page["recipient"] for page in paged}
    wait_for(
        lambda: (
            p.sql(
                "SELECT status FROM oncall.notification"
                " WHERE referral_id = %s AND recipient = %s AND attempts >= 1",
                referral_id,
                unreachable,
            )
            == [("pending",)]
        ),
        what="the unreachable supporter's page to wait for its retry",
    )
    takers = [page for page in paged if page["recipient"] != unreachable][:2]
    for page in takers:
        acknowledge(p, page)
    told = wait_for(
        lambda: p.sql(
            "SELECT recipient FROM oncall.notification WHERE referral_id = %s AND kind = 'filled'",
            referral_id,
        ),
        what="the others to be told the team is filled",
    )
    assert {r for (r,) in told} == {page["recipient"] for page in paged} - {
        page["recipient"] for page in takers
    }
    assert p.sql(
        "SELECT status FROM oncall.notification WHERE referral_id = %s AND kind = 'page' AND recipient = %s",
        referral_id,
        unreachable,
    ) == [("cancelled",)]
    assert p.sql(
        "SELECT count(*) FROM oncall.notification"
        " WHERE referral_id = %s AND kind = 'page' AND status IN ('pending', 'sending')",
        referral_id,
    ) == [(0,)]
    assert p.sql(
        "SELECT count(*) FROM oncall.timer WHERE referral_id = %s AND kind = 'acknowledge'"
        " AND fired_at IS NULL AND cancelled_at IS NULL",
        referral_id,
    ) == [(0,)]


def _scheduled_site(tag: str) -> Site:
    people = [Person(f"st-{tag}s{i}", "nursing", 5, supporter=True) for i in range(3)]
    people.append(Person(f"st-{tag}co", "social_work", 4))
    return Site(
        f"t-{tag}",
        "Scheduled hospital",
        people,
        primary=None,
        backup=None,
        coordinator=f"st-{tag}co",
        region=f"r-{tag}",
    )


def test_a_schedule_publishes_who_is_on_duty_and_warns_of_gaps_until_an_override_fills_them(running_platform):
    p = running_platform
    tag = uuid.uuid4().hex[:6]
    site = _scheduled_site(tag)
    seed_and_wait(p, site)
    zone = ZoneInfo("America/Toronto")
    now_local = datetime.now(zone).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    schedule = {
        "time_zone": "America/Toronto",
        "rotations": [
            # primary: daily, starting an hour ago, so someone holds it now
            {
                "layer": "primary",
                "members": [f"st-{tag}s0", f"st-{tag}s1"],
                "starts_local": (now_local - timedelta(hours=1)).isoformat(),
                "every": "daily",
            },
            # backup: covered only from 10 hours from now, for 12 hours a day: gaps ahead
            {
                "layer": "backup",
                "members": [f"st-{tag}s2"],
                "starts_local": (now_local - timedelta(days=1)).isoformat(),
                "every": "daily",
                "restriction": {
                    "starts": (now_local + timedelta(hours=10)).time().isoformat(),
                    "ends": (now_local + timedelta(hours=22)).time().isoformat(),
                },
            },
        ],
    }
    with p.coordinator(site) as coordinator:
        response = coordinator.put(f"{oncall(p)}/sites/{site.site_id}/schedule", json=schedule)
        assert response.status_code == 204, response.text
        duty = wait_for(
            lambda: events(p, topics.DUTY, "oncall.duty.changed.v1", site_id=site.site_id),
            what="duty events from the schedule",
        )
        primary = [e["payload"] for e in duty if e["payload"]["layer"] == "primary"]
        assert primary[0]["supporter"] == f"st-{tag}s0" and primary[0]["ends_at"] is not None
        wait_for(
            lambda: (
                p.sql(
                    "SELECT staff_ref FROM matching.duty WHERE site_id = %s AND layer = 'primary'",
                    site.site_id,
                )
                == [(f"st-{tag}s0",)]
            ),
            what="matching to rank by the schedule's duty",
        )

        forecast = coverage = coordinator.get(f"{oncall(p)}/sites/{site.site_id}/coverage").json()
        backup_gaps = [g for g in coverage["gaps"] if g["layer"] == "backup"]
        assert backup_gaps and not [g for g in coverage["gaps"] if g["layer"] == "primary"]
        warned = wait_for(
            lambda: events(p, topics.DUTY, "oncall.coverage.gap_forecast.v1", site_id=site.site_id),
            what="the gap forecast",
        )
        assert {e["payload"]["layer"] for e in warned} == {"backup"}
        assert wait_for(
            lambda: p.sql(
                "SELECT recipient FROM oncall.notification WHERE site_id = %s AND kind = 'gap'", site.site_id
            ),
            what="the coordinator's warning",
        )[0] == (site.coordinator,)

        # the coordinator fills the first gap with an override, then overrides the override
        gap = backup_gaps[0]
        first = coordinator.post(
            f"{oncall(p)}/sites/{site.site_id}/overrides",
            json={
                "layer": "backup",
                "supporter": f"st-{tag}s1",
                "starts_at": gap["starts_at"],
                "ends_at": gap["ends_at"],
            },
        )
        assert first.status_code == 201, first.text
        start = datetime.fromisoformat(gap["starts_at"])
        second = coordinator.post(
            f"{oncall(p)}/sites/{site.site_id}/overrides",
            json={
                "layer": "backup",
                "supporter": f"st-{tag}s0",
                "starts_at": (start + timedelta(hours=1)).isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
            },
        )
        assert second.status_code == 201
        calendar = coordinator.get(
            f"{oncall(p)}/sites/{site.site_id}/schedule",
            params={"from": gap["starts_at"], "to": (start + timedelta(hours=3)).isoformat()},
        ).json()
        held = [(s["supporter"], s["source"]) for s in calendar["layers"]["backup"]][:3]
        assert held == [(f"st-{tag}s1", "override"), (f"st-{tag}s0", "override"), (f"st-{tag}s1", "override")]
        after = coordinator.get(f"{oncall(p)}/sites/{site.site_id}/coverage").json()
        assert gap["starts_at"] not in [g["starts_at"] for g in after["gaps"]]
        assert len(after["gaps"]) == len(forecast["gaps"]) - 1

        refused = coordinator.put(
            f"{oncall(p)}/sites/{site.site_id}/schedule", json={**schedule, "time_zone": "Mars/Olympus"}
        )
        assert refused.status_code == 422 and "IANA" in refused.text
    # another site's coordinator sees none of it
    with p.coordinator(_scheduled_site("zz" + tag[:4])) as stranger:
        assert stranger.get(f"{oncall(p)}/sites/{site.site_id}/schedule").status_code == 404


def test_a_swap_trades_two_shifts_through_the_api(running_platform):
    p = running_platform
    tag = uuid.uuid4().hex[:6]
    site = _scheduled_site(tag)
    seed_and_wait(p, site)
    monday = datetime(2027, 1, 4, 8, 0)
    with p.coordinator(site) as coordinator:
        coordinator.put(
            f"{oncall(p)}/sites/{site.site_id}/schedule",
            json={
                "time_zone": "America/Winnipeg",
                "rotations": [
                    {
                        "layer": "primary",
                        "members": [f"st-{tag}s0", f"st-{tag}s1"],
                        "starts_local": monday.isoformat(),
                        "every": "weekly",
                    }
                ],
            },
        )
        zone = ZoneInfo("America/Winnipeg")
        week_one = monday.replace(tzinfo=zone) + timedelta(days=2)
        week_two = week_one + timedelta(days=7)
        swapped = coordinator.post(
            f"{oncall(p)}/sites/{site.site_id}/swaps",
            json={"layer": "primary", "first": week_one.isoformat(), "second": week_two.isoformat()},
        )
        assert swapped.status_code == 201, swapped.text
        calendar = coordinator.get(
            f"{oncall(p)}/sites/{site.site_id}/schedule",
            params={
                "from": monday.replace(tzinfo=zone).isoformat(),
                "to": (monday.replace(tzinfo=zone) + timedelta(days=21)).isoformat(),
            },
        ).json()
        held = [(s["supporter"], s["source"]) for s in calendar["layers"]["primary"]]
        assert held == [(f"st-{tag}s1", "override"), (f"st-{tag}s0", "override"), (f"st-{tag}s0", "rotation")]
        same = coordinator.post(
            f"{oncall(p)}/sites/{site.site_id}/swaps",
            json={
                "layer": "primary",
                "first": week_one.isoformat(),
                "second": (week_one + timedelta(hours=1)).isoformat(),
            },
        )
        assert same.status_code == 409 and "same supporter" in same.text


def test_a_supporter_steps_away_and_back_themself(running_platform, site):
    p = running_platform
    me = ref(site, "sup2")
    with p.supporter(me) as supporter:
        away = supporter.put(f"{oncall(p)}/me/availability", json={"available": False})
        assert away.status_code == 200, away.text
        wait_for(
            lambda: p.sql("SELECT self_paused FROM matching.supporter WHERE staff_ref = %s", me) == [(True,)],
            what="matching to stop proposing the supporter",
        )
        # the authority re-imports its roster (paused defaults to false there): the
        # supporter's own step away stands, since the two have their own columns
        with p.admin() as admin:
            admin.put(f"{p.url('matching')}/supporters/{me}", json={}).raise_for_status()
        with p.coordinator(site) as coordinator:
            roster = coordinator.get(f"{p.url('matching')}/sites/{site.site_id}/supporters").json()
        mine = next(s for s in roster["supporters"] if s["staff_ref"] == me)
        assert mine["paused"] and mine["paused_by_self"] and not mine["paused_by_authority"]
        referral_id = submit(p, self_referral(site, ref(site, "rn2")))
        decided = wait_for(
            lambda: events(p, topics.PROPOSALS, "matching.match.proposed.v1", referral_id=str(referral_id)),
            what="a proposal",
        )[0]["payload"]
        assert me not in [c["supporter"] for c in decided["candidates"]]
        back = supporter.put(f"{oncall(p)}/me/availability", json={"available": True})
        assert back.json()["version"] == away.json()["version"] + 1
    wait_for(
        lambda: p.sql("SELECT self_paused FROM matching.supporter WHERE staff_ref = %s", me) == [(False,)],
        what="matching to propose the supporter again",
    )


def test_a_case_closed_after_a_call_back_never_reports_a_missed_meeting(running_platform, site):
    """Support by phone alone is a whole case: once it is closed, the meeting clock stops."""
    p = running_platform
    with p.admin() as admin:
        admin.put(
            f"{oncall(p)}/sites/{site.site_id}/service-levels",
            json={"callback_within_minutes": 5, "meet_within_minutes": 0.3},
        )
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    page = wait_for_page(p, referral_id, 0)
    acknowledge(p, page)
    base = f"{p.url('intake')}/referrals/{referral_id}"
    with p.supporter(page["recipient"]) as supporter:
        wait_for(lambda: supporter.post(f"{base}/contacted").status_code == 200, what="the call back")
        closed = supporter.post(f"{base}/close", json={"contact_made": True, "outcome": "one_time_support"})
        assert closed.status_code == 200, closed.text
    wait_for(
        lambda: (
            p.sql(
                "SELECT count(*) FROM oncall.timer"
                " WHERE referral_id = %s AND kind = 'meeting' AND cancelled_at IS NOT NULL",
                referral_id,
            )
            == [(1,)]
        ),
        what="the meeting clock to stop",
    )
    (started,) = p.sql("SELECT started_at FROM oncall.episode WHERE referral_id = %s", referral_id)[0]
    time.sleep(max(0.0, (started + timedelta(seconds=20) - datetime.now(UTC)).total_seconds()))
    assert not events(p, topics.PAGES, "oncall.service_level.breached.v1", referral_id=str(referral_id))


def test_the_authority_sets_how_long_a_sites_pages_wait_by_urgency_and_for_a_crisis(running_platform, site):
    p = running_platform
    url = f"{oncall(p)}/sites/{site.site_id}/acknowledge-timeouts"
    with p.admin() as admin:
        # a crisis waits least; a page waits at least half a minute: refused, nothing stored
        assert admin.put(url, json={"default_seconds": 300, "crisis_seconds": 600}).status_code == 422
        assert admin.put(url, json={"default_seconds": 10}).status_code == 422
        assert admin.put(url, json={"by_urgency": {"someday": 600}}).status_code == 422
        answer = admin.put(url, json={"crisis_seconds": 90, "by_urgency": {"within_hours": 600}})
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["effective_seconds"]["crisis"] == 90 and shown["effective_seconds"]["within_hours"] == 600
    with p.coordinator(site) as coordinator:
        assert coordinator.get(url).json()["by_urgency"] == {"within_hours": 600}
        # another site's settings are not this coordinator's to read
        assert (
            coordinator.get(f"{oncall(p)}/sites/not-{site.site_id}/acknowledge-timeouts").status_code == 404
        )
        # nor are they a coordinator's to change
        assert coordinator.put(url, json={"default_seconds": 60}).status_code == 403

    # a page of the site now waits the site's own time for its urgency
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))  # within hours
    wait_for_page(p, referral_id, 0)
    waited = "SELECT extract(epoch FROM acknowledge_by - sent_at) FROM oncall.page WHERE referral_id = %s"
    ((waits,),) = p.sql(f"{waited} AND step = 0", referral_id)
    assert float(waits) == 600
