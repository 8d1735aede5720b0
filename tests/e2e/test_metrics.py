"""Metrics on real Kafka and PostgreSQL: a generated quarter of events for several sites,
fed through Kafka as the services would publish them, checked measure by measure against
a computation written here from the generated facts alone; then the publication (closed
months frozen, small cells withheld), the views, and a rebuild from the Kafka history."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from contracts import Envelope, Event
from contracts.events import (
    Candidate,
    CertificationExpired,
    CertificationGranted,
    MatchProposed,
    MatchUnmatched,
    PageAcknowledged,
    PageEscalated,
    ReferralClosed,
    ReferralContacted,
    ReferralMet,
    ReferralSubmitted,
    SupporterEligibilityChanged,
)
from frontend.charts import DIMENSION_WORDS
from frontend.i18n import Translator
from markupsafe import escape
from pss_testkit.testing import RunningPlatform, wait_for
from servicekit.auth import Role

K = 5
QUARTER = "2026-Q3"
MONTHS = ["2026-07", "2026-08", "2026-09"]
PATHS = ["self", "manager", "colleague", "eap", "group"]
REASONS = {
    "patient_safety_incident": "near_miss",
    "critical_incident": "unexpected_patient_death",
    "work_related_stress": "cumulative_stress",
}
OUTCOMES = ["one_time_support", "follow_up", "referred_to_eap", "referred_to_professional"]
PROFESSIONS = ["nursing", "nursing", "medicine", "allied_health", "support_services", "not_known"]


@dataclass
class Generated:
    """The facts, as plain records, and the envelopes that carry them."""

    sites: list[str]
    # the authority's directory: a and b share a region, c is alone in its own
    regions: dict[str, str] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)
    referrals: list[dict[str, Any]] = field(default_factory=list)  # site, month, path, reason, tier, ...
    certifications: list[dict[str, Any]] = field(default_factory=list)
    eligibility: list[dict[str, Any]] = field(default_factory=list)
    messages: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)
    duplicates: int = 0

    def send(self, event: Event, site: str, at: datetime, producer: str) -> None:
        envelope = Envelope(
            id=uuid.uuid4(),
            type=event.TYPE,
            occurred_at=at,
            site_id=site,
            producer=producer,
            payload=event.model_dump(mode="json"),
        )
        self.messages.append((event.TOPIC, site.encode(), envelope.to_bytes()))


def generate(seed: int) -> Generated:
    rnd = random.Random(seed)
    suffix = uuid.uuid4().hex[:6]
    g = Generated(sites=[f"gen-{name}-{suffix}" for name in ("a", "b", "c")])
    g.regions = dict(zip(g.sites, [f"north-{suffix}", f"north-{suffix}", f"south-{suffix}"], strict=True))
    g.staff = dict(zip(g.sites, [800, 1200, 300], strict=True))
    deployed: Counter[tuple[str, str, str]] = Counter()  # as oncall ranks acknowledgements
    for site in g.sites:
        for month in MONTHS:
            year, m = map(int, month.split("-"))
            # from a handful to a few dozen: small cells and large ones
            for _ in range(rnd.choice([4, 12, 25, 45])):
                at = datetime(year, m, rnd.randint(1, 28), rnd.randint(0, 23), tzinfo=UTC)
                path = rnd.choices(PATHS, weights=[6, 2, 2, 1, 1])[0]
                reason = rnd.choice(list(REASONS))
                r = {
                    "site": site,
                    "month": month,
                    "path": path,
                    "reason": reason,
                    "tier": rnd.choice([1, 2, 2, 2, 3]),
                    "group_size": rnd.randint(4, 30) if path == "group" else None,
                    "profession": rnd.choice(PROFESSIONS),
                    "id": uuid.uuid4(),
                }
                g.send(
                    ReferralSubmitted(
                        referral_id=r["id"],
                        site_id=site,
                        path=path,
                        reason_category=reason,
                        reason_kind=REASONS[reason],
                        urgency="within_hours",
                        modality="phone",
                        tier=r["tier"],
                        group_size=r["group_size"],
                    ),
                    site,
                    at,
                    "intake",
                )
                if rnd.random() < 0.15:
                    r["unmatched"] = True
                    g.send(
                        MatchUnmatched(
                            referral_id=r["id"],
                            site_id=site,
                            urgency="within_hours",
                            worker_profession_group=r["profession"],
                        ),
                        site,
                        at,
                        "matching",
                    )
                    g.referrals.append(r)
                    continue
                r["supporter"] = f"st-gen{rnd.randint(1, 9)}"
                proposal = MatchProposed(
                    referral_id=r["id"],
                    site_id=site,
                    urgency="within_hours",
                    candidates=[Candidate(supporter=r["supporter"], rank=1, score=1.0)],
                    worker_profession_group=r["profession"],
                )
                g.send(proposal, site, at, "matching")
                if rnd.random() < 0.3:
                    r["escalated"] = rnd.choice(["not_acknowledged", "declined"])
                    g.send(
                        PageEscalated(
                            referral_id=r["id"],
                            site_id=site,
                            from_step=0,
                            to_step=1,
                            to_role="supporter",
                            reason=r["escalated"],
                        ),
                        site,
                        at,
                        "oncall",
                    )
                # the referral's wait from its first page; a group case is taken by a team,
                # and only the first acknowledgement carries it
                r["seconds_to_acknowledge"] = rnd.randint(20, 900)
                r["team"] = [r["supporter"]]
                if path == "group":
                    r["team"].append(f"st-gen{rnd.randint(10, 14)}")
                for i, supporter in enumerate(r["team"]):
                    deployed[(site, month, supporter)] += 1
                    g.send(
                        PageAcknowledged(
                            page_id=uuid.uuid4(),
                            referral_id=r["id"],
                            site_id=site,
                            recipient=supporter,
                            recipient_role="supporter",
                            step=1 if "escalated" in r else 0,
                            seconds_to_acknowledge=rnd.randint(10, r["seconds_to_acknowledge"]),
                            deployment_of_month=deployed[(site, month, supporter)],
                            referral_seconds_to_acknowledge=None if i else r["seconds_to_acknowledge"],
                        ),
                        site,
                        at,
                        "oncall",
                    )
                r["minutes_to_callback"] = rnd.randint(2, 80)
                g.send(
                    ReferralContacted(
                        referral_id=r["id"], site_id=site, minutes_to_callback=r["minutes_to_callback"]
                    ),
                    site,
                    at,
                    "intake",
                )
                r["minutes_to_meet"] = rnd.randint(60, 1500)
                r["duration"] = rnd.choice([None, rnd.randint(15, 120)])
                g.send(
                    ReferralMet(
                        referral_id=r["id"],
                        site_id=site,
                        encounter=1,
                        minutes_since_referral=r["minutes_to_meet"],
                        duration_minutes=r["duration"],
                    ),
                    site,
                    at,
                    "intake",
                )
                r["outcome"] = rnd.choice(OUTCOMES)
                g.send(
                    ReferralClosed(
                        referral_id=r["id"],
                        site_id=site,
                        contact_made=True,
                        minutes_to_callback=r["minutes_to_callback"],
                        encounters=1,
                        outcome=r["outcome"],
                    ),
                    site,
                    at,
                    "intake",
                )
                g.referrals.append(r)
            at = datetime(year, m, 15, tzinfo=UTC)
            for _ in range(rnd.randint(0, 7)):
                course = rnd.choice(["crisis-management", "confidentiality"])
                lapsed = rnd.random() < 0.3
                g.certifications.append({"site": site, "month": month, "course": course, "lapsed": lapsed})
                supporter = f"st-gen{rnd.randint(1, 99)}"
                if lapsed:
                    event: Event = CertificationExpired(
                        supporter=supporter, course=course, expired_on=at.date()
                    )
                else:
                    event = CertificationGranted(
                        supporter=supporter,
                        course=course,
                        completed_on=at.date(),
                        expires_on=at.date().replace(year=at.year + 2),
                    )
                g.send(event, site, at, "training")
            for n in range(rnd.randint(0, 8)):  # supporters becoming eligible: version 1, eligible
                g.eligibility.append({"site": site, "month": month})
                g.send(
                    SupporterEligibilityChanged(
                        supporter=f"st-gen{site[-6:]}{month[-2:]}{n}",
                        home_site=site,
                        eligible=True,
                        version=1,
                    ),
                    site,
                    at,
                    "training",
                )
    # redeliveries, as after a producer's retry: the same envelope twice
    for message in rnd.sample(g.messages, 25):
        g.messages.append(message)
        g.duplicates += 1
    return g


def expected_counts(g: Generated) -> dict[tuple[str, str, str, str], int]:
    """(site, month, measure, dimension) -> count, from the generated facts alone."""
    out: Counter[tuple[str, str, str, str]] = Counter()
    per_supporter: Counter[tuple[str, str, str]] = Counter()
    for r in g.referrals:
        key = (r["site"], r["month"])
        out[(*key, "referrals", "total")] += 1
        out[(*key, "referrals_by_profession", r["profession"])] += 1
        out[(*key, "referrals_by_path", r["path"])] += 1
        out[(*key, "referrals_by_reason", r["reason"])] += 1
        out[(*key, "referrals_by_tier", str(r["tier"]))] += 1
        if r["path"] == "group":  # its activations are the referrals by path `group`
            out[(*key, "people_reached", "total")] += r["group_size"]
        if r.get("unmatched"):
            out[(*key, "unmatched", "total")] += 1
            continue
        if "escalated" in r:
            out[(*key, "escalations", r["escalated"])] += 1
        out[(*key, "acknowledged_pages", "supporter")] += len(r["team"])  # the deployments
        out[(*key, "callback_within_30_minutes", "yes" if r["minutes_to_callback"] <= 30 else "no")] += 1
        out[(*key, "encounters", "first")] += 1
        out[(*key, "met_within_12_hours", "yes" if r["minutes_to_meet"] <= 720 else "no")] += 1
        out[(*key, "closed", r["outcome"])] += 1
        for supporter in r["team"]:
            per_supporter[(*key, supporter)] += 1
        if r["duration"] is not None:
            out[(*key, "timed_encounters", "total")] += 1
            out[(*key, "volunteer_minutes", "total")] += r["duration"]
    for (site, month, _supporter), n in per_supporter.items():
        bucket = "1" if n == 1 else "2" if n == 2 else "3_4" if n <= 4 else "5_plus"
        out[(site, month, "supporters_by_deployments", bucket)] += 1
    for c in g.certifications:
        measure = "certifications_lapsed" if c["lapsed"] else "certifications_granted"
        out[(c["site"], c["month"], measure, c["course"])] += 1
    for e in g.eligibility:
        out[(e["site"], e["month"], "supporters_eligible_change", "total")] += 1
    return dict(out)


def nearest_rank(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(round(q * len(ordered), 9))) - 1]


@pytest.fixture(scope="module")
def generated(running_platform: RunningPlatform) -> Generated:
    p = running_platform
    g = generate(seed=6)
    with p.admin() as admin:  # before the quarter's first month is published, which copies it
        for site in g.sites:
            entry = {"region": g.regions[site], "staff_count": g.staff[site]}
            answer = admin.put(f"{p.url('metrics')}/sites/{site}", json=entry)
            assert answer.status_code == 200, answer.text
    p.kafka.publish_many(g.messages)
    counted = len({m[2] for m in g.messages})
    wait_for(
        lambda: (
            p.sql(
                "SELECT count(*) FROM metrics.inbox WHERE event_id = ANY(%s)",
                [json.loads(m[2])["id"] for m in g.messages],
            )
            == [(counted,)]
        ),
        timeout=120,
        what="metrics to count every generated event",
    )
    # past months arrive late here: publish now that they are all counted
    assert set(MONTHS) <= set(publish_now(p)["published"])
    return g


def publish_now(p: RunningPlatform) -> dict[str, list[str]]:
    """`pss-metrics publish`, as an operator runs it: closed months, then corrections."""
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "publish"],
        env=p.platform.services["metrics"].env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_generated_quarter_is_counted_measure_by_measure_as_computed_independently(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    rows = running_platform.sql(
        "SELECT site_id, period, measure, dimension, value FROM metrics.aggregate WHERE site_id = ANY(%s)"
        " AND period = ANY(%s) AND value <> 0",
        generated.sites,
        MONTHS,
    )
    stored = {(site, month, measure, dimension): value for site, month, measure, dimension, value in rows}
    expected = expected_counts(generated)
    assert {m for _, _, m, _ in expected} >= {
        "referrals_by_reason",
        "people_reached",
        "escalations",
        "unmatched",
        "acknowledged_pages",
        "referrals_by_profession",
        "supporters_by_deployments",
        "volunteer_minutes",
        "certifications_lapsed",
        "supporters_eligible_change",
    }
    assert stored == expected
    # time to acknowledge: one value per referral, from its first page, however many took it
    waits = running_platform.sql(
        "SELECT site_id, period, value, count FROM metrics.distribution WHERE site_id = ANY(%s)"
        " AND period = ANY(%s) AND measure = 'seconds_to_acknowledge'",
        generated.sites,
        MONTHS,
    )
    assert {(site, month, v): n for site, month, v, n in waits} == Counter(
        (r["site"], r["month"], r["seconds_to_acknowledge"]) for r in generated.referrals if "team" in r
    )
    assert any(len(r.get("team", ())) > 1 for r in generated.referrals)


def test_closed_months_are_published_with_every_small_cell_withheld_and_the_rest_exact(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    p = running_platform
    expected = expected_counts(generated)
    with p.admin() as admin:
        months = {
            m: admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": m}) for m in MONTHS
        }
        quarter = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": QUARTER})
        periods = admin.get(f"{p.url('metrics')}/periods").json()["periods"]
    assert set(MONTHS) | {QUARTER} <= set(periods)
    for month, response in months.items():
        assert response.status_code == 200, response.text
        cells = [c for c in response.json()["cells"] if c["scope"] in generated.sites]
        published = complementary = considered = 0
        for c in cells:
            key = (c["scope"], month, c["measure"], c["dimension"])
            if c["measure"] in (
                "seconds_to_acknowledge",
                "minutes_to_callback",
                "supporters_eligible",
                "reach",  # a rate, not a count: checked with the regions below
            ):
                continue
            considered += 1
            truth = _with_totals(expected, c["scope"], month, c["measure"], c["dimension"])
            if 0 < truth < K:
                assert c["withheld"] and c["value"] is None, f"{key} = {truth} was published"
            if not c["withheld"]:
                assert c["value"] == truth, key
                published += 1
            elif truth >= K:
                complementary += 1  # withheld so that a small cell beside it cannot be worked out
        # small sites: many cells are small, but suppression must not swallow the table. The
        # interval audit (issue 24) withholds more than exact elimination did: 20 of 149
        # site cells were published in one month of this quarter, against a fifth before
        assert published >= considered // 10 and complementary
        # volunteer minutes are shown exactly where the count of timed encounters is
        withheld = {(c["scope"], c["measure"]): c["withheld"] for c in cells if c["dimension"] == "total"}
        timed = [site for site in generated.sites if (site, "volunteer_minutes") in withheld]
        assert timed and all(
            withheld[(site, "volunteer_minutes")] == withheld[(site, "timed_encounters")] for site in timed
        )
    # the quarter is the sum of its months, cell by cell, where published
    for c in quarter.json()["cells"]:
        if (
            c["scope"] in generated.sites
            and not c["withheld"]
            and c["measure"] in ("referrals_by_path", "closed")
        ):
            assert c["value"] == sum(
                _with_totals(expected, c["scope"], m, c["measure"], c["dimension"]) for m in MONTHS
            )


def _with_totals(
    expected: dict[tuple[str, str, str, str], int], site: str, month: str, measure: str, dim: str
) -> int:
    if dim != "total" or measure == "referrals":
        return expected.get((site, month, measure, dim), 0)
    return sum(n for (s, mo, me, _d), n in expected.items() if (s, mo, me) == (site, month, measure))


def test_medians_and_90th_percentiles_are_exact_and_withheld_below_k(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    p = running_platform
    with p.admin() as admin:
        cells = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": MONTHS[0]}).json()[
            "cells"
        ]
    seen = defaultdict(list)
    for r in generated.referrals:
        if r["month"] == MONTHS[0] and "minutes_to_callback" in r:
            seen[r["site"]].append(r["minutes_to_callback"])
            seen["authority"].append(r["minutes_to_callback"])
    shown = {(c["scope"], c["measure"], c["dimension"]): not c["withheld"] for c in cells}
    checked = 0
    for site, values in seen.items():
        for name, q in (("median", 0.5), ("p90", 0.9)):
            cell = next(
                c
                for c in cells
                if (c["scope"], c["measure"], c["dimension"]) == (site, "minutes_to_callback", name)
            )
            split = [
                shown.get((site, "callback_within_30_minutes", d), False) for d in ("yes", "no", "total")
            ]
            if len(values) < K or not all(split):
                # below k, or beside a withheld split it would tell the side of 30 minutes of
                assert cell["withheld"] and cell["value"] is None
            else:
                assert cell["value"] == nearest_rank(values, q)
                checked += 1
    assert checked  # the generator gives some site a month of at least k callbacks


def test_a_coordinator_sees_their_own_site_only_and_operations_see_nothing(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    p = running_platform
    own, other = generated.sites[0], generated.sites[1]
    coordinator = p.client(
        p.issuer.token("coord-gen", [Role.SITE_COORDINATOR], [own], staff_ref="st-gencoord")
    )
    ops = p.client(p.issuer.token("ops-gen", [Role.OPS]))
    with coordinator, ops:
        mine = coordinator.get(f"{p.url('metrics')}/sites/{own}/aggregates", params={"period": MONTHS[1]})
        as_csv = coordinator.get(
            f"{p.url('metrics')}/sites/{own}/aggregates.csv", params={"period": MONTHS[1]}
        )
        theirs = coordinator.get(f"{p.url('metrics')}/sites/{other}/aggregates", params={"period": MONTHS[1]})
        theirs_csv = coordinator.get(
            f"{p.url('metrics')}/sites/{other}/aggregates.csv", params={"period": MONTHS[1]}
        )
        roll_up = coordinator.get(f"{p.url('metrics')}/authority/aggregates", params={"period": MONTHS[1]})
        ops_site = ops.get(f"{p.url('metrics')}/sites/{own}/aggregates", params={"period": MONTHS[1]})
        ops_all = ops.get(f"{p.url('metrics')}/authority/aggregates", params={"period": MONTHS[1]})
    assert mine.status_code == 200 and mine.json()["cells"]
    assert (theirs.status_code, theirs_csv.status_code, roll_up.status_code) == (404, 404, 403)
    assert (ops_site.status_code, ops_all.status_code) == (403, 403)
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    # the CSV carries what the JSON does: the site's cells, and its region's when grouped
    shown = mine.json()
    region = shown["region"]["scope"] if shown["region"] else None
    assert {r["scope"] for r in rows} == {own, *([region] if region else [])}
    for scope, cells in ((own, shown["cells"]), *([(region, shown["region"]["cells"])] if region else [])):
        by_cell = {(c["measure"], c["dimension"]): c["value"] for c in cells}
        assert {
            (r["measure"], r["dimension"]): (float(r["value"]) if r["value"] else None)
            for r in rows
            if r["scope"] == scope
        } == by_cell


def test_the_front_end_draws_the_published_month_and_serves_its_csv(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    """The coordinator's metrics page: a chart per measure whose figures are the published
    cells (a withheld cell shown as withheld, never as a number), and the CSV as metrics
    serves it; another site's metrics are not found."""
    p = running_platform
    own, other = generated.sites[0], generated.sites[1]
    with p.client(p.issuer.token("coord-gen", [Role.SITE_COORDINATOR], [own])) as api:
        cells = api.get(f"{p.url('metrics')}/sites/{own}/aggregates", params={"period": MONTHS[1]}).json()
        served_csv = api.get(f"{p.url('metrics')}/sites/{own}/aggregates.csv", params={"period": MONTHS[1]})
    frontend = p.frontend_client(own)  # signed in already: close it, do not enter it again
    try:
        page = frontend.get(f"/sites/{own}/metrics", params={"period": MONTHS[1]})
        downloaded = frontend.get(f"/sites/{own}/metrics.csv", params={"period": MONTHS[1]})
        theirs = frontend.get(f"/sites/{other}/metrics", params={"period": MONTHS[1]})
    finally:
        frontend.close()
    assert page.status_code == 200 and theirs.status_code == 404
    html = page.text
    drawn = shown = 0
    for cell in cells["cells"]:
        figure = html.split(f'data-measure="{cell["measure"]}"', 1)[1].split("</figure>", 1)[0]
        # a dimension is said in words, as the page's reader reads it (frontend.charts)
        words = DIMENSION_WORDS.get(cell["measure"], "dimension")
        label = (
            "total"
            if cell["dimension"] == "total"
            else escape(Translator("en").label(words, cell["dimension"]))
        )
        if cell["dimension"] == "total":
            found = figure.split("</figcaption>", 1)[0]
        else:
            found = figure.split(f'<th scope="row">{label}</th>', 1)[1].split("</tr>", 1)[0]
        if cell["withheld"]:
            assert "withheld" in found, cell
            drawn += 1
        else:
            assert f"{round(float(cell['value']), 1)}" in found, cell
            shown += 1
    assert drawn and shown  # both kinds were on the page
    assert downloaded.status_code == 200 and downloaded.content == served_csv.content
    assert downloaded.headers["content-type"].startswith("text/csv")


