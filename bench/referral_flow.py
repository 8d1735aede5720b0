"""From a referral accepted by intake to the primary supporter paged, through every service,
on a real Kafka broker and PostgreSQL (issue 8).

Three figures, from one run on one broker:
- floor: raw aiokafka through the referral flow's three hops (referral -> proposal -> page),
  each hop a consumer that produces to the next topic and commits, with the envelope sizes
  the platform's own events had in this run, ``acks=all``, idempotence and the relay's
  ``linger_ms``, at the same steady rate. Latency is from the first send to the last topic's
  consumer;
- steady: the platform at a steady rate (50 referrals/s by default), from intake's 202 to
  the primary's ``PageSent`` seen on the pages topic (where the paging gateway reads it):
  median, p99, p99.9 and the ratios to the floor; its CPU per referral by process, and
  against the floor's own (the broker and the floor's hops, in the same run): the machine's
  speed moves from run to run, and with it every figure in milliseconds (the share of the
  CPU the host took, its steal, is printed too);
- burst: 10,000 referrals across 300 seeded sites submitted at once (64 in flight): the
  time until intake has accepted them all and until every one is paged.
By default oncall records each page in its process (no supporter has a route); with
``--deliver-by text`` every supporter has a phone and each page is texted through the
development SMS gateway in a process of its own (``bench/texting.py``), as a deployment does.
The load and the floor run on uvloop, as the services do. The services run with their
production settings (outbox, timers, tracing exported to a discarding OTLP receiver in its
own process). The machines are noisy: medians and ratios.
Run with ``make bench-flow``; figures go to ``bench/results/referral_flow.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import broker_threads
import httpx
import profiling
import psutil
import psycopg
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from contracts import topics
from pss_cli.provision import SERVICES, with_database
from pss_dev.local import free_port
from pss_dev.platform import Infrastructure, Platform
from pss_dev.seed import seed_courses
from pss_testkit.load import PageWatch, Submitter, load_site, referral_body, seed_sites
from servicekit.auth import DevTokenIssuer, Role
from servicekit.vault import PersonalDataVault
from settle import settle
from texting import TextGateway, route_pages_by_text

# an OTLP/HTTP receiver that answers 200 and keeps nothing: the services pay for tracing
# and metrics as in production, and the bench's own process is not disturbed by it. Given a
# folder, it keeps each export of spans there (--keep-spans), for bench/span_gaps.py.
OTLP_SINK = """
import itertools, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
kept = sys.argv[2] if len(sys.argv) > 2 else None
numbers = itertools.count()
class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if kept and self.path.endswith("/v1/traces"):
            with open(f"{kept}/{next(numbers):07d}.pb", "wb") as f:
                f.write(body)
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)

    return {
        "count": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "max_ms": round(ms[-1], 1),
    }


# --- where the CPU goes ----------------------------------------------------------------------

PLATFORM_SERVICES = (*SERVICES, "frontend")


def _process_group(process: psutil.Process) -> str | None:
    """Which part of the platform a process is: a service, the broker, the database, the
    load generator (this process), or none of them."""
    try:
        if process.pid == os.getpid():
            return "load generator"
        name, command = process.name(), " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    for service in PLATFORM_SERVICES:
        if f"-m {service} serve" in command:
            return service
    if name.startswith("postgres"):
        return "postgresql"
    if "java" in name and "kafka" in command.lower():
        return "kafka"
    return None


def cpu_seconds() -> dict[str, float]:
    """CPU time (user and system) used so far by each part of the platform. PostgreSQL's
    backends are counted while they live: the services keep their pooled connections, so a
    run's backends outlive it."""
    used: dict[str, float] = {}
    for process in psutil.process_iter():
        group = _process_group(process)
        if group is None:
            continue
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        used[group] = used.get(group, 0.0) + times.user + times.system
    return used


def cpu_per_referral(before: dict[str, float], after: dict[str, float], referrals: int) -> dict[str, float]:
    """Milliseconds of CPU per referral, by part, and their sum."""
    per = {
        group: round(1000 * (after.get(group, 0.0) - before.get(group, 0.0)) / referrals, 2)
        for group in sorted(set(before) | set(after))
    }
    per["total (without the load generator)"] = round(
        sum(v for k, v in per.items() if k != "load generator"), 2
    )
    return per


