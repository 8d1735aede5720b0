"""Fault drills: while referrals keep arriving, each service is SIGKILLed and restarted in
turn, then the Kafka broker is SIGKILLed and restarted, then PostgreSQL crashes (immediate
shutdown) and restarts. Afterwards a history checker reads what really happened, on Kafka
and in each service's database, referral by referral: none lost, none paged twice, every
due escalation fired once, every referral counted once.

Run with ``make drills`` (a few minutes; not part of ``make test``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from contracts import topics
from pss_cli.load import Submitter, load_site, referral_body, seed_sites
from pss_cli.provision import SERVICES
from pss_cli.testing import RunningPlatform, wait_for
from servicekit.auth import Role

SITES = 12
PER_SECOND = 2.0
PAUSE = 6.0  # load between faults, so every fault meets referrals at every stage


class Load:
    """Self-referrals at a steady rate, from a thread of its own, until stopped. A referral
    intake could not answer is retried with the same idempotency key."""

    def __init__(self, p: RunningPlatform, sites: list[Any]) -> None:
        self.submitter = Submitter(p.url("intake"), concurrency=16, give_up_after=240)
        self.sites = sites
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _bodies(self) -> Iterator[dict[str, Any]]:
        n = 0
        while True:
            yield referral_body(self.sites[n % len(self.sites)], n)
            n += 1

    def _run(self) -> None:
        try:
            asyncio.run(self.submitter.steady(self._bodies(), PER_SECOND, until=self.stopped.is_set))
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=300)


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
    assert load.error is None, f"the load stopped: {load.error!r}"
    accepted = load.submitter.accepted
    assert len(accepted) >= 100, f"too little load to prove anything: {len(accepted)} referrals"
    assert load.submitter.retries > 0, "no fault reached intake's clients: the drill did not bite"

    waiting: list[str] = []
    try:
        history = wait_for(
            lambda: settled(p, accepted, waiting), timeout=300, interval=2, what="the paging to settle"
        )
    except AssertionError:
        # say what never settled, and what the history shows so far
        counted = p.sql("SELECT coalesce(sum(value), 0) FROM metrics.aggregate WHERE measure = 'referrals'")
        problems = read_history(p, accepted, int(counted[0][0])).problems()
        raise AssertionError(f"not settled: {waiting[-1]}\n" + "\n".join(problems[:40])) from None
    problems = history.problems()
    pages = sum(len(ids) for ids in history.sent.values())
    print(
        f"{len(accepted)} referrals accepted ({load.submitter.retries} client retries), {pages} pages,"
        f" through: {', '.join(faults)}"
    )
    assert not problems, f"after {', '.join(faults)}:\n" + "\n".join(problems[:40])


# --- the history checker -----------------------------------------------------------------


@dataclass
class History:
    """What happened to each referral, from Kafka and the services' databases."""

    accepted: list[Any]
    cases: dict[uuid.UUID, int]  # intake's rows per referral
    case_keys: Counter[str]  # intake's rows per idempotency key
    submitted: dict[uuid.UUID, set[str]]  # referral -> distinct event ids
    decided: dict[uuid.UUID, set[str]]  # proposed or unmatched
    sent: dict[tuple[uuid.UUID, int], set[str]]  # (referral, step) -> PageSent ids
    escalated: dict[tuple[uuid.UUID, int], set[str]]  # (referral, from step) -> ids
    exhausted: dict[uuid.UUID, set[str]]
    page_rows: Counter[tuple[uuid.UUID, int]]
    timers: dict[tuple[uuid.UUID, int], list[tuple[Any, Any]]]  # acknowledge timers: (fired, cancelled)
    overdue_timers: int
    episodes: dict[uuid.UUID, str]
    counted: int  # metrics' referral count over the drill's sites

    def problems(self) -> list[str]:
        found: list[str] = []
        for a in self.accepted:
            r = a.referral_id
            if self.cases.get(r) != 1:
                found.append(f"{r}: {self.cases.get(r, 0)} cases in intake")
            if len(self.submitted.get(r, ())) != 1:
                found.append(f"{r}: {len(self.submitted.get(r, ()))} distinct ReferralSubmitted events")
            if len(self.decided.get(r, ())) != 1:
                found.append(f"{r}: {len(self.decided.get(r, ()))} distinct matching decisions")
            steps = sorted(step for (ref, step) in self.sent if ref == r)
            if not steps or steps[0] != 0:
                found.append(f"{r}: never paged (steps {steps})")
            for step in steps:
                if len(self.sent[(r, step)]) != 1:
                    found.append(
                        f"{r}: step {step} paged {len(self.sent[(r, step)])} times (distinct events)"
                    )
                if self.page_rows[(r, step)] != 1:
                    found.append(f"{r}: step {step} has {self.page_rows[(r, step)]} page rows")
                fired = [t for t in self.timers.get((r, step), []) if t[0] is not None]
                if len(fired) > 1:
                    found.append(f"{r}: step {step}'s acknowledgement timer fired {len(fired)} times")
            # nobody acknowledges in the drill: every page but the last escalated, once
            for step in steps[:-1]:
                if len(self.escalated.get((r, step), ())) != 1:
                    found.append(
                        f"{r}: {len(self.escalated.get((r, step), ()))} escalations from step {step}"
                    )
                if len([t for t in self.timers.get((r, step), []) if t[0] is not None]) != 1:
                    found.append(f"{r}: step {step}'s acknowledgement timer did not fire once")
            if steps and (r, steps[-1]) in self.escalated:
                found.append(f"{r}: an escalation from its last step {steps[-1]} paged nobody")
            if self.episodes.get(r) != "exhausted" or len(self.exhausted.get(r, ())) != 1:
                found.append(
                    f"{r}: episode {self.episodes.get(r)}, {len(self.exhausted.get(r, ()))} exhausted events"
                )
        duplicate_keys = [k for k, n in self.case_keys.items() if n > 1]
        if duplicate_keys:
            found.append(f"{len(duplicate_keys)} idempotency keys made more than one case")
        if len(self.cases) != len(self.accepted):
            found.append(
                f"intake has {len(self.cases)} cases of the drill's sites, {len(self.accepted)} accepted"
            )
        if self.overdue_timers:
            found.append(f"{self.overdue_timers} acknowledgement timers overdue and never fired")
        if self.counted != len(self.accepted):
            found.append(f"metrics counted {self.counted} referrals, {len(self.accepted)} were accepted")
        return found