def test_an_open_month_is_not_published_and_a_bad_period_is_refused(
    running_platform: RunningPlatform,
) -> None:
    p = running_platform
    this_month = datetime.now(UTC).strftime("%Y-%m")
    with p.admin() as admin:
        still_open = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": this_month})
        malformed = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": "2026-13"})
    assert still_open.status_code == 409 and "still open" in still_open.json()["message"]
    assert malformed.status_code == 422


def test_a_rebuild_from_the_kafka_history_equals_live_consumption(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    p = running_platform
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "rebuild"],
        env=p.platform.services["metrics"].env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 3), done.stderr
    report = json.loads(done.stdout)
    summary = {k: v for k, v in report.items() if k != "differences"}
    assert report["duplicates"] >= generated.duplicates, summary
    ours = [d for d in report["differences"] if d["site_id"] in generated.sites and d["period"] in MONTHS]
    assert ours == []
    query = (
        "SELECT site_id, period, measure, dimension, value FROM metrics.{}"
        " WHERE site_id = ANY(%s) ORDER BY 1, 2, 3, 4"
    )
    rebuilt = p.sql(query.format("aggregate_rebuilt"), generated.sites)
    assert rebuilt and [r for r in rebuilt if r[1] in MONTHS] == [
        r for r in p.sql(query.format("aggregate"), generated.sites) if r[1] in MONTHS
    ]


