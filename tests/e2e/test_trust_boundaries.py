"""Every id a caller sends in a body is checked against the caller's sites: another site's
id is refused exactly as an unknown one is, and the refusal tells nothing about it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .helpers import ref


def test_a_debrief_takes_only_the_sites_own_supporters_and_says_nothing_of_others(
    running_platform, site, other_site
):
    p = running_platform
    training = p.url("training")
    theirs = ref(other_site, "sup1")
    body = {"held_on": str(datetime.now(UTC).date()), "minutes": 60, "attendees": [ref(site, "sup1"), theirs]}
    with p.coordinator(site) as coordinator:
        refused = coordinator.post(f"{training}/sites/{site.site_id}/debriefs", json=body)
        unknown = coordinator.post(
            f"{training}/sites/{site.site_id}/debriefs",
            json={**body, "attendees": [ref(site, "sup1"), "st-nobody9"]},
        )
    assert refused.status_code == unknown.status_code == 422
    # the same words for another site's supporter as for nobody at all
    assert refused.json()["message"].replace(theirs, "X") == unknown.json()["message"].replace(
        "st-nobody9", "X"
    )
    with p.coordinator(other_site) as theirs_coordinator:
        roster = theirs_coordinator.get(f"{training}/sites/{other_site.site_id}/supporters").json()
    assert next(r for r in roster if r["staff_ref"] == theirs)["debriefs_attended_12_months"] == 0


def test_an_expression_of_interest_cannot_move_another_sites_person(running_platform, site, other_site):
    p = running_platform
    training = p.url("training")
    theirs = f"st-{uuid.uuid4().hex[:8]}"
    with p.coordinator(other_site) as coordinator:
        opened = coordinator.post(
            f"{training}/candidates", json={"staff_ref": theirs, "home_site": other_site.site_id}
        )
        assert opened.status_code == 201, opened.text
    with p.coordinator(site) as coordinator:
        for someone in (theirs, ref(other_site, "sup1")):  # a candidate, and an active supporter
            moved = coordinator.post(
                f"{training}/candidates", json={"staff_ref": someone, "home_site": site.site_id}
            )
            assert moved.status_code == 409, moved.text
            message = moved.json()["message"]
            assert (
                "interested" not in message and "active" not in message and other_site.site_id not in message
            )
    with p.coordinator(other_site) as coordinator:
        view = coordinator.get(f"{training}/candidates/{theirs}")
        assert view.status_code == 200 and view.json()["stage"] == "interested"
    assert p.sql("SELECT home_site FROM training.supporter WHERE staff_ref = %s", theirs) == [
        (other_site.site_id,)
    ]


def test_an_override_cannot_name_a_supporter_who_does_not_serve_the_site(running_platform, site, other_site):
    from .helpers import proposal, self_referral, submit

    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    proposal(p, referral_id)
    url = f"{p.url('matching')}/proposals/{referral_id}/override"
    with p.coordinator(site) as coordinator:
        theirs = coordinator.post(url, json={"supporter": ref(other_site, "sup1"), "reason": "availability"})
        nobody = coordinator.post(url, json={"supporter": "st-nobody9", "reason": "availability"})
    assert theirs.status_code == nobody.status_code == 409
    assert theirs.json() == nobody.json()
    assert p.sql("SELECT count(*) FROM matching.override WHERE referral_id = %s", referral_id) == [(0,)]


def test_a_webhook_route_to_anywhere_but_the_allowed_gateways_is_refused(running_platform, site):
    p = running_platform
    with p.supporter(site.primary) as supporter:
        for address in (
            "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/",
            "http://localhost:8101/",
        ):
            refused = supporter.put(
                f"{p.url('oncall')}/me/contact-routes", json=[{"channel": "webhook", "address": address}]
            )
            assert refused.status_code == 422, refused.text
            assert "not one the authority allows" in refused.json()["message"]
        routes = supporter.get(f"{p.url('oncall')}/me/contact-routes").json()
        assert all(r["channel"] != "webhook" for r in routes)


def test_values_at_the_edges_of_the_calendar_and_of_integers_are_refused_with_a_message(
    running_platform, site
):
    """What Schemathesis found as 500s: each is now a 4xx that says what to correct."""
    p = running_platform
    year_one = "0001-01-01T00:00:00+14:00"
    with p.admin() as admin:
        checks = [
            admin.put(
                f"{p.url('training')}/courses/fuzz-course", json={"title": "Fuzz", "validity_days": 10**11}
            ),
            admin.get(f"{p.url('training')}/sites/{site.site_id}/debriefs", params={"month": "0000-01"}),
            admin.post(
                f"{p.url('training')}/supporters/{site.primary}/completions",
                json={"course": "crisis-management", "completed_at": year_one},
            ),
            admin.delete(f"{p.url('oncall')}/sites/{site.site_id}/overrides/99999999999999999999"),
            admin.get(
                f"{p.url('oncall')}/sites/{site.site_id}/schedule", params={"from": "9999-12-31T00:00:00Z"}
            ),
            admin.get(f"{p.url('oncall')}/sites/{site.site_id}/schedule", params={"from": year_one}),
            admin.put(
                f"{p.url('oncall')}/sites/{site.site_id}/schedule",
                json={"time_zone": "A" * 300, "rotations": []},
            ),
            admin.post(
                f"{p.url('oncall')}/sites/{site.site_id}/overrides",
                json={
                    "layer": "primary",
                    "supporter": site.primary,
                    "starts_at": "9999-12-31T00:00:00Z",
                    "ends_at": "9999-12-31T12:00:00Z",
                },
            ),
            admin.put(
                f"{p.url('matching')}/directory/people",
                json=[
                    {
                        "staff_ref": "st-twice1",
                        "site_id": site.site_id,
                        "profession": "nursing",
                        "seniority": 3,
                    }
                ]
                * 2,
            ),
            admin.put(
                f"{p.url('matching')}/directory/people",
                json=[
                    {
                        "staff_ref": "st-phantom1",
                        "site_id": "no-such-site",
                        "profession": "nursing",
                        "seniority": 3,
                    }
                ],
            ),
        ]
    with p.occupational_health() as oh:
        checks.append(
            oh.post(
                f"{p.url('intake')}/referrals/eap",
                json={
                    "site_id": site.site_id,
                    "reason": {"category": "critical_incident", "kind": "unexpected_patient_death"},
                    "urgency": "within_days",
                    "worker": {"name": "Sam", "phone": "+1 555 0101"},
                    "consent": {"method": "written", "given_at": year_one},
                },
            )
        )
    for response in checks:
        assert 400 <= response.status_code < 500, (response.request.url, response.status_code, response.text)
        assert response.json()["message"], response.request.url
    assert "given twice" in checks[8].json()["message"]
    assert "no-such-site" in checks[9].json()["message"]
    # one unit definition: the directory refuses what a group activation would refuse
    with p.admin() as admin:
        unit = admin.put(
            f"{p.url('matching')}/directory/people",
            json=[
                {
                    "staff_ref": "st-unit7",
                    "site_id": site.site_id,
                    "profession": "nursing",
                    "seniority": 3,
                    "unit": "icu_7",
                }
            ],
        )
    assert unit.status_code == 422 and "unit" in unit.json()["message"]


def test_oncall_refuses_duty_rotations_and_overrides_naming_someone_not_of_the_site(
    running_platform, site, other_site
):
    """Oncall knows who exists where from matching's and training's events: an unknown
    staff reference, or another site's supporter, is refused with 422 naming them, in the
    same words (so a refusal is no look-up), and nothing is stored."""
    p = running_platform
    oncall = p.url("oncall")
    theirs = ref(other_site, "sup1")
    start = datetime.now(UTC).replace(microsecond=0).isoformat()
    # the rotation began yesterday in the site's own time, so sup1 holds primary now: the duty
    # loop (every 15 s) may publish the schedule's holder before the last check, and it must
    # be the primary the site already had (a start of "now" read as Toronto time lay five
    # hours ahead, a gap, and the check failed whenever the loop ran in between)
    began = (datetime.now(ZoneInfo("America/Toronto")) - timedelta(days=1)).replace(microsecond=0)
    with p.coordinator(site) as coordinator:
        duty = {
            who: coordinator.put(f"{oncall}/sites/{site.site_id}/duty", json={"primary": who})
            for who in (theirs, "st-nobody9")
        }
        coordinator_layer = coordinator.put(
            f"{oncall}/sites/{site.site_id}/duty", json={"coordinator": theirs}
        )
        rotation = coordinator.put(
            f"{oncall}/sites/{site.site_id}/schedule",
            json={
                "time_zone": "America/Toronto",
                "rotations": [
                    {
                        "layer": "primary",
                        "members": [ref(site, "sup1"), "st-ghost42"],
                        "starts_local": began.isoformat()[:19],
                        "every": "daily",
                    }
                ],
            },
        )
        assert rotation.status_code == 422, rotation.text
        assert rotation.json()["message"] == "not supporters of this site: st-ghost42"
        made = coordinator.put(
            f"{oncall}/sites/{site.site_id}/schedule",
            json={
                "time_zone": "America/Toronto",
                "rotations": [
                    {
                        "layer": "primary",
                        "members": [ref(site, "sup1")],
                        "starts_local": began.isoformat()[:19],
                        "every": "daily",
                    }
                ],
            },
        )
        assert made.status_code == 204, made.text
        override = coordinator.post(
            f"{oncall}/sites/{site.site_id}/overrides",
            json={
                "layer": "backup",
                "supporter": theirs,
                "starts_at": start,
                "ends_at": (datetime.fromisoformat(start) + timedelta(days=1)).isoformat(),
            },
        )
    for response in (*duty.values(), coordinator_layer, override):
        assert response.status_code == 422, response.text
    assert duty[theirs].json()["message"].replace(theirs, "X") == duty["st-nobody9"].json()[
        "message"
    ].replace("st-nobody9", "X")
    assert other_site.site_id not in override.json()["message"] and theirs in override.json()["message"]
    assert p.sql(
        "SELECT staff_ref FROM oncall.duty WHERE site_id = %s AND layer = 'primary'", site.site_id
    ) == [(site.primary,)]
    assert p.sql("SELECT count(*) FROM oncall.duty_override WHERE site_id = %s", site.site_id) == [(0,)]


def test_duty_supporters_and_candidates_at_a_site_nobody_declared_are_refused(running_platform):
    p = running_platform
    phantom = f"t-typo{uuid.uuid4().hex[:6]}"
    with p.admin() as admin:
        duty = admin.put(f"{p.url('oncall')}/sites/{phantom}/duty", json={"primary": None})
        supporter = admin.put(
            f"{p.url('training')}/supporters/st-typo1", json={"home_site": phantom, "tier": 2}
        )
        candidate = admin.post(
            f"{p.url('training')}/candidates", json={"staff_ref": "st-typo2", "home_site": phantom}
        )
    for response in (duty, supporter, candidate):
        assert response.status_code == 422, (response.request.url, response.text)
        assert phantom in response.json()["message"] and "declare it" in response.json()["message"]
    assert p.sql("SELECT count(*) FROM training.supporter WHERE home_site = %s", phantom) == [(0,)]
    assert p.sql("SELECT count(*) FROM oncall.duty WHERE site_id = %s", phantom) == [(0,)]


def test_a_scheduled_member_who_cannot_serve_shows_as_a_gap(running_platform, site):
    """Coverage never reports someone who will not answer: a supporter who paused themself
    or whose certification lapsed holds the shift on paper, and the coordinator sees a gap
    saying why."""
    from .helpers import wait_for

    p = running_platform
    oncall = p.url("oncall")
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()[:19]
    primary, backup = ref(site, "sup1"), ref(site, "sup2")
    schedule = {
        "time_zone": "UTC",
        "rotations": [
            {"layer": "primary", "members": [primary], "starts_local": start, "every": "daily"},
            {"layer": "backup", "members": [backup], "starts_local": start, "every": "daily"},
        ],
    }
    with p.coordinator(site) as coordinator:
        assert coordinator.put(f"{oncall}/sites/{site.site_id}/schedule", json=schedule).status_code == 204
        before = coordinator.get(f"{oncall}/sites/{site.site_id}/coverage").json()["gaps"]
        assert before == []
        with p.supporter(primary) as supporter:
            assert supporter.put(f"{oncall}/me/availability", json={"available": False}).status_code == 200
        with p.admin() as admin:
            # the backup's registration ends: training publishes them ineligible
            admin.put(
                f"{p.url('training')}/supporters/{backup}",
                json={"home_site": site.site_id, "tier": 2, "active": False},
            ).raise_for_status()

        def both_layers() -> list[dict[str, str]] | None:
            found = coordinator.get(f"{oncall}/sites/{site.site_id}/coverage").json()["gaps"]
            return found if {g["layer"] for g in found} == {"primary", "backup"} else None

        gaps = wait_for(both_layers, what="oncall to learn the backup is no longer eligible")
    why = {g["layer"]: (g["supporter"], g["why"]) for g in gaps}
    assert why["primary"] == (primary, "paused (stepped away)")
    assert why["backup"] == (backup, "not eligible (training)")
