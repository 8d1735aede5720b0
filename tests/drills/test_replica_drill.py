"""The replica drill: two replicas of every service share the load, as an authority runs
them; while referrals keep arriving, one replica of each pair is SIGKILLed in turn and left
dead. The survivors take over its partitions, its outbox and its loops. The history checker
then finds nothing lost, duplicated or reordered on any site's partition.

Run with ``make drills`` (CI runs it after ``make test``).
"""

from __future__ import annotations

import time

import pytest
from pss_cli.provision import SERVICES
from pss_testkit.load import load_site, seed_sites
from servicekit.auth import Role

from .history import Load, settle_and_check

SITES = 12
PAUSE = 10.0  # load between kills, so each meets referrals at every stage (and 100 or more arrive)


@pytest.mark.timeout(900)
def test_two_replicas_of_each_service_one_killed_under_load_lose_and_reorder_nothing(replica_platform):
    p = replica_platform
    assert all(f"{name}-2" in p.platform.services for name in SERVICES)
    sites = [load_site(n) for n in range(SITES)]
    token = p.issuer.token("drill-admin", [Role.AUTHORITY_ADMIN])
    seed_sites({name: p.url(name) for name in SERVICES}, token, sites, p.sql)

    faults: list[str] = []
    with Load(p, sites) as load:
        time.sleep(PAUSE)
        for name in SERVICES:
            # the second replica of each pair dies mid-load and stays dead
            p.platform.services[f"{name}-2"].kill()
            faults.append(f"SIGKILL {name}-2")
            time.sleep(PAUSE)
    history = settle_and_check(p, load, faults)
    # the order check had every referral's chain to read
    assert len(history.order) == len(load.submitter.accepted)
