"""Fault drills: while referrals keep arriving, each service is SIGKILLed and restarted in
turn, then the Kafka broker is SIGKILLed and restarted, then PostgreSQL crashes (immediate
shutdown) and restarts. Afterwards a history checker reads what really happened, on Kafka
and in each service's database, referral by referral: none lost, none paged twice, every
due escalation fired once, every referral counted once.

Run with ``make drills`` (a few minutes; not part of ``make test``).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from pss_cli.provision import SERVICES
from pss_testkit.load import load_site, seed_sites
from pss_testkit.testing import RunningPlatform
from servicekit.auth import Role

from .history import History, Load, in_causal_order, settle_and_check

SITES = 12
PAUSE = 6.0  # load between faults, so every fault meets referrals at every stage


def kill_and_restart_service(p: RunningPlatform, name: str) -> None:
    service = p.platform.services[name]
    service.kill()
    time.sleep(2)  # referrals keep arriving while it is down
    service.start()
    service.wait_ready(timeout=90)


def kill_and_restart_broker(p: RunningPlatform) -> None:
    broker = p.platform.infrastructure.kafka
    assert broker is not None and broker.process is not None
    os.killpg(broker.process.pid, signal.SIGKILL)  # no controlled shutdown
    broker.process.wait()
    time.sleep(3)
    broker.start()


def crash_and_restart_database(p: RunningPlatform) -> None:
    server = p.platform.infrastructure.postgres
    assert server is not None
    server.stop(mode="immediate")  # no checkpoint: recovery replays the write-ahead log
    time.sleep(3)
    server.start()


@pytest.mark.timeout(900)
def test_under_load_every_fault_loses_nothing_and_duplicates_no_effect(drill_platform):
    p = drill_platform
    sites = [load_site(n) for n in range(SITES)]
    token = p.issuer.token("drill-admin", [Role.AUTHORITY_ADMIN])
    seed_sites({name: p.url(name) for name in p.platform.services}, token, sites, p.sql)

    faults: list[str] = []
    with Load(p, sites) as load:
        time.sleep(PAUSE)
        for name in SERVICES:
            kill_and_restart_service(p, name)
            faults.append(f"SIGKILL {name}")
            time.sleep(PAUSE)
        kill_and_restart_broker(p)
        faults.append("SIGKILL the Kafka broker")
        time.sleep(PAUSE)
        crash_and_restart_database(p)
        faults.append("crash PostgreSQL")
        time.sleep(PAUSE)
    settle_and_check(p, load, faults)


def test_the_checker_finds_a_page_sent_twice_and_a_lost_referral():
    """The checker itself: a history with a duplicate page and a lost referral is refused."""

    @dataclass
    class A:
        referral_id: uuid.UUID
        site_id: str = "load-000"

    good, twice, lost = A(uuid.uuid4()), A(uuid.uuid4()), A(uuid.uuid4())

    def chain(r: uuid.UUID) -> dict[str, Any]:
        return {
            "sent": {(r, 0): {"s0"}, (r, 1): {"s1"}},
            "escalated": {(r, 0): {"e0"}},
            "timers": {(r, 0): [("fired", None)], (r, 1): [("fired", None)]},
        }

    parts = [chain(good.referral_id), chain(twice.referral_id)]
    sent = {k: v for part in parts for k, v in part["sent"].items()}
    sent[(twice.referral_id, 0)] = {"s0", "s0-again"}
    history = History(
        accepted=[good, twice, lost],
        cases={good.referral_id: 1, twice.referral_id: 1, lost.referral_id: 1},
        case_keys=Counter(),
        submitted={a.referral_id: {"x"} for a in (good, twice, lost)},
        decided={a.referral_id: {"x"} for a in (good, twice, lost)},
        sent=sent,
        escalated={k: v for part in parts for k, v in part["escalated"].items()},
        exhausted={good.referral_id: {"x"}, twice.referral_id: {"x"}},
        page_rows=Counter({k: 1 for k in sent}),
        timers={k: v for part in parts for k, v in part["timers"].items()},
        overdue_timers=0,
        episodes={
            good.referral_id: "exhausted",
            twice.referral_id: "exhausted",
            lost.referral_id: "exhausted",
        },
        counted=3,
        order={
            good.referral_id: [("sent", 0), ("escalated", 0), ("sent", 1), ("exhausted", -1)],
            # step 1's page reached the partition before step 0's: replicas publishing out of order
            twice.referral_id: [("sent", 1), ("sent", 0), ("escalated", 0), ("exhausted", -1)],
        },
    )
    problems = history.problems()
    assert not [m for m in problems if str(good.referral_id) in m]
    assert f"{twice.referral_id}: step 0 paged 2 times (distinct events)" in problems
    assert f"{lost.referral_id}: never paged (steps [])" in problems
    assert any(m.startswith(f"{twice.referral_id}: paging events out of order") for m in problems)


@pytest.mark.parametrize(
    "events",
    [
        [("escalated", 0), ("sent", 0)],
        [("sent", 0), ("exhausted", -1), ("sent", 1)],
        [("sent", 0), ("sent", 2)],
    ],
)
def test_the_order_check_refuses_an_effect_before_its_cause(events):
    assert not in_causal_order(events)
    assert in_causal_order([("sent", 0), ("escalated", 0), ("sent", 1), ("escalated", 1), ("sent", 2)])
