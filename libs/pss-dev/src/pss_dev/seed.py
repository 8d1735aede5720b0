"""Demo data, entered through the services' own APIs (the paths a real authority uses).

``pss dev`` seeds a demo authority of three hospitals; the tests seed a fresh site each so
they never share state.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import httpx

# training's migrations install the default catalogue (basic peer support, crisis
# management and confidentiality required; psychological first aid, suicide awareness and
# family peer support offered); the demo authority adds its own course
REQUIRED = ["basic-peer-support", "crisis-management", "confidentiality"]
AUTHORITY_COURSES = [
    # code, title, validity in days (None: never expires), required for eligibility
    ("second-victim-support", "Supporting second victims of adverse events (authority course)", 1095, False),
]


@dataclass(frozen=True)
class Person:
    ref: str
    profession: str
    seniority: int
    years: int = 5
    reports_to: str | None = None
    supporter: bool = False
    certified: bool = True
    languages: tuple[str, ...] = ("en",)
    mental_health_professional: bool = False
    gender: str | None = None
    serves: str = "site"  # site | region | authority
    unit: str | None = None
    name: str | None = None  # the work display name coordinators see for a supporter


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    people: list[Person]
    primary: str | None
    backup: str | None
    coordinator: str | None
    evaluators: list[tuple[str, str, str]] = field(default_factory=list)  # evaluator, evaluatee, kind
    region: str | None = None
    setting: str | None = None  # rural | urban


def sample_site(
    site_id: str,
    name: str,
    prefix: str,
    *,
    region: str | None = None,
    setting: str | None = None,
    serves: dict[str, str] | None = None,
) -> Site:
    """A small hospital: a manager, a worker who reports to them, supporters of several
    seniorities (one is the worker's manager, one a student), a coordinator. ``serves``
    lets some supporters (by suffix, e.g. "psy") serve the region or the authority."""

    def ref(n: str) -> str:
        return f"st-{prefix}{n}"

    people = [
        Person(ref("mgr"), "nursing", 5, 15, unit="icu-4"),
        Person(ref("rn1"), "nursing", 3, 6, reports_to=ref("mgr"), unit="icu-4"),
        Person(ref("rn2"), "nursing", 3, 2, reports_to=ref("mgr"), unit="icu-4"),
        Person(ref("sup1"), "nursing", 3, 8, supporter=True, gender="woman", unit="icu-4", name="Amira K."),
        Person(
            ref("sup2"),
            "nursing",
            4,
            12,
            supporter=True,
            languages=("en", "fr"),
            gender="man",
            name="Jean-Luc B.",
        ),
        Person(ref("sup3"), "respiratory", 3, 9, supporter=True, gender="woman", name="Priya S."),
        Person(ref("mgrs"), "nursing", 5, 20, supporter=True, name="Dana W."),  # a supporter who manages rn1
        Person(ref("stud"), "nursing", 1, 0, supporter=True, name="Sam T."),  # too junior for staff
        Person(
            ref("psy"), "psychology", 5, 14, supporter=True, mental_health_professional=True, name="Dr. Chen"
        ),
        Person(ref("coord"), "social_work", 4, 10),
    ]
    wider = {ref(suffix): scope for suffix, scope in (serves or {}).items()}
    people = [replace(p, serves=wider.get(p.ref, p.serves)) for p in people]
    return Site(
        site_id,
        name,
        people,
        primary=ref("sup1"),
        backup=ref("sup2"),
        coordinator=ref("coord"),
        evaluators=[(ref("mgrs"), ref("rn1"), "preceptor")],
        region=region,
        setting=setting,
    )


DEMO_AUTHORITY = [
    sample_site("north-general", "North General Hospital", "ng", region="north", setting="urban"),
    # a small rural hospital: its senior supporter also serves the region
    sample_site(
        "lakeside",
        "Lakeside Community Hospital",
        "lk",
        region="north",
        setting="rural",
        serves={"sup2": "region"},
    ),
    # the teaching hospital's psychologist takes crisis cases from the whole authority
    sample_site(
        "st-marys",
        "St. Mary's Teaching Hospital",
        "sm",
        region="south",
        setting="urban",
        serves={"psy": "authority"},
    ),
]


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
        )


def settled(send: Callable[[], httpx.Response], *, within: float = 60.0) -> httpx.Response:
    """Send a request that rests on what another service learns from events (training and
    oncall learn the sites and the people from matching's directory, oncall the supporters
    from training): while it answers 422, the event may still be on its way; try again."""
    deadline = time.monotonic() + within
    while True:
        response = send()
        if response.status_code != 422 or time.monotonic() > deadline:
            _check(response)
            return response
        time.sleep(0.2)


def seed_courses(client: httpx.Client, training_url: str) -> None:
    for code, title, validity, required in AUTHORITY_COURSES:
        _check(
            client.put(
                f"{training_url}/courses/{code}",
                json={"title": title, "validity_days": validity, "required": required},
            )
        )


def seed_site(client: httpx.Client, urls: dict[str, str], site: Site, *, today: date | None = None) -> None:
    today = today or date.today()
    _check(
        client.put(
            f"{urls['intake']}/sites/{site.site_id}",
            json={
                "display_name": site.name,
                "third_party_outreach": True,
                "program_contact": "Peer support line, extension 4357 (HELP), any time",
                "hr_resources": [{"label": "Human Resources business partner", "phone": "+1 555 0140"}],
            },
        )
    )
    _check(
        client.put(
            f"{urls['matching']}/directory/sites/{site.site_id}",
            json={"region": site.region, "setting": site.setting},
        )
    )
    _check(
        client.put(
            f"{urls['matching']}/directory/people",
            json=[
                {
                    "staff_ref": p.ref,
                    "site_id": site.site_id,
                    "profession": p.profession,
                    "seniority": p.seniority,
                    "years_experience": p.years,
                    "languages": list(p.languages),
                    "reports_to": p.reports_to,
                    "gender": p.gender,
                    "unit": p.unit,
                    "display_name": p.name,
                }
                for p in site.people
            ],
        )
    )
    _check(
        client.put(
            f"{urls['matching']}/directory/evaluators",
            json=[{"evaluator_ref": a, "evaluatee_ref": b, "kind": k} for a, b, k in site.evaluators],
        )
    )
    for p in site.people:
        if not p.supporter:
            continue
        _check(
            client.put(
                f"{urls['matching']}/supporters/{p.ref}",
                json={"mental_health_professional": p.mental_health_professional, "serves": p.serves},
            )
        )
        registration = {"home_site": site.site_id, "tier": 3 if p.mental_health_professional else 2}
        url = f"{urls['training']}/supporters/{p.ref}"
        settled(functools.partial(client.put, url, json=registration))
        if p.certified:
            for course in REQUIRED:
                _check(
                    client.post(
                        f"{urls['training']}/supporters/{p.ref}/completions",
                        json={"course": course, "completed_on": str(today - timedelta(days=100))},
                    )
                )
    settled(
        lambda: client.put(
            f"{urls['oncall']}/sites/{site.site_id}/duty",
            json={"primary": site.primary, "backup": site.backup, "coordinator": site.coordinator},
        )
    )


# staff per demo hospital: metrics' reach (referrals per 100 staff)
DEMO_STAFF = {"north-general": 2400, "lakeside": 350, "st-marys": 4100}


def seed_authority(urls: dict[str, str], admin_token: str, sites: list[Site] = DEMO_AUTHORITY) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {admin_token}"}, timeout=30) as client:
        seed_courses(client, urls["training"])
        for site in sites:
            seed_site(client, urls, site)
            # the authority's directory in metrics: small sites are also published by region
            entry = {"region": site.region, "staff_count": DEMO_STAFF.get(site.site_id)}
            _check(client.put(f"{urls['metrics']}/sites/{site.site_id}", json=entry))
        settled(
            lambda: client.put(
                f"{urls['oncall']}/sites/{sites[0].site_id}/schedule", json=demo_schedule(sites[0])
            )
        )


def demo_schedule(site: Site, *, today: date | None = None) -> dict[str, object]:
    """A daily primary rotation, and a backup only from 08:00 to 20:00: the front-end's
    schedule shows a gap every night, as a coordinator would want to see it."""
    start = f"{(today or date.today()) - timedelta(days=1)}T08:00:00"
    supporters = [p.ref for p in site.people if p.supporter and p.certified and p.seniority >= 3]
    return {
        "time_zone": "America/Toronto",
        "rotations": [
            {"layer": "primary", "members": supporters[:2], "starts_local": start, "every": "daily"},
            {
                "layer": "backup",
                "members": supporters[2:3],
                "starts_local": start,
                "every": "daily",
                "restriction": {"starts": "08:00", "ends": "20:00"},
            },
        ],
    }
