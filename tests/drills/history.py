"""What the drills check afterwards: the load they put on, and a history checker that reads
what really happened, on Kafka and in each service's database, referral by referral."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts import topics
from pss_testkit.load import Submitter, referral_body
from pss_testkit.testing import RunningPlatform, wait_for

PER_SECOND = 2.0


class Load:
    """Self-referrals at a steady rate, from a thread of its own, until stopped. A referral
    intake could not answer is retried with the same idempotency key."""

    def __init__(self, p: RunningPlatform, sites: list[Any]) -> None:
        # every replica of intake, tried in turn (a load balancer's round robin)
        others = tuple(s.url for n, s in p.platform.services.items() if n.startswith("intake-"))
        self.submitter = Submitter(p.url("intake"), concurrency=16, give_up_after=240, other_intakes=others)
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
    # each referral's paging events as its site's partition holds them (first copy of each)
    order: dict[uuid.UUID, list[tuple[str, int]]] = field(default_factory=dict)

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
            if r in self.order and not in_causal_order(self.order[r]):
                found.append(f"{r}: paging events out of order on the site's partition: {self.order[r]}")
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


def in_causal_order(events: list[tuple[str, int]]) -> bool:
    """A step is paged before it escalates, the next step after it, and the chain exhausted
    last: ("sent", 0), ("escalated", 0), ("sent", 1) ... ("exhausted", n)."""
    seen: list[tuple[str, int]] = []
    for kind, step in events:
        if seen and seen[-1][0] == "exhausted":
            return False
        if kind == "escalated" and ("sent", step) not in seen:
            return False
        if kind == "sent" and step > 0 and ("sent", step - 1) not in seen:
            return False
        seen.append((kind, step))
    return True


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
    order: dict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)
    first_copies: set[str] = set()
    for topic in (topics.SUBMISSIONS, topics.PROPOSALS, topics.PAGES):
        for record in sorted(p.kafka.read(topic), key=lambda r: (r.partition, r.offset)):
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
            if topic == topics.PAGES and envelope["id"] not in first_copies:
                first_copies.add(envelope["id"])
                kind = type_.split(".")[2]  # sent, escalated, exhausted, acknowledged ...
                step = payload.get("step", payload.get("from_step", -1))
                if kind in ("sent", "escalated", "exhausted"):
                    order[referral].append((kind, step))
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
        order=order,
    )


def settle_and_check(p: RunningPlatform, load: Load, faults: list[str]) -> History:
    """Wait until every accepted referral has run its whole chain, then check its history."""
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
    return history
