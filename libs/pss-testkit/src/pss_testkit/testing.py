"""Pytest fixtures for integration and end-to-end tests on real Kafka and PostgreSQL.

One session starts Kafka and PostgreSQL (or uses KAFKA_BOOTSTRAP_SERVERS and
PSS_ADMIN_DATABASE_URL), a fresh database, and the five services as real processes. Each
test seeds a site of its own, so tests share the platform but never its state.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from pss_dev.local import free_port
from pss_dev.local.mailbox import Mailbox
from pss_dev.local.observability import Observability
from pss_dev.local.sms_gateway import SmsGateway
from pss_dev.platform import Infrastructure, Platform
from pss_dev.seed import Site, sample_site, seed_courses, seed_site
from servicekit.auth import DevTokenIssuer, Role
from servicekit.consumer import Subscriptions
from servicekit.vault import PersonalDataVault

T = TypeVar("T")

# short enough for tests to watch escalations, long enough for a busy 2-core machine to
# acknowledge a page in time
TEST_ACK_TIMEOUT_SECONDS = 5.0


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 30, interval: float = 0.2, what: str = "condition"
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    service: str
    kind: int
    attributes: dict[str, Any]
    start_ns: int = 0
    end_ns: int = 0


@dataclass(frozen=True)
class MetricPoint:
    """The latest cumulative value of one series, as a service exported it."""

    service: str
    name: str
    kind: str  # "counter", "gauge" or "histogram"
    unit: str
    attributes: tuple[tuple[str, str], ...]
    value: float  # a histogram's count


class TelemetryCollector:
    """A minimal OTLP/HTTP receiver: the services export their spans and metrics to it
    exactly as to an OpenTelemetry Collector."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.metrics: dict[tuple[str, str, tuple[tuple[str, str], ...]], MetricPoint] = {}
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path == "/v1/traces":
                    collector._ingest_spans(body)
                elif self.path == "/v1/metrics":
                    collector._ingest_metrics(body)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ingest_spans(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        found = []
        for resource_spans in request.resource_spans:
            service = _service_name(resource_spans.resource)
            for scope in resource_spans.scope_spans:
                for s in scope.spans:
                    attributes = {a.key: _value(a.value) for a in s.attributes}
                    found.append(
                        Span(
                            s.trace_id.hex(),
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                            s.name,
                            service,
                            s.kind,
                            attributes,
                            s.start_time_unix_nano,
                            s.end_time_unix_nano,
                        )
                    )
        with self._lock:
            self.spans.extend(found)

    def _ingest_metrics(self, body: bytes) -> None:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
        )

        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        found = []
        for resource_metrics in request.resource_metrics:
            service = _service_name(resource_metrics.resource)
            for scope in resource_metrics.scope_metrics:
                for m in scope.metrics:
                    data = m.WhichOneof("data")
                    if data == "sum":
                        kind = "counter" if m.sum.is_monotonic else "gauge"
                        points = [(p.attributes, p.as_double or p.as_int) for p in m.sum.data_points]
                    elif data == "gauge":
                        kind = "gauge"
                        points = [(p.attributes, p.as_double or p.as_int) for p in m.gauge.data_points]
                    elif data == "histogram":
                        kind = "histogram"
                        points = [(p.attributes, p.count) for p in m.histogram.data_points]
                    else:
                        continue
                    for attributes, value in points:
                        labels = tuple(sorted((a.key, str(_value(a.value))) for a in attributes))
                        found.append(MetricPoint(service, m.name, kind, m.unit, labels, float(value)))
        with self._lock:
            for point in found:
                self.metrics[(point.service, point.name, point.attributes)] = point

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def all_spans(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    def metric_points(self, name: str | None = None) -> list[MetricPoint]:
        with self._lock:
            return [p for p in self.metrics.values() if name is None or p.name == name]

    def close(self) -> None:
        self.server.shutdown()


def _service_name(resource: Any) -> str:
    return next((a.value.string_value for a in resource.attributes if a.key == "service.name"), "?")


def prometheus_names(point: MetricPoint) -> set[str]:
    """The series names an OpenTelemetry Collector's Prometheus exporter gives a metric
    (its default, suffixes on): dots become underscores, a unit in seconds adds
    ``_seconds``, a counter ends in ``_total``, a histogram has bucket, sum and count."""
    name = point.name.replace(".", "_")
    if point.unit == "s" and not name.endswith("_seconds"):
        name += "_seconds"
    if point.kind == "counter":
        return {name + "_total"}
    if point.kind == "histogram":
        return {name + "_bucket", name + "_sum", name + "_count"}
    return {name}


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def json(self) -> dict[str, Any]:
        return json.loads(self.value)  # type: ignore[no-any-return]


class KafkaReader:
    """Reads whole topics from the beginning: what the platform really published."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def read(self, topic: str, *, idle_ms: int = 1500) -> list[Record]:
        return asyncio.run(self._read(topic, idle_ms))

    async def _read(self, topic: str, idle_ms: int) -> list[Record]:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        records: list[Record] = []
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=idle_ms)
                if not batch:
                    break
                for messages in batch.values():
                    for m in messages:
                        headers = {k: v.decode(errors="replace") for k, v in (m.headers or [])}
                        records.append(Record(m.topic, m.partition, m.offset, m.key, m.value or b"", headers))
        finally:
            await consumer.stop()
        return records

    def events(self, topic: str, *, type_: str | None = None, **payload: Any) -> list[dict[str, Any]]:
        """Valid envelopes on ``topic`` whose type and payload fields match."""
        found = []
        for record in self.read(topic):
            try:
                envelope = record.json()
            except ValueError:
                continue
            if not isinstance(envelope, dict) or (type_ and envelope.get("type") != type_):
                continue
            if all(str(envelope.get("payload", {}).get(k)) == str(v) for k, v in payload.items()):
                found.append(envelope)
        return found

    def publish_many(self, messages: list[tuple[str, bytes | None, bytes]]) -> None:
        """(topic, key, value) in order, through one producer."""

        async def send() -> None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
            await producer.start()
            try:
                sent = [await producer.send(topic, value=value, key=key) for topic, key, value in messages]
                for delivery in sent:
                    await delivery
            finally:
                await producer.stop()

        asyncio.run(send())

    def publish(self, topic: str, value: bytes, *, key: bytes | None = None) -> None:
        self.publish_many([(topic, key, value)])


@dataclass
class RunningPlatform:
    platform: Platform
    issuer: DevTokenIssuer
    kafka: KafkaReader
    telemetry: TelemetryCollector
    database: str
    mailbox: Mailbox
    observability: Observability | None = None  # Zipkin and Prometheus, when started
    sms: SmsGateway | None = None  # the local Twilio-like gateway oncall texts through

    def url(self, service: str) -> str:
        return self.platform.url(service)

    def admin(self) -> httpx.Client:
        return self.client(self.issuer.token("test-admin", [Role.AUTHORITY_ADMIN]))

    def coordinator(self, site: Site) -> httpx.Client:
        return self.client(
            self.issuer.token(
                f"coord-{site.site_id}", [Role.SITE_COORDINATOR], [site.site_id], staff_ref=site.coordinator
            )
        )

    def manager(self, site: Site, staff_ref: str) -> httpx.Client:
        return self.client(
            self.issuer.token(f"user-{staff_ref}", [Role.MANAGER], [site.site_id], staff_ref=staff_ref)
        )

    def occupational_health(self) -> httpx.Client:
        return self.client(self.issuer.token("oh-nurse", [Role.OCCUPATIONAL_HEALTH]))

    def coordinator_account(self, site: Site | str) -> str:
        """An account of the development sign-in for the site's coordinator; its username."""
        from pss_dev.local.identity import Account, add_account

        site_id, staff_ref = (site, None) if isinstance(site, str) else (site.site_id, site.coordinator)
        username = f"coordinator@{site_id}"
        account = Account(
            username, f"Coordinator {site_id}", [Role.SITE_COORDINATOR.value], [site_id], staff_ref
        )
        add_account(self.platform.accounts_file, account)
        return username

    def supporter_account(self, site: Site, staff_ref: str) -> str:
        """An account of the development sign-in for one of the site's supporters."""
        from pss_dev.local.identity import Account, add_account

        username = f"supporter@{staff_ref}"
        account = Account(
            username, f"Supporter {staff_ref}", [Role.PEER_SUPPORTER.value], [site.site_id], staff_ref
        )
        add_account(self.platform.accounts_file, account)
        return username

    def manager_account(self, site: Site, staff_ref: str) -> str:
        """An account of the development sign-in for a manager at the site."""
        from pss_dev.local.identity import Account, add_account

        username = f"manager@{staff_ref}"
        account = Account(username, f"Manager {staff_ref}", [Role.MANAGER.value], [site.site_id], staff_ref)
        add_account(self.platform.accounts_file, account)
        return username

    def eap_account(self) -> str:
        """An account of the development sign-in for EAP (occupational health) staff."""
        from pss_dev.local.identity import Account, add_account

        username = "eap@authority"
        add_account(
            self.platform.accounts_file, Account(username, "EAP staff", [Role.OCCUPATIONAL_HEALTH.value], [])
        )
        return username

    def frontend_client(self, site: Site | str) -> httpx.Client:
        """An HTTP client signed in to the front-end as the site's coordinator, through the
        development provider's sign-in form (as a browser would, without one)."""
        username = self.coordinator_account(site)
        client = httpx.Client(base_url=self.url("frontend"), timeout=30)
        at_provider = client.get("/signin", follow_redirects=True)
        form = dict(parse_qsl(urlsplit(str(at_provider.url)).query))
        back = client.post(f"{self.issuer.issuer}/authorize", data={**form, "username": username})
        assert back.status_code == 303, back.text
        client.get(back.headers["location"])  # the callback sets the session cookie
        return client

    def supporter(self, staff_ref: str) -> httpx.Client:
        return self.client(self.issuer.token(f"user-{staff_ref}", [Role.PEER_SUPPORTER], staff_ref=staff_ref))

    @staticmethod
    def client(token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(headers=headers, timeout=30)

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Direct reads for assertions (as the admin, never from a service)."""
        import psycopg
        from pss_cli.provision import with_database

        with psycopg.connect(with_database(self.platform.infrastructure.admin_url, self.database)) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def infrastructure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    """Kafka and PostgreSQL for the session: the local launcher's, or testcontainers' where
    a Docker engine answers (pss_testkit.infra_choice says which and why)."""
    import os

    from pss_testkit.infra_choice import session_infrastructure

    with session_infrastructure(Path(tmp_path_factory.mktemp("infra")), os.environ) as infra:
        yield infra


@pytest.fixture(scope="session")
def telemetry_collector() -> Iterator[TelemetryCollector]:
    collector = TelemetryCollector()
    yield collector
    collector.close()


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway().start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def running_platform(
    infrastructure: Infrastructure,
    telemetry_collector: TelemetryCollector,
    mailbox: Mailbox,
    sms_gateway: SmsGateway,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPlatform]:
    workdir = Path(tmp_path_factory.mktemp("platform"))
    observability = Observability.create(workdir / "observability")
    observability.start_zipkin()
    try:
        running = launch_platform(
            infrastructure, telemetry_collector, mailbox, workdir, observability, sms_gateway=sms_gateway
        )
        running.observability = observability
        yield running
        running.platform.stop()
    finally:
        observability.stop()
    print(f"\nservice logs: {workdir / 'logs'}")


def launch_platform(
    infrastructure: Infrastructure,
    telemetry_collector: TelemetryCollector,
    mailbox: Mailbox,
    workdir: Path,
    observability: Observability | None = None,
    *,
    replicas: int = 1,
    sms_gateway: SmsGateway | None = None,
) -> RunningPlatform:
    """A fresh database and the services, with the tests' short timers, started and ready;
    with ``observability``, they export to its Zipkin and Prometheus too, as on `make run`."""
    # the development sign-in provider's address names the issuer of every token
    issuer, public_pem = DevTokenIssuer.generate(issuer=f"http://127.0.0.1:{free_port()}")
    database = f"pss_test_{uuid.uuid4().hex[:8]}"
    common = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": telemetry_collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OUTBOX_POLL_SECONDS": "0.2",
        "RETRY_BACKOFF_SECONDS": "0.05",
        "LOG_LEVEL": "INFO",
    }
    platform = Platform.prepare(
        infrastructure,
        workdir,
        database=database,
        issuer=issuer,
        public_key_pem=public_pem,
        personal_data_keys=PersonalDataVault.new_key(),
        extra_env={
            name: {**common, **extra}
            for name, extra in {
                "intake": {
                    "SMTP_HOST": "127.0.0.1",
                    "SMTP_PORT": str(mailbox.port),
                    "HOUSEKEEPING_POLL_SECONDS": "0.3",
                    "MAIL_POLL_SECONDS": "0.2",
                },
                "matching": {},
                "oncall": {
                    "ACK_TIMEOUT_SECONDS": str(TEST_ACK_TIMEOUT_SECONDS),
                    "SMTP_HOST": "127.0.0.1",
                    "SMTP_PORT": str(mailbox.port),
                    # long enough that a retry is still waiting when a test acknowledges
                    "NOTIFY_BACKOFF_SECONDS": "2",
                    "DUTY_POLL_SECONDS": "0.3",
                    "COVERAGE_POLL_SECONDS": "0.5",
                    # the tests' own gateways listen on loopback, on ports chosen at run time
                    "WEBHOOK_ALLOWED": '["http://127.0.0.1:*"]',
                    **(sms_gateway.oncall_env() if sms_gateway else {}),
                },
                # reminders seconds before expiry, so a test can watch them all go out
                "training": {"REMINDER_DAYS": "[0.0002, 0.0001]", "TIMER_POLL_SECONDS": "0.2"},
                # published by the test (pss-metrics publish) once its generated months are
                # all counted: the loop would publish a month whose events are still arriving
                "metrics": {"PUBLISH_POLL_SECONDS": "86400"},
                # the browser tests watch a referral arrive without waiting ten seconds
                "frontend": {"QUEUE_REFRESH_SECONDS": "1"},
            }.items()
        },
        telemetry_env=observability.service_env() if observability else None,
        replicas=replicas,
    )
    if observability is not None:
        observability.start_prometheus(platform.scrape_targets())
        observability.wait_ready()
    platform.start()
    running = RunningPlatform(
        platform,
        issuer,
        KafkaReader(infrastructure.kafka_bootstrap),
        telemetry_collector,
        database,
        mailbox,
        sms=sms_gateway,
    )
    with running.admin() as admin:
        seed_courses(admin, platform.url("training"))
    return running


def subscriptions_of(service: str) -> Subscriptions:
    """A service's own ``make_subscriptions()`` (called with no dependencies: declaring the
    subscriptions needs none): the event types it handles, and so the topics it reads."""
    import importlib
    import inspect

    module = importlib.import_module(f"{service}.consumers")
    arguments = [None] * len(inspect.signature(module.make_subscriptions).parameters)
    subscriptions: Subscriptions = module.make_subscriptions(*arguments)
    return subscriptions


def subscribed_topics(service: str) -> set[str]:
    """The topics a service's consumers subscribe to."""
    return set(subscriptions_of(service).topics)


def seed_and_wait(running_platform: RunningPlatform, seeded: Site) -> Site:
    """Seed a site through the APIs, then wait until matching has learnt, from events, the
    eligibility of its certified supporters and who is on duty."""
    urls = {name: running_platform.url(name) for name in running_platform.platform.services}
    with running_platform.admin() as admin:
        seed_site(admin, urls, seeded)
    supporters = [p.ref for p in seeded.people if p.supporter and p.certified]
    on_duty = sum(1 for layer in (seeded.primary, seeded.backup) if layer)
    wait_for(
        lambda: (
            len(
                running_platform.sql(
                    "SELECT 1 FROM matching.eligibility WHERE staff_ref = ANY(%s) AND eligible", supporters
                )
            )
            == len(supporters)
            and len(running_platform.sql("SELECT 1 FROM matching.duty WHERE site_id = %s", seeded.site_id))
            == on_duty
        ),
        what="matching to learn the site's eligibility and duty",
    )
    return seeded


# --- small helpers the end-to-end and browser tests share --------------------------------


def ref(site: Site, name: str) -> str:
    """The staff reference of a seeded person by role name, e.g. 'rn1', 'sup1', 'mgrs'."""
    prefix = site.people[0].ref[: -len("mgr")]
    return f"{prefix}{name}"


def self_referral(site: Site, worker: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": site.site_id,
        "reason": {"category": "critical_incident", "kind": "unexpected_patient_death"},
        "urgency": "within_hours",
        "modality": "phone",
        "worker": {
            "staff_ref": worker,
            "name": "Alex Example",
            "phone": "+1 555 0199",
            "email": "alex@example.org",
        },
    }
    body.update(overrides)
    return body


def submit(p: RunningPlatform, body: dict[str, Any], headers: dict[str, str] | None = None) -> uuid.UUID:
    with p.client() as client:
        response = client.post(f"{p.url('intake')}/referrals", json=body, headers=headers or {})
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["referral_id"])


@pytest.fixture
def site(running_platform: RunningPlatform) -> Site:
    """A freshly seeded site of its own for this test."""
    suffix = uuid.uuid4().hex[:6]
    return seed_and_wait(running_platform, sample_site(f"t-{suffix}", f"Test hospital {suffix}", suffix))


@pytest.fixture
def other_site(running_platform: RunningPlatform) -> Site:
    """A second freshly seeded site: whose ids a caller of ``site`` must never reach."""
    suffix = uuid.uuid4().hex[:6]
    return seed_and_wait(running_platform, sample_site(f"o-{suffix}", f"Other hospital {suffix}", suffix))
