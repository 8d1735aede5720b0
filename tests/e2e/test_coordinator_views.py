"""What the coordinator's front-end reads from oncall and matching, through their APIs:
the site's episodes with their clocks, and the site's supporters as matching sees them."""

from __future__ import annotations

from datetime import datetime, timedelta

from pss_testkit.testing import TEST_ACK_TIMEOUT_SECONDS, wait_for

from tests.e2e.helpers import acknowledge, ref, self_referral, submit, wait_for_page


def _episode(p, site, referral_id):
    with p.coordinator(site) as coordinator:
        answer = coordinator.get(f"{p.url('oncall')}/sites/{site.site_id}/episodes")
    assert answer.status_code == 200, answer.text
    return next((e for e in answer.json() if e["referral_id"] == str(referral_id)), None)


def test_the_sites_episodes_show_who_is_paged_escalations_and_each_clock(running_platform, site):
    p = running_platform
    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    wait_for_page(p, referral_id, 0)
    episode = _episode(p, site, referral_id)
    assert episode is not None
    assert (episode["status"], episode["paging_role"], episode["escalated"], episode["unmatched"]) == (
        "paging",
        "supporter",
        False,
        False,
    )
    # who is paged, and since when: the queue says "paging Amira K. since 03:12"
    first = wait_for_page(p, referral_id, 0)
    assert episode["paging"] == first["recipient"]
    since = datetime.fromisoformat(episode["paging_since"])
    assert since >= datetime.fromisoformat(episode["started_at"])
    assert since < datetime.fromisoformat(first["acknowledge_by"])
    assert episode["failed_deliveries"] == 0
    started = datetime.fromisoformat(episode["started_at"])
    callback, meeting = episode["clocks"]["callback"], episode["clocks"]["meeting"]
    assert callback["state"] == meeting["state"] == "running"
    assert datetime.fromisoformat(callback["due_at"]) - started == timedelta(minutes=30)
    assert datetime.fromisoformat(meeting["due_at"]) - started == timedelta(hours=12)

    # the primary lets the page lapse: the episode is escalated, the backup is paged
    second = wait_for_page(p, referral_id, 1, timeout=TEST_ACK_TIMEOUT_SECONDS * 6)
    assert wait_for(lambda: (_episode(p, site, referral_id) or {}).get("escalated"), what="escalated")
    acknowledge(p, second)
    # the supporter calls back in time: the callback clock is kept, the meeting one runs
    with p.supporter(second["recipient"]) as supporter:
        case = f"{p.url('intake')}/referrals/{referral_id}"
        # intake learns who took the case from oncall's event: the case is theirs once it has
        wait_for(lambda: supporter.get(case).status_code == 200, what="intake to assign the case")
        answer = supporter.post(f"{case}/contacted")
        assert answer.status_code == 200, answer.text
    kept = wait_for(
        lambda: (e := _episode(p, site, referral_id)) and e["clocks"]["callback"]["state"] == "kept" and e,
        what="the callback clock to be kept",
    )
    assert (kept["status"], kept["paging_role"], kept["paging"], kept["clocks"]["meeting"]["state"]) == (
        "acknowledged",
        None,
        None,
        "running",
    )

    # another site's coordinator learns nothing, not even that the site has episodes
    with p.coordinator(site) as coordinator:
        assert coordinator.get(f"{p.url('oncall')}/sites/not-{site.site_id}/episodes").status_code == 404


def test_the_sites_supporters_show_pauses_and_deployments_but_never_dual_relationships(
    running_platform, site
):
    p = running_platform

    def supporters():
        with p.coordinator(site) as coordinator:
            answer = coordinator.get(f"{p.url('matching')}/sites/{site.site_id}/supporters")
        assert answer.status_code == 200, answer.text
        return {s["staff_ref"]: s for s in answer.json()["supporters"]}

    before = supporters()
    assert set(before) == {ref(site, n) for n in ("sup1", "sup2", "sup3", "mgrs", "stud", "psy")}
    primary = before[site.primary]
    assert (primary["eligible"], primary["paused"], primary["deployments"]) == (True, False, 0)
    assert all("dual_relationships" not in s for s in before.values())
    # coordinators see supporters by their work name, as the directory gives it
    assert primary["display_name"] == "Amira K."

    referral_id = submit(p, self_referral(site, ref(site, "rn1")))
    acknowledge(p, wait_for_page(p, referral_id, 0))
    deployed = wait_for(
        lambda: supporters()[site.primary]["deployments"] == 1 and supporters()[site.primary],
        what="matching to count the deployment",
    )
    assert deployed["last_deployed_at"] is not None

    with p.supporter(site.backup) as supporter:
        assert (
            supporter.put(f"{p.url('oncall')}/me/availability", json={"available": False}).status_code == 200
        )
    wait_for(lambda: supporters()[site.backup]["paused"], what="matching to learn of the pause")
    with p.supporter(site.backup) as supporter:
        assert (
            supporter.put(f"{p.url('oncall')}/me/availability", json={"available": True}).status_code == 200
        )
