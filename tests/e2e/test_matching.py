"""Matching on real Kafka and PostgreSQL: eligibility from training, widening to the region
and the authority, group teams, explanations, coordinator overrides, the re-check oncall
makes before paging the next supporter, and the directory import."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from contracts import topics
from pss_cli.imports import import_directory
from pss_cli.main import app
from pss_dev.seed import Person, Site, sample_site
from pss_testkit.testing import RunningPlatform, seed_and_wait, wait_for
from typer.testing import CliRunner

from .helpers import (
    acknowledge,
    intake_events,
    pages_sent,
    person,
    post,
    proposal,
    ref,
    self_referral,
    submit,
    wait_for_page,
)


def matching(p: RunningPlatform, referral_id: uuid.UUID, client=None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """matching's stored decision, with its explanation, once it has decided."""
    owned = client is None
    client = client or p.admin()
    try:
        return wait_for(  # type: ignore[no-any-return]
            lambda: (
                (r := client.get(f"{p.url('matching')}/proposals/{referral_id}")).status_code == 200
                and r.json()
            ),
            what=f"matching's decision on {referral_id}",
        )
    finally:
        if owned:
            client.close()


def set_supporter(p: RunningPlatform, staff_ref: str, **values: object) -> None:
    with p.admin() as admin:
        response = admin.put(f"{p.url('matching')}/supporters/{staff_ref}", json=values)
    assert response.status_code == 204, response.text


def training_active(p: RunningPlatform, site: Site, staff_ref: str, active: bool) -> None:
    with p.admin() as admin:
        response = admin.put(
            f"{p.url('training')}/supporters/{staff_ref}",
            json={"home_site": site.site_id, "active": active, "tier": 2},
        )
    assert response.status_code == 204, response.text
    wait_for(
        lambda: (
            p.sql("SELECT eligible FROM matching.eligibility WHERE staff_ref = %s", staff_ref) == [(active,)]
        ),
        what=f"matching to learn that {staff_ref} is {'eligible' if active else 'not eligible'}",
    )


def test_a_supporter_training_reports_ineligible_is_never_proposed_and_comes_back_when_eligible(
    running_platform, site
):
    p = running_platform
    lapsed = ref(site, "sup1")
    training_active(p, site, lapsed, False)
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    decided = proposal(p, referral_id)
    assert lapsed not in [c["supporter"] for c in decided["candidates"]]
    assert decided["excluded_by_rule"].get("certification") == 1

    training_active(p, site, lapsed, True)
    again = proposal(p, submit(p, self_referral(site, ref(site, "rn2"))))
    assert again["candidates"][0]["supporter"] == lapsed  # on duty as primary, ranks first


def _person(prefix: str, name: str, **kwargs: object) -> Person:
    return Person(f"st-{prefix}{name}", **{"profession": "nursing", "seniority": 6, **kwargs})  # type: ignore[arg-type]


def test_nobody_eligible_widens_to_the_region_then_the_authority_then_alerts_as_unmatched(running_platform):
    """An executive (top of the ladder) can only be supported by someone as senior: few
    enough that each step of the widening can be emptied in turn."""
    p = running_platform
    tag = uuid.uuid4().hex[:5]
    region = f"r-{tag}"
    home = Site(
        f"t-{tag}a",
        "Home hospital",
        [
            _person(f"{tag}a", "exec"),
            _person(f"{tag}a", "sup", supporter=True),
            Person(f"st-{tag}acoord", "social_work", 4),
        ],
        primary=f"st-{tag}asup",
        backup=None,
        coordinator=f"st-{tag}acoord",
        region=region,
        setting="rural",
    )
    neighbour = Site(
        f"t-{tag}b",
        "Neighbour hospital",
        [_person(f"{tag}b", "sup", supporter=True, serves="region")],
        primary=None,
        backup=None,
        coordinator=None,
        region=region,
    )
    far = Site(
        f"t-{tag}c",
        "Far hospital",
        [_person(f"{tag}c", "sup", supporter=True, serves="authority")],
        primary=None,
        backup=None,
        coordinator=None,
        region=f"r-{tag}-far",
    )
    for seeded in (home, neighbour, far):
        seed_and_wait(p, seeded)
    worker = f"st-{tag}aexec"
    try:
        decisions = []
        for to_pause in (None, f"st-{tag}asup", f"st-{tag}bsup", f"st-{tag}csup"):
            if to_pause:
                set_supporter(p, to_pause, paused=True, serves="site")
            decisions.append(matching(p, submit(p, self_referral(home, worker))))
        site_level, region_level, authority_level, nobody = decisions
        assert (site_level["pool"], [c["supporter"] for c in site_level["candidates"]]) == (
            "site",
            [f"st-{tag}asup"],
        )
        assert (region_level["pool"], [c["supporter"] for c in region_level["candidates"]]) == (
            "region",
            [f"st-{tag}bsup"],
        )
        assert region_level["eligible_by_pool"] == {"site": 0, "region": 1}
        assert (authority_level["pool"], [c["supporter"] for c in authority_level["candidates"]]) == (
            "authority",
            [f"st-{tag}csup"],
        )
        assert not nobody["matched"] and nobody["pool"] == "authority"
        # unmatched is published, and oncall pages the home site's coordinator at once
        referral_id = nobody["referral_id"]
        unmatched = wait_for(
            lambda: p.kafka.events(
                topics.PROPOSALS, type_="matching.match.unmatched.v1", referral_id=referral_id
            ),
            what="the unmatched event",
        )
        assert unmatched[0]["payload"]["excluded_by_rule"]["paused"] >= 1
        page = wait_for_page(p, uuid.UUID(referral_id), 0)
        assert (page["recipient"], page["recipient_role"]) == (f"st-{tag}acoord", "coordinator")
    finally:
        for name in ("a", "b", "c"):  # nobody else's case may widen to these supporters
            set_supporter(p, f"st-{tag}{name}sup", paused=True, serves="site")