def settled(p: RunningPlatform, accepted: list[Any], waiting: list[str]) -> History | None:
    """The history, once every episode has run its whole chain and metrics has caught up."""
    referrals = [a.referral_id for a in accepted]
    open_episodes = p.sql(
        "SELECT count(*) FROM oncall.episode WHERE referral_id = ANY(%s) AND status <> 'exhausted'", referrals
    )[0][0]
    known = p.sql("SELECT count(*) FROM oncall.episode WHERE referral_id = ANY(%s)", referrals)[0][0]
    sites = sorted({a.site_id for a in accepted})
    counted = p.sql(
        "SELECT coalesce(sum(value), 0) FROM metrics.aggregate"
        " WHERE measure = 'referrals' AND site_id = ANY(%s)",
        sites,
    )[0][0]
    if open_episodes or known < len(referrals) or counted < len(referrals):
        waiting.append(
            f"{len(referrals)} referrals: {known} episodes in oncall, {open_episodes} still paging,"
            f" {counted} counted by metrics"
        )
        return None
    return read_history(p, accepted, int(counted))


def read_history(p: RunningPlatform, accepted: list[Any], counted: int) -> History:
    referrals = [a.referral_id for a in accepted]
    sites = sorted({a.site_id for a in accepted})
    submitted: dict[uuid.UUID, set[str]] = defaultdict(set)
    decided: dict[uuid.UUID, set[str]] = defaultdict(set)
    sent: dict[tuple[uuid.UUID, int], set[str]] = defaultdict(set)
    escalated: dict[tuple[uuid.UUID, int], set[str]] = defaultdict(set)
    exhausted: dict[uuid.UUID, set[str]] = defaultdict(set)
    for topic in (topics.REFERRALS, topics.PROPOSALS, topics.PAGES):
        for record in p.kafka.read(topic):
            envelope = record.json()
            payload, type_ = envelope["payload"], envelope["type"]
            referral = uuid.UUID(payload["referral_id"]) if "referral_id" in payload else None
            if referral is None:
                continue
            if type_ == "intake.referral.submitted.v1":
                submitted[referral].add(envelope["id"])
            elif type_ in ("matching.match.proposed.v1", "matching.match.unmatched.v1"):
                decided[referral].add(envelope["id"])
            elif type_ == "oncall.page.sent.v1":
                sent[(referral, payload["step"])].add(envelope["id"])
            elif type_ == "oncall.page.escalated.v1":
                escalated[(referral, payload["from_step"])].add(envelope["id"])
            elif type_ == "oncall.page.exhausted.v1":
                exhausted[referral].add(envelope["id"])
    timers: dict[tuple[uuid.UUID, int], list[tuple[Any, Any]]] = defaultdict(list)
    for referral, step, fired, cancelled in p.sql(
        "SELECT referral_id, step, fired_at, cancelled_at FROM oncall.timer"
        " WHERE kind = 'acknowledge' AND referral_id = ANY(%s)",
        referrals,
    ):
        timers[(referral, step)].append((fired, cancelled))
    overdue = p.sql(
        "SELECT count(*) FROM oncall.timer WHERE kind = 'acknowledge' AND fired_at IS NULL"
        " AND cancelled_at IS NULL AND due_at < now() - interval '5 seconds'"
    )[0][0]
    return History(
        accepted=accepted,
        cases=dict(
            Counter(
                r for (r,) in p.sql("SELECT referral_id FROM intake.referral WHERE site_id = ANY(%s)", sites)
            )
        ),
        case_keys=Counter(
            k
            for (k,) in p.sql(
                "SELECT idempotency_key FROM intake.referral WHERE site_id = ANY(%s)"
                " AND idempotency_key IS NOT NULL",
                sites,
            )
        ),
        submitted=submitted,
        decided=decided,
        sent=sent,
        escalated=escalated,
        exhausted=exhausted,
        page_rows=Counter(
            (r, s)
            for r, s in p.sql(
                "SELECT referral_id, step FROM oncall.page WHERE referral_id = ANY(%s)", referrals
            )
        ),
        timers=timers,
        overdue_timers=overdue,
        episodes=dict(
            p.sql("SELECT referral_id, status FROM oncall.episode WHERE referral_id = ANY(%s)", referrals)  # type: ignore[arg-type]
        ),
        counted=counted,
    )


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
    )
    problems = history.problems()
    assert not [m for m in problems if str(good.referral_id) in m]
    assert f"{twice.referral_id}: step 0 paged 2 times (distinct events)" in problems
    assert f"{lost.referral_id}: never paged (steps [])" in problems