def machine_times() -> tuple[int, int]:
    """The machine's CPU time stolen by the hypervisor and its whole CPU time so far, in
    ticks (``/proc/stat``): a run the host slowed shows it here."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:9]]
    return ticks[7], sum(ticks)


def stolen_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    return round(100 * (after[0] - before[0]) / max(after[1] - before[1], 1), 1)


def cpu_per_second(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Milliseconds of CPU each second, by part, and their sum: what the platform costs at rest."""
    return {k: round(v / seconds, 2) for k, v in cpu_per_referral(before, after, 1).items()}


# --- the floor ---------------------------------------------------------------------------


def _producer(bootstrap: str) -> AIOKafkaProducer:
    # the outbox relay's producer settings (servicekit.outbox.kafka_producer)
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)


async def floor(bootstrap: str, sizes: list[int], count: int, per_second: float, warmup: int) -> list[float]:
    """``count`` messages at ``per_second`` through three hops; each message's latency."""
    run = uuid.uuid4().hex[:8]
    hop_topics = [f"bench.floor.{run}.{i}" for i in (1, 2, 3)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    partitions = 6  # the referral path's partitions in deploy/kafka/topics.yaml
    await admin.create_topics([NewTopic(t, partitions, 1) for t in hop_topics])
    await admin.close()

    def padded(message_id: str, size: int) -> bytes:
        head = json.dumps({"id": message_id, "pad": ""})
        return json.dumps({"id": message_id, "pad": "x" * max(0, size - len(head))}).encode()

    producer = _producer(bootstrap)
    await producer.start()
    arrived: dict[str, float] = {}

    async def hop(source: str, target: str, size: int) -> None:
        # one consumer in a group, committing after each message, as the services do
        consumer = AIOKafkaConsumer(
            source, bootstrap_servers=bootstrap, group_id=f"{source}-hop", enable_auto_commit=False
        )
        await consumer.start()
        try:
            async for record in consumer:
                message_id = json.loads(record.value or b"{}")["id"]
                await producer.send_and_wait(target, padded(message_id, size), key=record.key)
                await consumer.commit()
        finally:
            await consumer.stop()

    async def last() -> None:
        consumer = AIOKafkaConsumer(
            hop_topics[2], bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            async for record in consumer:
                arrived.setdefault(json.loads(record.value or b"{}")["id"], time.perf_counter())
        finally:
            await consumer.stop()

    workers = [
        asyncio.create_task(hop(hop_topics[0], hop_topics[1], sizes[1])),
        asyncio.create_task(hop(hop_topics[1], hop_topics[2], sizes[2])),
        asyncio.create_task(last()),
    ]
    await asyncio.sleep(3)  # the groups join before the first message
    sent: dict[str, float] = {}
    start = time.perf_counter()
    deliveries = []
    for i in range(count):
        delay = start + i / per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        message_id = f"{run}-{i}"
        sent[message_id] = time.perf_counter()
        key = f"load-{i % 300:03d}".encode()
        deliveries.append(await producer.send(hop_topics[0], padded(message_id, sizes[0]), key=key))
    await asyncio.gather(*deliveries)
    deadline = time.monotonic() + 60
    while len(arrived) < count and time.monotonic() < deadline:  # noqa: ASYNC110 (a plain poll)
        await asyncio.sleep(0.05)
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    await producer.stop()
    if len(arrived) < count:
        raise RuntimeError(f"the floor lost messages: {count - len(arrived)} of {count} never arrived")
    ordered = [f"{run}-{i}" for i in range(warmup, count)]
    return [arrived[m] - sent[m] for m in ordered]


async def median_envelope_bytes(bootstrap: str, topic: str, type_: str, sample: int = 200) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        sizes: list[int] = []
        while len(sizes) < sample:
            batch = await consumer.getmany(tp, timeout_ms=2000, max_records=500)
            if not batch:
                break
            for record in batch.get(tp, []):
                if json.loads(record.value or b"{}").get("type") == type_:
                    sizes.append(len(record.value or b""))
        if not sizes:
            raise RuntimeError(f"no {type_} on {topic} to size the floor's messages")
        return int(statistics.median(sizes))
    finally:
        await consumer.stop()


# --- the platform ------------------------------------------------------------------------


async def steady(
    intake: str, bootstrap: str, sites: list[Any], count: int, per_second: float
) -> tuple[list[float], float]:
    """Each referral's latency, in submission order, and the rate at which pages went out."""
    watch = PageWatch(bootstrap)
    await watch.start()
    submitter = Submitter(intake, concurrency=64)
    try:
        await submitter.steady([referral_body(sites[i % len(sites)], i) for i in range(count)], per_second)
        last_paged = await watch.wait_for((a.referral_id for a in submitter.accepted), within=1800)
    finally:
        await watch.stop()
    accepted = sorted(submitter.accepted, key=lambda a: a.sent_at)
    paged_rate = len(accepted) / (last_paged - accepted[0].sent_at)
    return [watch.first_page[a.referral_id] - a.accepted_at for a in accepted], paged_rate


async def burst(intake: str, bootstrap: str, sites: list[Any], count: int) -> dict[str, float]:
    watch = PageWatch(bootstrap)
    await watch.start()
    submitter = Submitter(intake, concurrency=64, give_up_after=600)
    try:
        started = time.perf_counter()
        await submitter.burst(referral_body(sites[i % len(sites)], i) for i in range(count))
        all_accepted = time.perf_counter()
        last_paged = await watch.wait_for((a.referral_id for a in submitter.accepted), within=1800)
    finally:
        await watch.stop()
    return {
        "referrals": count,
        "sites": len(sites),
        "accepted_seconds": round(all_accepted - started, 1),
        "all_paged_seconds": round(last_paged - started, 1),
        "accepted_per_second": round(count / (all_accepted - started), 1),
        "paged_per_second": round(count / (last_paged - started), 1),
        "intake_retries": submitter.retries,
        "intake_retried_for": dict(submitter.retried_for),
    }


def pids_of(services: Platform) -> dict[str, int]:
    return {
        name: process.process.pid
        for name, process in services.services.items()
        if name in SERVICES and process.process is not None
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        default="50:30,5:60",
        help="steady runs, rate:seconds each (referrals per second, for how long)",
    )
    parser.add_argument("--warmup", type=float, default=5.0, help="first seconds of each run left out")
    parser.add_argument("--burst", type=int, default=10_000, help="0: no burst")
    parser.add_argument(
        "--prime",
        type=int,
        default=0,
        metavar="N",
        help="a burst of N referrals before the measured runs, not measured: a platform in service"
        " has compiled, cached and prepared what a fresh one does during its first runs",
    )
    parser.add_argument("--sites", type=int, default=300)
    default_out = Path(__file__).parent / "results" / "referral_flow.json"
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument(
        "--idle",
        type=float,
        default=20.0,
        help="seconds with no referrals, after seeding, to measure what each part costs at rest",
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every service, e.g. CONSUME_BATCH_MAX=1 to measure one event per transaction",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample each service with py-spy during the first steady run, and at rest with --idle"
        " (py-spy on PATH or in PSS_PY_SPY), and write its stacks and a summary of where the time"
        " went to DIR",
    )
    parser.add_argument(
        "--deliver-by",
        choices=("record", "text"),
        default="record",
        help="record: oncall records each page in its process (no supporter has a route); text: every"
        " supporter has a phone, and oncall texts each page through the development SMS gateway,"
        " as a deployment does (bench/texting.py)",
    )
    parser.add_argument(
        "--keep-spans",
        type=Path,
        metavar="DIR",
        help="keep every span the services export in DIR (bench/span_gaps.py: where a referral's time went)",
    )
    args = parser.parse_args()
    service_env = dict(item.split("=", 1) for item in args.service_env)
    runs = [(float(r), float(t)) for r, t in (spec.split(":") for spec in args.rates.split(","))]
    result: dict[str, Any] = {
        "service_env": service_env,
        "deliver_by": args.deliver_by,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "note": "every service, Kafka, PostgreSQL and the load generator on this one machine",
        },
        "steady": [],
    }
    with tempfile.TemporaryDirectory(prefix="pss-bench-") as workdir_name:
        workdir = Path(workdir_name)
        sink_port = free_port()
        kept = [str(args.keep_spans)] if args.keep_spans else []
        if args.keep_spans:
            args.keep_spans.mkdir(parents=True, exist_ok=True)
        sink = subprocess.Popen([sys.executable, "-c", OTLP_SINK, str(sink_port), *kept])
        infrastructure = Infrastructure.start(workdir / "infra")
        services: Platform | None = None
        texting: TextGateway | None = None
        try:
            if args.deliver_by == "text":
                texting = TextGateway(workdir / "sms").start()
            issuer, public_pem = DevTokenIssuer.generate(issuer=f"http://127.0.0.1:{free_port()}")
            database = "pss_bench"
            services = Platform.prepare(
                infrastructure,
                workdir,
                database=database,
                issuer=issuer,
                public_key_pem=public_pem,
                personal_data_keys=PersonalDataVault.new_key(),
                extra_env={
                    name: {
                        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
                        **(texting.oncall_env() if texting and name == "oncall" else {}),
                        **service_env,
                    }
                    for name in SERVICES
                },
            )
            services.start()
            admin_token = issuer.token("bench-admin", [Role.AUTHORITY_ADMIN])
            urls = {name: services.url(name) for name in services.services}
            url = with_database(infrastructure.admin_url, database)

            def sql(query: str, *params: Any) -> list[tuple[Any, ...]]:
                with psycopg.connect(url) as conn:
                    return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

            def connections_opened() -> int:
                """Sessions opened on the platform's database so far (each costs a handshake,
                and a new connection prepares every statement afresh)."""
                return int(
                    sql("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")[0][0]
                )

            with httpx.Client(headers={"Authorization": f"Bearer {admin_token}"}, timeout=30) as admin:
                seed_courses(admin, urls["training"])
            sites = [load_site(n) for n in range(args.sites)]
            started = time.perf_counter()
            seed_sites(urls, admin_token, sites, sql)
            result["seed_seconds"] = round(time.perf_counter() - started, 1)
            print(f"seeded {len(sites)} sites in {result['seed_seconds']} s", flush=True)
            if texting:
                routed = route_pages_by_text(urls["oncall"], admin_token, sites)
                print(f"{routed} supporters paged by text", flush=True)

            bootstrap = infrastructure.kafka_bootstrap
            settled = settle(bootstrap, SERVICES, sql)  # the seeding's own events first
            print(f"the seeding's events processed {settled} s after it", flush=True)
            if args.idle > 0:
                used_before, machine_before = cpu_seconds(), machine_times()
                at_rest = args.profile / "at rest" if args.profile else None
                sampling = profiling.sample(at_rest, pids_of(services), args.idle) if at_rest else []
                time.sleep(args.idle)
                result["idle_cpu_ms_per_second"] = cpu_per_second(used_before, cpu_seconds(), args.idle)
                result["idle_stolen_percent"] = stolen_percent(machine_before, machine_times())
                if at_rest:
                    result["profile_at_rest"] = profiling.summarise(at_rest, sampling)
                print(f"at rest: {result['idle_cpu_ms_per_second']}", flush=True)
            if args.prime > 0:
                settle(bootstrap, SERVICES, sql)
                primed = uvloop.run(burst(urls["intake"], bootstrap, sites, args.prime))
                result["primed_with"] = {k: primed[k] for k in ("referrals", "all_paged_seconds")}
                print(
                    f"primed with {args.prime} referrals, paged in {primed['all_paged_seconds']} s",
                    flush=True,
                )
            # the broker this bench started (none when it uses one already running)
            broker = (
                infrastructure.kafka.process.pid
                if infrastructure.kafka and infrastructure.kafka.process
                else None
            )
            for number, (rate, seconds) in enumerate(runs):
                settled = settle(bootstrap, SERVICES, sql)  # what the run before left, first
                used_before, opened_before = cpu_seconds(), connections_opened()
                threads_before, machine_before = broker_threads.snapshot(broker), machine_times()
                sampling = (
                    profiling.sample(args.profile, pids_of(services), seconds)
                    if args.profile and number == 0
                    else []
                )
                texts_before = texting.texts() if texting else 0
                latencies, paged_rate = uvloop.run(
                    steady(urls["intake"], bootstrap, sites, int(rate * seconds), rate)
                )
                if sampling:
                    result["profile"] = profiling.summarise(args.profile, sampling)
                run: dict[str, Any] = {
                    "rate_per_second": rate,
                    "seconds": seconds,
                    "settled_seconds_before": settled,
                    "paged_per_second": round(paged_rate, 1),
                }
                if texting:
                    run["texts_sent"] = texting.texts() - texts_before
                run["cpu_ms_per_referral"] = cpu_per_referral(used_before, cpu_seconds(), int(rate * seconds))
                run["stolen_percent"] = stolen_percent(machine_before, machine_times())
                run["broker_cpu_ms_per_referral_by_thread"] = broker_threads.per_referral(
                    threads_before, broker_threads.snapshot(broker), int(rate * seconds)
                )
                run["platform"] = summary(latencies[int(rate * args.warmup) :])
                run["database_connections_opened"] = connections_opened() - opened_before - 1
                result["steady"].append(run)
                print(f"steady {rate:g}/s: {run}", flush=True)
            if args.burst > 0:
                settled = settle(bootstrap, SERVICES, sql)
                used_before, opened_before = cpu_seconds(), connections_opened()
                threads_before, machine_before = broker_threads.snapshot(broker), machine_times()
                texts_before, burst_started = texting.texts() if texting else 0, time.perf_counter()
                b: dict[str, Any] = uvloop.run(burst(urls["intake"], bootstrap, sites, args.burst))
                if texting:
                    # a page is in the supporter's hand once texted: wait for the last, and
                    # count its CPU with the burst's
                    b["all_texted_seconds"] = texting.wait_for(texts_before + args.burst, burst_started)
                    b["texts_sent"] = texting.texts() - texts_before
                b["stolen_percent"] = stolen_percent(machine_before, machine_times())
                b["broker_cpu_ms_per_referral_by_thread"] = broker_threads.per_referral(
                    threads_before, broker_threads.snapshot(broker), args.burst
                )
                b["settled_seconds_before"] = settled
                b["cpu_ms_per_referral"] = cpu_per_referral(used_before, cpu_seconds(), args.burst)
                b["database_connections_opened"] = connections_opened() - opened_before - 1
                result["burst"] = b
                print(f"burst: {b}", flush=True)
            services.stop()
            services = None

            sizes = [
                uvloop.run(median_envelope_bytes(bootstrap, topic, type_))
                for topic, type_ in (
                    (topics.SUBMISSIONS, "intake.referral.submitted.v1"),
                    (topics.PROPOSALS, "matching.match.proposed.v1"),
                    (topics.PAGES, "oncall.page.sent.v1"),
                )
            ]
            result["envelope_bytes"] = sizes
            for run in result["steady"]:
                rate, count = run["rate_per_second"], int(run["rate_per_second"] * run["seconds"])
                used_before, machine_before = cpu_seconds(), machine_times()
                hops = uvloop.run(floor(bootstrap, sizes, count, rate, int(rate * args.warmup)))
                # what the broker alone costs a referral's three hops, to read its share against
                used = cpu_per_referral(used_before, cpu_seconds(), count)
                run["floor_stolen_percent"] = stolen_percent(machine_before, machine_times())
                run["floor_broker_cpu_ms_per_referral"] = used.get("kafka", 0.0)
                # the floor's whole CPU (its hops run in this process): the machine's speed at
                # the moment, for the same kind of work, to read the platform's CPU against
                run["floor_cpu_ms_per_referral"] = round(
                    used.get("kafka", 0.0) + used.get("load generator", 0.0), 2
                )
                run["cpu_to_floor"] = round(
                    run["cpu_ms_per_referral"]["total (without the load generator)"]
                    / max(run["floor_cpu_ms_per_referral"], 0.01),
                    2,
                )
                run["floor"] = summary(hops)
                run["platform_to_floor"] = {
                    q: round(run["platform"][f"{q}_ms"] / run["floor"][f"{q}_ms"], 1)
                    for q in ("median", "p99")
                }
        finally:
            if services is not None:
                services.stop()
            infrastructure.stop()
            sink.terminate()
            if texting:
                texting.stop()
    result["measured_on"] = datetime.now(UTC).isoformat(timespec="seconds")
    print("\nreferral accepted by intake -> primary's page on Kafka (steady runs)")
    print(f"{'':<26}{'median ms':>11}{'p99 ms':>10}{'p99.9 ms':>10}{'max ms':>10}{'paged/s':>9}")
    for run in result["steady"]:
        rate = run["rate_per_second"]
        for name, row in (
            (f"{rate:g}/s floor (aiokafka)", run["floor"]),
            (f"{rate:g}/s platform", run["platform"]),
        ):
            print(
                f"{name:<26}{row['median_ms']:>11.1f}{row['p99_ms']:>10.1f}{row['p999_ms']:>10.1f}"
                f"{row['max_ms']:>10.1f}{run['paged_per_second'] if 'platform' in name else '':>9}"
            )
        ratio = run["platform_to_floor"]
        print(f"{f'{rate:g}/s platform / floor':<26}{ratio['median']:>10.1f}x{ratio['p99']:>9.1f}x")
        if "texts_sent" in run:
            print(f"{f'{rate:g}/s texts sent':<26}{run['texts_sent']:>11,}")
    last: dict[str, Any] | None = result.get("burst")  # None with --burst 0
    if last is not None:
        print(
            f"burst: {last['referrals']:,} referrals across {last['sites']} sites: all accepted in"
            f" {last['accepted_seconds']} s, all paged in {last['all_paged_seconds']} s"
            f" ({last['paged_per_second']}/s)"
            + (
                f", {last['texts_sent']:,} texted in {last['all_texted_seconds']} s"
                if "texts_sent" in last
                else ""
            )
        )
    if "idle_cpu_ms_per_second" in result:
        print("\nCPU at rest, ms each second, summed over each part's processes")
        for part, ms in result["idle_cpu_ms_per_second"].items():
            print(f"{part:<36}{ms:>10.1f}")
    print("\nCPU per referral, ms, summed over each part's processes (target: 40 ms in total)")
    phases = [*result["steady"], *([last] if last is not None else [])]
    columns = [
        *(f"{r['rate_per_second']:g}/s" for r in result["steady"]),
        *(["burst"] if last is not None else []),
    ]
    tables = [r["cpu_ms_per_referral"] for r in phases]
    print(f"{'':<36}" + "".join(f"{c:>10}" for c in columns))
    for part in sorted({k for table in tables for k in table}, key=lambda k: ("total" in k, k)):
        print(f"{part:<36}" + "".join(f"{table.get(part, 0.0):>10.1f}" for table in tables))
    floors = [run.get("floor_broker_cpu_ms_per_referral", 0.0) for run in result["steady"]]
    print(f"{'kafka, for the floor alone':<36}" + "".join(f"{ms:>10.1f}" for ms in floors))
    whole = [run.get("floor_cpu_ms_per_referral", 0.0) for run in result["steady"]]
    print(f"{'the floor, all its processes':<36}" + "".join(f"{ms:>10.1f}" for ms in whole))
    ratios = [run.get("cpu_to_floor", 0.0) for run in result["steady"]]
    print(f"{'the platform / the floor':<36}" + "".join(f"{r:>9.2f}x" for r in ratios))
    # the burst has no floor of its own: its column shows only what the host took from it
    for key, name, runs in (
        ("stolen_percent", "the platform", phases),
        ("floor_stolen_percent", "the floor", result["steady"]),
    ):
        stolen = [run.get(key, 0.0) for run in runs]
        print(f"{f'CPU the host took, %, {name}':<36}" + "".join(f"{p:>10.1f}" for p in stolen))
    print("\nthe broker's CPU per referral, ms, by what its threads do")
    by_thread = [r.get("broker_cpu_ms_per_referral_by_thread", {}) for r in phases]
    for kind in sorted({k for table in by_thread for k in table}):
        print(f"{kind:<36}" + "".join(f"{table.get(kind, 0.0):>10.1f}" for table in by_thread))
    if "profile_at_rest" in result:
        profiling.show(result["profile_at_rest"], "at rest")
    if "profile" in result:
        profiling.show(result["profile"], "first steady run")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