def test_everyone_up_the_reporting_line_is_excluded_even_when_the_line_loops(running_platform):
    """The line is walked in the database (one query per decision); a loop someone typed
    into the directory (a director who "reports to" their own manager) must end the walk,
    not the decision."""
    p = running_platform
    tag = uuid.uuid4().hex[:5]
    at = f"{tag}l"
    site = Site(
        f"t-{at}",
        "Line hospital",
        [
            _person(at, "rn", seniority=3, reports_to=f"st-{at}mgr"),
            _person(at, "mgr", seniority=5, reports_to=f"st-{at}dir", supporter=True),
            _person(at, "dir", seniority=6, reports_to=f"st-{at}mgr", supporter=True),
            _person(at, "peer", seniority=4, supporter=True),
            Person(f"st-{at}coord", "social_work", 4),
        ],
        primary=f"st-{at}mgr",
        backup=None,
        coordinator=f"st-{at}coord",
        region=f"r-{tag}",
    )
    seed_and_wait(p, site)
    try:
        decided = matching(p, submit(p, self_referral(site, f"st-{at}rn")))
        assert [c["supporter"] for c in decided["candidates"]] == [f"st-{at}peer"]
        assert decided["excluded_by_rule"]["non_evaluator"] == 2
    finally:
        for name in ("mgr", "dir", "peer"):
            set_supporter(p, f"st-{at}{name}", paused=True)


def test_a_group_activation_gets_a_team_from_outside_the_unit_it_is_for(running_platform, site):
    p = running_platform
    activation = {
        "site_id": site.site_id,
        "unit": "icu-4",  # sup1 works there: they lived the event too
        "people": 9,
        "event": {"category": "critical_incident", "kind": "staff_critical_injury"},
        "contact": person("charge-nurse"),
        "involved_staff": [ref(site, "sup3")],
    }
    with p.manager(site, ref(site, "mgr")) as manager:
        referral_id = uuid.UUID(post(p, "/group-activations", activation, client=manager)["referral_id"])
    decided = matching(p, referral_id)
    team = [c["supporter"] for c in decided["candidates"]]
    assert decided["team_size"] == 2 and len(team) >= 2
    assert ref(site, "sup1") not in team and ref(site, "sup3") not in team
    assert decided["excluded_by_rule"]["involved"] == 2


def test_a_proposal_explains_each_rank_without_naming_who_was_excluded_or_why(running_platform, site):
    p = running_platform
    referral_id = submit(
        p, self_referral(site, ref(site, "rn1"), preferences={"languages": ["fr"], "same_profession": True})
    )
    with p.coordinator(site) as coordinator:
        decided = matching(p, referral_id, coordinator)
        raw = json.dumps(decided)
        first = decided["candidates"][0]
        assert first["score"] == sum(r["points"] for r in first["reasons"])
        speaks_french = next(c for c in decided["candidates"] if c["supporter"] == ref(site, "sup2"))
        assert "language" in {r["preference"] for r in speaks_french["reasons"]}
        # rn1's manager and preceptor are counted, never named
        assert decided["excluded_by_rule"]["non_evaluator"] == 1
        assert ref(site, "mgrs") not in raw and ref(site, "mgr") not in raw
        other = sample_site("t-other", "Other", "zz")
        with p.coordinator(other) as stranger:
            hidden = stranger.get(f"{p.url('matching')}/proposals/{referral_id}")
        assert hidden.status_code == 404


