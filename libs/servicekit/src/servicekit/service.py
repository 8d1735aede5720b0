"""The one runner every service uses: HTTP API, event consumers and background loops in
one process, started and stopped together. Built by each service's ``bootstrap``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
import uvicorn
import uvloop
from fastapi import FastAPI, Response
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, Field

from servicekit.api import install_error_handlers
from servicekit.auth import TokenVerifier
from servicekit.consumer import EventConsumer, Subscriptions
from servicekit.database import Database, UnitOfWorkFactory
from servicekit.heap import settle_the_heap
from servicekit.outbox import OutboxRelay
from servicekit.request_spans import NO_NATIVE_TELEMETRY, RequestSpans
from servicekit.settings import KEEP_ALIVE_SECONDS, ServiceSettings
from servicekit.sql_spans import SqlSpans
from servicekit.telemetry import instruments, prometheus_scraped, setup_telemetry, shutdown_telemetry

log = logging.getLogger(__name__)

BackgroundLoop = Callable[[], Coroutine[Any, Any, None]]


# what an operator does not follow a referral through: the probes and the scraper
UNTRACED = ("/health/", "/metrics")


@dataclass
class Service:
    name: str
    settings: ServiceSettings
    database: Database
    uow: UnitOfWorkFactory
    broker: KafkaBroker
    relay: OutboxRelay
    api: FastAPI
    loops: list[BackgroundLoop] = field(default_factory=list)
    # units of work on kept connections (one_at_a_time), given back when the service stops
    kept_units: list[UnitOfWorkFactory] = field(default_factory=list)
    # what else the service keeps open (a client it calls others with), closed when it stops
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def units_one_at_a_time(self) -> UnitOfWorkFactory:
        """Units of work for one caller that opens the next only after the last ended (a
        loop's steps), on a connection kept between them: no checkout and no ping after
        idling for each (``UnitOfWorkFactory.one_at_a_time``)."""
        units = self.uow.one_at_a_time()
        self.kept_units.append(units)
        return units


# the least a loop with a ``rest`` waits after a step that found nothing
REST_AT_LEAST_SECONDS = 0.1


async def repeat(
    step: Callable[[], Coroutine[Any, Any, int]],
    *,
    interval: float,
    name: str,
    wake: asyncio.Event | None = None,
    rest: Callable[[], Awaitable[float | None]] | None = None,
    full: int | None = None,
) -> None:
    """Run ``step`` forever: again at once while it finds work, else after ``interval`` or as
    soon as ``wake`` is set (by a commit that made work for it), whichever is first.
    ``rest``: how long nothing will be due (the next timer), when sooner than ``interval``.
    ``full``: a step that did fewer than this took all there was, and the loop waits instead
    of looking again at once (a look that finds nothing is a transaction; work made meanwhile
    has set ``wake``, cleared before the step).
    A failure is logged, counted (an alert watches the count: a loop that keeps failing,
    such as a publication that cannot be protected, must not fail in silence) and retried;
    it never ends the loop."""
    loop_log = logging.getLogger(name)
    # exported from the start, at 0: an alert on the count then sees the loop exists
    instruments().background_failures.add(0, {"loop": name})
    while True:
        if wake is not None:
            wake.clear()  # before the step: a commit during it wakes the next wait at once
        pause = interval
        try:
            done = await step()
            if done and (full is None or done >= full):
                continue
            if rest is not None and (until := await rest()) is not None:
                # a timer already due that the step did not take is another replica's (it
                # holds its lock) or one whose step failed: looked at again soon, not at once
                pause = min(interval, max(until, REST_AT_LEAST_SECONDS))
        except asyncio.CancelledError:
            raise
        except Exception:
            # a failed step (or look) waits the whole interval
            loop_log.exception("background step failed; retrying")
            instruments().background_failures.add(1, {"loop": name})
        if wake is None:
            await asyncio.sleep(pause)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), pause)


def single_flight(
    database: Database, name: str, step: Callable[[], Coroutine[Any, Any, int]]
) -> Callable[[], Coroutine[Any, Any, int]]:
    """``step`` run by one replica at a time: the others skip it (0, nothing done) while one
    runs it. For loops whose step is not idempotent across replicas (two replicas forecasting
    the same gap would warn the coordinator twice). The lock lives in a transaction of its own
    connection, so a replica that dies mid-step releases it with its connection."""

    async def guarded() -> int:
        async with database.engine.connect() as connection:
            held = await connection.scalar(
                sa.select(sa.func.pg_try_advisory_xact_lock(sa.func.hashtextextended(name, 0)))
            )
            if not held:
                return 0
            return await step()

    return guarded


class Live(BaseModel):
    status: Literal["ok"]


class Ready(Live):
    outbox_backlog: int = Field(description="Events written and not yet on Kafka")


def build_service(
    name: str,
    settings: ServiceSettings,
    *,
    subscriptions: Subscriptions | None = None,
    description: str,
) -> Service:
    """Wire the plumbing of one service. Nothing connects until ``run`` starts it. Routes
    find the unit of work and the settings on ``app.state``."""
    database = Database(settings.database_url, schema=name)
    uow = UnitOfWorkFactory(database, producer=name)
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=name,
        # handlers take the message as it came (servicekit.consumer.as_received)
        apply_types=False,
        enable_idempotence=True,
        acks="all",
        logger=logging.getLogger(f"{name}.broker"),
        log_level=logging.DEBUG,
    )
    relay = OutboxRelay(
        database.sessions,
        settings.kafka_bootstrap_servers,
        wake=uow.committed_events,
        poll_seconds=settings.outbox_poll_seconds,
        batch_size=settings.outbox_batch_size,
        service=name,
    )
    consumer = None
    if subscriptions is not None:
        consumer = EventConsumer(
            name=name,
            subscriptions=subscriptions,
            # a batch's unit of work opens only after the last one ended
            uow=(consumer_units := uow.one_at_a_time()),
            broker=broker,
            dead_letter_after_attempts=settings.dead_letter_after_attempts,
            retry_backoff_seconds=settings.retry_backoff_seconds,
            batch_max=settings.consume_batch_max,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            fetch_min_bytes=settings.kafka_fetch_min_bytes,
        )
        consumer.attach()

    service: Service

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await relay.start()
        await broker.start()
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(loop(), name=getattr(loop, "__name__", "loop"))
            for loop in [relay.run, *service.loops]
        ]
        log.info(
            "service started",
            extra={"service": name, "url": f"http://{settings.http_host}:{settings.http_port}"},
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if consumer is not None:
                await consumer.offsets.stop()
            await broker.stop()
            await relay.stop()
            # their kept connections, once no loop and no consumer runs
            for units in service.kept_units:
                await units.close()
            for close in service.on_stop:
                await close()
            await database.dispose()

    api = FastAPI(
        title=name, description=description, version="1", lifespan=lifespan, telemetry=NO_NATIVE_TELEMETRY
    )
    api.state.uow = uow
    api.state.settings = settings
    if not (settings.auth_public_key_pem or settings.auth_jwks_url):
        # refuse to start rather than serve an API that cannot tell who is calling
        raise ValueError(f"{name}: set AUTH_JWKS_URL (production) or AUTH_PUBLIC_KEY_PEM (local use)")
    api.state.token_verifier = TokenVerifier(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        public_key_pem=settings.auth_public_key_pem,
        jwks_url=settings.auth_jwks_url,
    )
    install_error_handlers(api)
    api.add_middleware(RequestSpans, excluded=UNTRACED)

    if prometheus_scraped():
        # the metrics carry no site and no id (telemetry.event_attributes), so serving them
        # to the scraper beside the API tells nothing about a referral
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        @api.get("/metrics", tags=["health"], include_in_schema=False)
        async def prometheus_metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @api.get("/health/live", tags=["health"])
    async def live() -> Live:
        return Live(status="ok")

    @api.get("/health/ready", tags=["health"])
    async def ready() -> Ready:
        async with database.sessions() as session:
            await session.execute(sa.text("SELECT 1"))
        return Ready(status="ok", outbox_backlog=await relay.backlog())

    service = Service(name, settings, database, uow, broker, relay, api)
    if consumer is not None:
        service.kept_units.append(consumer_units)
    return service


def run(make: Callable[[], Service]) -> None:
    """Console entry point body: telemetry first, then build and serve until a signal."""
    probe = ServiceSettings()
    service_name = make.__module__.split(".")[0]
    setup_telemetry(service_name, log_level=probe.log_level, log_json=probe.log_json)
    service = make()
    SqlSpans(service.settings.sql_span_slow_ms).instrument(service.database.engine.sync_engine)
    config = uvicorn.Config(
        service.api,
        host=service.settings.http_host,
        port=service.settings.http_port,
        log_config=None,
        lifespan="on",
        http="httptools",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    settle_the_heap()
    try:
        # uvloop's event loop; uvicorn parses HTTP with httptools when it is installed
        uvloop.run(uvicorn.Server(config).serve())
    finally:
        shutdown_telemetry()