def _month_or_quarter_truth(
    expected: dict[tuple[str, str, str, str], int], sites: list[str], period: str, measure: str, dim: str
) -> int:
    months = MONTHS if period == QUARTER else [period]
    return sum(_with_totals(expected, s, m, measure, dim) for s in sites for m in months)


def test_small_sites_are_seen_in_their_region_and_reach_is_per_100_staff_where_referrals_are_published(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    p = running_platform
    g = generated
    expected = expected_counts(g)
    north = f"region:{g.regions[g.sites[0]]}"
    # the quarter's only sites are the generated ones, and the directory holds only them
    members = {north: g.sites[:2], "authority": g.sites, **{s: [s] for s in g.sites}}
    coordinator = p.client(
        p.issuer.token("coord-gen-region", [Role.SITE_COORDINATOR], [g.sites[0]], staff_ref="st-genregion")
    )
    checked = withheld = reached = 0
    with p.admin() as admin, coordinator:
        for period in [*MONTHS, QUARTER]:
            cells = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": period}).json()[
                "cells"
            ]
            scopes = {c["scope"] for c in cells}
            assert (
                north in scopes and f"region:{g.regions[g.sites[2]]}" not in scopes
            )  # c alone: not a region
            for c in cells:
                if (
                    c["scope"] != north
                    or c["measure"] in ("reach", "supporters_eligible")
                    or c["dimension"]
                    in (
                        "median",
                        "p90",
                    )
                ):
                    continue
                truth = _month_or_quarter_truth(
                    expected, members[north], period, c["measure"], c["dimension"]
                )
                if 0 < truth < K:
                    assert c["withheld"], (c, truth)
                if c["withheld"]:
                    withheld += 1
                else:
                    assert c["value"] == truth, (c, truth)
                    checked += 1
            reach = {c["scope"]: c for c in cells if c["measure"] == "reach"}
            totals = {
                c["scope"]: c for c in cells if (c["measure"], c["dimension"]) == ("referrals", "total")
            }
            for scope, sites in members.items():
                staff = sum(g.staff[s] for s in sites)
                truth = _month_or_quarter_truth(expected, sites, period, "referrals", "total")
                assert reach[scope]["withheld"] == totals[scope]["withheld"]
                if not reach[scope]["withheld"]:
                    assert reach[scope]["value"] == round(100 * truth / staff, 1)
                    reached += 1
            mine = coordinator.get(
                f"{p.url('metrics')}/sites/{g.sites[0]}/aggregates", params={"period": period}
            )
            assert mine.status_code == 200, mine.text
            region = mine.json()["region"]
            assert region["scope"] == north
            assert {(c["measure"], c["dimension"]): c["value"] for c in region["cells"]} == {
                (c["measure"], c["dimension"]): c["value"] for c in cells if c["scope"] == north
            }
    # the region shows what its sites alone would not, and still protects them
    assert checked > 20 and withheld and reached