def test_a_coordinator_override_is_audited_and_pages_the_chosen_supporter(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    first = wait_for_page(p, referral_id, 0)
    chosen = ref(site, "sup3")
    assert first["recipient"] != chosen
    url = f"{p.url('matching')}/proposals/{referral_id}"
    with p.coordinator(site) as coordinator:
        bad = coordinator.post(f"{url}/override", json={"supporter": chosen, "reason": "because I said so"})
        assert bad.status_code == 422
        # the hard rules hold for an override too; an evaluator is refused without saying so
        preceptor = coordinator.post(
            f"{url}/override", json={"supporter": ref(site, "mgrs"), "reason": "availability"}
        )
        assert preceptor.status_code == 409 and "conflict of interest" in preceptor.json()["message"]
        assert "evaluat" not in preceptor.json()["message"]
        junior = coordinator.post(
            f"{url}/override", json={"supporter": ref(site, "stud"), "reason": "availability"}
        )
        assert junior.status_code == 409 and "junior" in junior.json()["message"]
        done = coordinator.post(f"{url}/override", json={"supporter": chosen, "reason": "worker_request"})
        assert done.status_code == 201, done.text
        audit = coordinator.get(f"{url}/overrides").json()
    assert len(audit) == 1
    assert (audit[0]["supporter"], audit[0]["reason"], audit[0]["decided_by_staff_ref"]) == (
        chosen,
        "worker_request",
        site.coordinator,
    )
    assert audit[0]["replaces"][0] == first["recipient"]
    overridden = wait_for(
        lambda: next(
            (e["payload"] for e in pages_sent(p, referral_id) if e["payload"]["recipient"] == chosen), None
        ),
        what="oncall to page the chosen supporter",
    )
    assert overridden["step"] > first["step"]
    statuses = dict(p.sql("SELECT recipient, status FROM oncall.page WHERE referral_id = %s", referral_id))
    assert statuses[first["recipient"]] == "cancelled"
    acknowledge(p, first, expect=409)  # the earlier page can no longer be taken
    acknowledge(p, overridden)
    wait_for(
        lambda: (
            p.sql("SELECT supporters FROM intake.referral WHERE referral_id = %s", referral_id)
            == [([chosen],)]
        ),
        what="intake to assign the chosen supporter",
    )
    assert intake_events(p, "intake.referral.submitted.v1", referral_id)


def test_reassigning_a_taken_case_revokes_the_earlier_supporter_s_access(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    first = wait_for_page(p, referral_id, 0)
    acknowledge(p, first)
    contact = f"{p.url('intake')}/referrals/{referral_id}/contact"
    with p.supporter(first["recipient"]) as earlier:
        wait_for(lambda: earlier.get(contact).status_code == 200, what="the first supporter's access")
    chosen = ref(site, "sup3")
    with p.coordinator(site) as coordinator:
        done = coordinator.post(
            f"{p.url('matching')}/proposals/{referral_id}/override",
            json={"supporter": chosen, "reason": "continuity"},
        )
    assert done.status_code == 201, done.text
    page = wait_for(
        lambda: next(
            (e["payload"] for e in pages_sent(p, referral_id) if e["payload"]["recipient"] == chosen), None
        ),
        what="oncall to page the chosen supporter",
    )
    with p.supporter(first["recipient"]) as earlier:
        wait_for(lambda: earlier.get(contact).status_code != 200, what="the earlier supporter to lose access")
    acknowledge(p, page)
    with p.supporter(chosen) as now_holding:
        wait_for(lambda: now_holding.get(contact).status_code == 200, what="the chosen supporter's access")


def test_oncall_passes_over_a_supporter_who_paused_since_the_proposal(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn2")))
    decided = proposal(p, referral_id)
    primary, backup = decided["candidates"][0]["supporter"], decided["candidates"][1]["supporter"]
    first = wait_for_page(p, referral_id, 0)
    assert first["recipient"] == primary
    set_supporter(p, backup, paused=True)  # steps away after the proposal was made
    with p.supporter(primary) as supporter:
        assert supporter.post(f"{p.url('oncall')}/pages/{first['page_id']}/decline").status_code == 200
    after = wait_for(
        lambda: (found := pages_sent(p, referral_id)) and len(found) >= 2 and found[1]["payload"],
        what="the page after the decline",
    )
    assert (after["recipient"], after["recipient_role"]) == (site.coordinator, "coordinator")
    assert backup not in {e["payload"]["recipient"] for e in pages_sent(p, referral_id)}


def test_the_directory_imports_from_csv_and_reports_each_rejected_row(running_platform, tmp_path: Path):
    p = running_platform
    tag = uuid.uuid4().hex[:5]
    people = tmp_path / "people.csv"
    people.write_text(
        "staff_ref,site_id,profession,grade,seniority,years_experience,licence_level,languages,reports_to,unit\n"
        f"st-{tag}boss,t-{tag},medicine,attending,,20,4,en;fr,,ed\n"
        f"st-{tag}cn,t-{tag},nursing,wizard,,9,2,en,,ed\n"  # line 3: unknown grade
        f"st-{tag}rn,t-{tag},nursing,registered_nurse,,3,2,en,st-{tag}boss,ed\n"
        f"st-{tag}rn,t-{tag},nursing,charge_nurse,,4,2,en fr,st-{tag}boss,ed\n"  # line 5 replaces line 4
        f"nobody,t-{tag},nursing,,3,1,2,en,,ed\n"  # line 6: not a staff reference
        f"st-{tag}ph,t-{tag}-typo,nursing,,3,1,2,en,,ed\n",  # line 7: a site nobody declared
    )
    token = p.issuer.token("importer", ["authority_admin"])
    with p.admin() as admin:
        admin.put(f"{p.url('matching')}/directory/sites/t-{tag}", json={}).raise_for_status()
    report = import_directory(people, "people", matching_url=p.url("matching"), token=token, batch_size=2)
    assert report.rows == 6 and report.imported == 2
    assert [line for line, _ in report.rejected] == [3, 4, 6, 7]
    problems = dict(report.rejected)
    assert problems[3].startswith("unknown grade 'wizard'")
    assert "line 5" in problems[4]
    assert problems[6].startswith("staff_ref: ")
    assert problems[7] == f"site_id: t-{tag}-typo is not a site of this authority"
    stored = p.sql(
        "SELECT staff_ref, seniority, languages FROM matching.person WHERE staff_ref LIKE %s ORDER BY 1",
        f"st-{tag}%",
    )
    assert stored == [(f"st-{tag}boss", 5, ["en", "fr"]), (f"st-{tag}rn", 4, ["en", "fr"])]

    # the command line: progress, the report, and an exit code scripts can check
    roster = tmp_path / "supporters.csv"
    roster.write_text(
        "staff_ref,serves,mental_health_professional,paused,dual_relationships\n"
        f"st-{tag}rn,region,false,true,st-{tag}boss\n"
        f"st-{tag}boss,everywhere,false,false,\n"
    )
    result = CliRunner().invoke(
        app,
        ["directory", "import", "supporters", str(roster), "--matching-url", p.url("matching")],
        env={"PSS_TOKEN": token},
    )
    assert result.exit_code == 2, result.output
    assert "1 imported, 1 rejected, of 2 rows" in result.output
    assert "line 3: serves" in result.output
    assert p.sql("SELECT serves, paused FROM matching.supporter WHERE staff_ref = %s", f"st-{tag}rn") == [
        ("region", True)
    ]


def test_the_directory_imports_from_a_fhir_bundle_with_its_sites_and_reports_each_entry(
    running_platform, tmp_path: Path
):
    """The sample bundle of docs/examples, its sites and people made unique to this test,
    through `pss directory import-fhir --declare-sites` into the running matching."""
    p = running_platform
    tag = uuid.uuid4().hex[:5]
    sample = (Path(__file__).parents[2] / "docs" / "examples" / "fhir-directory.json").read_text()
    unique = {"riverside": f"t-{tag}river", "east-clinic": f"t-{tag}east", "north": f"r-{tag}"}
    data = json.loads(sample.replace("st-fhir", f"st-{tag}f"))
    for entry in data["entry"]:
        for identifier in entry["resource"].get("identifier", []):
            identifier["value"] = unique.get(identifier["value"], identifier["value"])
    text = json.dumps(data)
    bundle = tmp_path / "directory.json"
    bundle.write_text(text)
    token = p.issuer.token("importer", ["authority_admin"])
    result = CliRunner().invoke(
        app,
        ["directory", "import-fhir", str(bundle), "--declare-sites", "--matching-url", p.url("matching")],
        env={"PSS_TOKEN": token},
    )
    assert result.exit_code == 2, result.output  # some entries are refused, and said so
    assert "4 imported, 5 rejected, of 18 entries" in result.output
    assert "entry 13: not valid FHIR R4: birthDate" in result.output
    assert p.sql(
        "SELECT site_id, region FROM matching.site WHERE site_id LIKE %s ORDER BY 1", f"t-{tag}%"
    ) == [(f"t-{tag}east", f"r-{tag}"), (f"t-{tag}river", f"r-{tag}")]
    stored = p.sql(
        "SELECT staff_ref, site_id, profession, seniority, languages, reports_to FROM matching.person"
        " WHERE staff_ref LIKE %s ORDER BY 1",
        f"st-{tag}f%",
    )
    assert stored[0] == (f"st-{tag}f01", f"t-{tag}river", "nursing", 3, ["en", "fr"], f"st-{tag}f02")
    assert [(r[0], r[3]) for r in stored[1:]] == [
        (f"st-{tag}f02", 5),
        (f"st-{tag}f03", 5),
        (f"st-{tag}f04", 3),
    ]
