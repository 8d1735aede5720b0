"""Load on a running platform, for the end-to-end benchmark and the fault drills: many sites
seeded at once, referrals submitted as a client would (with an idempotency key, retried
until intake accepts), and the primary's page watched where the paging gateway sees it, on
Kafka.

Times are ``time.perf_counter()`` of this process, so a referral's acceptance and its page
are measured on one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from contracts import topics
from pss_dev.seed import Site, sample_site, seed_site
from pss_testkit import http1
from servicekit.settings import KEEP_ALIVE_SECONDS

SQL = Callable[..., list[tuple[Any, ...]]]
PAGE_SENT = "oncall.page.sent.v1"


def load_site(n: int) -> Site:
    """The n-th generated hospital; its staff references are ``st-l<nnn>...``."""
    return sample_site(f"load-{n:03d}", f"Load hospital {n:03d}", f"l{n:03d}")


def seed_sites(
    urls: dict[str, str], admin_token: str, sites: Sequence[Site], sql: SQL, *, threads: int = 6
) -> None:
    """Seed ``sites`` through the APIs in parallel, then wait until matching has learnt,
    from events, every certified supporter's eligibility and every site's duty."""

    def one(site: Site) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {admin_token}"}, timeout=60) as client:
            seed_site(client, urls, site)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, sites))
    supporters = [p.ref for s in sites for p in s.people if p.supporter and p.certified]
    site_ids = [s.site_id for s in sites]
    deadline = time.monotonic() + 120 + len(sites)
    while time.monotonic() < deadline:
        eligible = sql(
            "SELECT count(*) FROM matching.eligibility WHERE staff_ref = ANY(%s) AND eligible", supporters
        )[0][0]
        duty = sql("SELECT count(DISTINCT site_id) FROM matching.duty WHERE site_id = ANY(%s)", site_ids)[0][
            0
        ]
        if eligible == len(supporters) and duty == len(site_ids):
            return
        time.sleep(0.5)
    raise TimeoutError("matching did not learn the seeded sites' eligibility and duty in time")


def referral_body(site: Site, n: int) -> dict[str, Any]:
    """A worker's self-referral by phone (no mail to send), alternating two workers."""
    worker = next(p.ref for p in site.people if p.ref.endswith("rn1" if n % 2 == 0 else "rn2"))
    return {
        "site_id": site.site_id,
        "reason": {"category": "critical_incident", "kind": "unexpected_patient_death"},
        "urgency": "within_hours",
        "modality": "phone",
        "worker": {"staff_ref": worker, "name": "Load Worker", "phone": "+1 555 0100"},
    }


@dataclass
class Accepted:
    referral_id: uuid.UUID
    site_id: str
    idempotency_key: str
    sent_at: float
    accepted_at: float
    attempts: int


@dataclass
class Submitter:
    """Posts self-referrals to intake. Each carries an idempotency key, and a referral is
    retried with the same key until intake answers 202: a client that lost the answer
    (intake killed mid-request) never creates a second case."""

    intake_url: str
    concurrency: int = 32
    # more replicas of intake, tried in turn with the first (as a load balancer would)
    other_intakes: tuple[str, ...] = ()
    give_up_after: float = 180.0
    accepted: list[Accepted] = field(default_factory=list)
    retries: int = 0
    # why each retry was needed: a status code, or the transport error's name
    retried_for: Counter[str] = field(default_factory=Counter)

    async def submit(self, clients: Clients, body: dict[str, Any]) -> Accepted:
        key = str(uuid.uuid4())
        sent = time.perf_counter()
        deadline = time.monotonic() + self.give_up_after
        attempts = 0
        while True:
            attempts += 1
            try:
                intakes = (self.intake_url, *self.other_intakes)
                intake = intakes[attempts % len(intakes)]
                async with clients.one() as client:
                    response = await client.post(
                        f"{intake}/referrals", json=body, headers={"Idempotency-Key": key}
                    )
                if response.status_code == 202:
                    done = Accepted(
                        uuid.UUID(response.json()["referral_id"]),
                        body["site_id"],
                        key,
                        sent,
                        time.perf_counter(),
                        attempts,
                    )
                    self.accepted.append(done)
                    return done
                if response.status_code < 500:
                    raise RuntimeError(f"intake refused a referral: {response.status_code} {response.text}")
                self.retried_for[str(response.status_code)] += 1
            except http1.TransportError as exc:
                # intake is down or restarting: the same key again (counted by what broke)
                self.retried_for[type(exc.__cause__ or exc).__name__] += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"intake did not accept a referral within {self.give_up_after:.0f}s")
            self.retries += 1
            await asyncio.sleep(0.2)

    async def burst(self, bodies: Iterable[dict[str, Any]]) -> None:
        """All at once, ``concurrency`` requests in flight."""
        gate = asyncio.Semaphore(self.concurrency)
        async with Clients(self.concurrency) as clients:

            async def one(body: dict[str, Any]) -> None:
                async with gate:
                    await self.submit(clients, body)

            await asyncio.gather(*(one(b) for b in bodies))

    async def steady(
        self,
        bodies: Iterable[dict[str, Any]],
        per_second: float,
        *,
        until: Callable[[], bool] = lambda: False,
    ) -> None:
        """One every 1/per_second seconds, on schedule whatever intake's answer time, until
        the bodies run out or ``until()`` says stop; then waits for every answer."""
        async with Clients(self.concurrency) as clients:
            start = time.perf_counter()
            tasks = []
            for i, body in enumerate(bodies):
                if until():
                    break
                delay = start + i / per_second - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.submit(clients, body)))
            await asyncio.gather(*tasks)