def test_the_site_directory_is_the_authoritys_validated_and_changes_take_effect_next_quarter(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    p = running_platform
    g = generated
    site = g.sites[2]
    coordinator = p.client(
        p.issuer.token("coord-gen-dir", [Role.SITE_COORDINATOR], [site], staff_ref="st-gendir")
    )
    url = f"{p.url('metrics')}/sites/{site}"
    with p.admin() as admin, coordinator:
        bad_region = admin.put(url, json={"region": "North Shore!"})
        no_staff = admin.put(url, json={"staff_count": 0})
        unknown = admin.put(url, json={"region": "north", "beds": 3})
        not_theirs = coordinator.put(url, json={"region": g.regions[g.sites[0]], "staff_count": 300})
        assert [r.status_code for r in (bad_region, no_staff, unknown, not_theirs)] == [422, 422, 422, 403]
        assert "region" in bad_region.text and "staff_count" in no_staff.text
        before = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": QUARTER}).json()
        moved = admin.put(url, json={"region": g.regions[g.sites[0]], "staff_count": 600})
        assert moved.status_code == 200, moved.text
        listed = {e["site_id"]: e for e in admin.get(f"{p.url('metrics')}/sites").json()["sites"]}
        after = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": QUARTER}).json()
    assert listed[site] == {"site_id": site, "region": g.regions[g.sites[0]], "staff_count": 600}
    assert listed[g.sites[0]]["staff_count"] == 800
    # a published quarter never changes: c joins the region and its staff change next quarter
    assert after == before


def test_late_events_of_a_published_month_are_published_as_its_correction_never_as_a_change(
    running_platform: RunningPlatform, generated: Generated
) -> None:
    """Last in this module: it adds events to a month the others read as published. Events
    that arrive for August after August was published leave August as it was, and come out
    as August's next correction, protected as any month is; publishing again finds nothing
    more to correct."""
    p = running_platform
    month = MONTHS[1]
    with p.admin() as admin:
        before = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": month}).json()
    suffix = uuid.uuid4().hex[:6]
    late = Generated(sites=[f"gen-late-a-{suffix}", f"gen-late-b-{suffix}"])
    for site, n in zip(late.sites, (6, 1), strict=True):
        for day in range(1, n + 1):
            late.send(
                ReferralSubmitted(
                    referral_id=uuid.uuid4(),
                    site_id=site,
                    path="self",
                    reason_category="critical_incident",
                    reason_kind=REASONS["critical_incident"],
                    urgency="within_hours",
                    modality="phone",
                ),
                site,
                datetime(2026, 8, day, 12, tzinfo=UTC),
                "intake",
            )
    p.kafka.publish_many(late.messages)
    ids = [json.loads(m[2])["id"] for m in late.messages]
    wait_for(
        lambda: p.sql("SELECT count(*) FROM metrics.inbox WHERE event_id = ANY(%s)", ids) == [(len(ids),)],
        what="metrics to count the late events",
    )

    fixes = [c for c in publish_now(p)["corrections"] if c.startswith(f"{month}-correction-")]
    assert len(fixes) == 1, fixes
    (label,) = fixes
    with p.admin() as admin:
        after = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": month}).json()
        correction = admin.get(f"{p.url('metrics')}/authority/aggregates", params={"period": label})
        periods = admin.get(f"{p.url('metrics')}/periods").json()["periods"]
        unknown = admin.get(
            f"{p.url('metrics')}/authority/aggregates", params={"period": f"{month}-correction-999"}
        )
    assert after == before  # August as published: never a silent change
    # a site's coordinator reads the correction too, as JSON and as CSV (region and all)
    with p.client(p.issuer.token("coord-late", [Role.SITE_COORDINATOR], [late.sites[0]])) as api:
        for view in ("aggregates", "aggregates.csv"):
            seen = api.get(f"{p.url('metrics')}/sites/{late.sites[0]}/{view}", params={"period": label})
            assert seen.status_code == 200, (view, seen.text)
    assert correction.status_code == 200, correction.text
    cells = {(c["scope"], c["measure"], c["dimension"]): c for c in correction.json()["cells"]}
    a, b = (cells[(site, "referrals", "total")] for site in late.sites)
    assert b["withheld"] and b["value"] is None  # one late referral is a small count
    assert a["withheld"] or a["value"] == 6
    assert all(c["value"] is None or c["value"] == 0 or c["value"] >= K for c in cells.values())
    number = int(label.rsplit("-", 1)[1])
    first = periods.index(month) + 1  # listed right after their month, in order
    assert periods[first : first + number] == [f"{month}-correction-{n}" for n in range(1, number + 1)]
    assert unknown.status_code == 404 and "GET /periods" in unknown.json()["message"]
    # nothing more came: publishing again corrects nothing of August
    assert not [c for c in publish_now(p)["corrections"] if c.startswith(f"{month}-correction-")]
