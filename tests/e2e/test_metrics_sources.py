"""The facts metrics needs beyond the referral itself come from the services that own them,
as coarse fields on their events (issue 6): the worker's profession group from matching,
a supporter's deployment rank in the month from oncall, an encounter's length from intake.
Real Kafka and PostgreSQL; the counts are then read from metrics' own table."""

from __future__ import annotations

import time

from contracts import topics
from pss_testkit.testing import wait_for

from .helpers import acknowledge, distinct, proposal, ref, self_referral, submit, wait_for_page


def _acknowledgement(p, referral_id):  # type: ignore[no-untyped-def]
    return wait_for(
        lambda: distinct(
            p.kafka.events(
                topics.ACKNOWLEDGEMENTS, type_="oncall.page.acknowledged.v1", referral_id=referral_id
            )
        ),
        what="the acknowledgement",
    )[0]["payload"]


def test_profession_group_deployment_rank_and_encounter_length_reach_metrics(running_platform, site):
    p = running_platform
    month = time.strftime("%Y-%m", time.gmtime())
    first = submit(p, self_referral(site, ref(site, "rn1")))
    # matching's first decision carries the worker's group, never the profession itself
    assert proposal(p, first)["worker_profession_group"] == "nursing"
    page = wait_for_page(p, first, step=0)
    acknowledge(p, page)
    assert _acknowledgement(p, first)["deployment_of_month"] == 1

    second = submit(p, self_referral(site, ref(site, "rn2")))
    assert proposal(p, second)["worker_profession_group"] == "nursing"
    again = wait_for_page(p, second, step=0)
    acknowledge(p, again)
    rank = _acknowledgement(p, second)["deployment_of_month"]
    assert rank == (2 if again["recipient"] == page["recipient"] else 1)

    url = f"{p.url('intake')}/referrals/{first}"
    with p.supporter(page["recipient"]) as supporter:
        wait_for(lambda: supporter.post(f"{url}/contacted").status_code == 200, what="intake to assign")
        refused = supporter.post(f"{url}/encounters", json={"duration_minutes": 0})
        assert refused.status_code == 422 and "duration_minutes" in refused.text
        assert supporter.post(f"{url}/encounters", json={"duration_minutes": 45}).status_code == 200
    met = wait_for(
        lambda: distinct(p.kafka.events(topics.REFERRALS, type_="intake.referral.met.v1", referral_id=first)),
        what="the encounter",
    )
    assert [e["payload"]["duration_minutes"] for e in met] == [45]  # the refused one left nothing

    def counted() -> dict[tuple[str, str], int]:
        rows = p.sql(
            "SELECT measure, dimension, value FROM metrics.aggregate WHERE site_id = %s AND period = %s"
            " AND measure = ANY(%s)",
            site.site_id,
            month,
            ["referrals_by_profession", "supporters_by_deployments", "volunteer_minutes", "timed_encounters"],
        )
        return {(m, d): v for m, d, v in rows if v}

    by_rank = (
        {("supporters_by_deployments", "2"): 1} if rank == 2 else {("supporters_by_deployments", "1"): 2}
    )
    wait_for(
        lambda: (
            counted()
            == {
                ("referrals_by_profession", "nursing"): 2,
                ("volunteer_minutes", "total"): 45,
                ("timed_encounters", "total"): 1,
            }
            | by_rank
        ),
        what="metrics to count the group, the deployments and the minutes",
    )