class Clients:
    """One connection a request in flight, each carrying one request at a time: the load
    generator shares the platform's cores, so it is a plain HTTP/1.1 client
    (``pss_testkit.http1``) and not a general one. httpx cost it about 1.3 ms of CPU a request
    and an SSL context for each client it made: 5 ms a referral at 50/s and 19 to 25 at 5/s,
    taken from the cores the platform was measured on (bench/ISSUE25.md, eighteenth round)."""

    def __init__(self, concurrency: int) -> None:
        # an idle connection is let go before intake closes it, as the front-end's are: reused
        # just as intake closed it, a request got no answer (the bursts' ReadErrors)
        self._all = [
            http1.Connection(timeout=30, keep_alive=KEEP_ALIVE_SECONDS / 2) for _ in range(concurrency)
        ]
        self._free: asyncio.Queue[http1.Connection] = asyncio.Queue()
        for client in self._all:
            self._free.put_nowait(client)

    @contextlib.asynccontextmanager
    async def one(self) -> AsyncIterator[http1.Connection]:
        client = await self._free.get()
        try:
            yield client
        finally:
            self._free.put_nowait(client)

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.gather(*(client.aclose() for client in self._all))


@dataclass
class PageWatch:
    """Reads the pages topic from its end as it was when started: the first time each
    referral's step-0 page is seen."""

    bootstrap: str
    first_page: dict[uuid.UUID, float] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topics.PAGES])
        finally:
            await admin.close()
        partitions = [TopicPartition(topics.PAGES, p["partition"]) for p in described["partitions"]]
        if not partitions:
            raise RuntimeError(f"{topics.PAGES} has no partitions; is the broker's topic plan applied?")
        # aiokafka's own fetch wait (500 ms), as the floor's last reader and a paging gateway:
        # a fetch returns as soon as a page is there, so the wait bounds only an empty fetch.
        # At 50 ms the watch alone was 20 fetches a second, four requests a referral at 5/s
        # that the bench charged to the platform's broker and the floor's reader never made.
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        await self._consumer.start()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end now, so nothing sent after start() is missed
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            seen = time.perf_counter()
            for records in batch.values():
                for record in records:
                    envelope = json.loads(record.value or b"{}")
                    if envelope.get("type") != PAGE_SENT or envelope["payload"].get("step") != 0:
                        continue
                    referral = uuid.UUID(envelope["payload"]["referral_id"])
                    self.first_page.setdefault(referral, seen)

    async def wait_for(self, referrals: Iterable[uuid.UUID], within: float) -> float:
        """Until every referral's first page is seen; the time the last one was."""
        wanted = set(referrals)
        deadline = time.monotonic() + within
        while not wanted <= self.first_page.keys():
            if self._task is not None and self._task.done():
                self._task.result()  # the watch failed: say why
            if time.monotonic() > deadline:
                missing = len(wanted - self.first_page.keys())
                raise TimeoutError(f"{missing} of {len(wanted)} referrals not paged within {within:.0f}s")
            await asyncio.sleep(0.05)
        return max(self.first_page[r] for r in wanted)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()
