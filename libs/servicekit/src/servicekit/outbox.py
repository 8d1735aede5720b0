"""Transactional outbox and its relay.

A handler's events are rows written in the same transaction as its state change, so an
event exists if and only if the change committed. The relay publishes unpublished rows in
order through an idempotent producer, keyed by site, then marks them published. A crash
between publish and mark republishes the same event id: consumers deduplicate on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from contracts import Event
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from servicekit.driver import DriverStatement
from servicekit.kept import KeptConnection
from servicekit.tables import OUTBOX
from servicekit.telemetry import current_traceparent, event_attributes, instruments

if TYPE_CHECKING:
    from servicekit.database import UnitOfWork

log = logging.getLogger(__name__)
# how often the backlog gauges are brought up to date (one small indexed query)
BACKLOG_REFRESH_SECONDS = 5.0
tracer = trace.get_tracer("servicekit.outbox")


# built once, on the driver (every unit of work that emits); the envelope goes as the JSON
# text pydantic writes, not as a dict SQLAlchemy would serialise again
ADD = DriverStatement(
    sa.insert(OUTBOX).values(
        event_id=sa.bindparam("event_id"),
        topic=sa.bindparam("topic"),
        key=sa.bindparam("key"),
        event_type=sa.bindparam("event_type"),
        envelope=sa.bindparam("envelope", type_=OUTBOX.c.envelope.type),
    ),
    as_given=["envelope"],
)


async def add(uow: UnitOfWork, event: Event, *, site_id: str, producer: str) -> None:
    """``event`` into the outbox, in the unit of work's transaction."""
    envelope = event.envelope(site_id=site_id, producer=producer, traceparent=current_traceparent())
    await ADD.execute(
        uow,
        {
            "event_id": envelope.id,
            "topic": event.TOPIC,
            "key": site_id,
            "event_type": envelope.type,
            "envelope": envelope.model_dump_json(),
        },
    )


# The relay's two statements commit without waiting for the write-ahead log to reach the disk
# (for their own transaction only: set_config's is_local). The claim's row locks and the
# mark each made a commit wait for a flush of its own, where the batch's transaction had
# one. What a server crash may lose of them is a mark, and a row whose mark is lost is
# published again: consumers deduplicate on the id, as after a relay's crash between the
# send and the mark. Everything else a service commits waits for the disk, as before.
_NOT_WAITING_FOR_THE_DISK = sa.func.set_config("synchronous_commit", "off", True).label("not_waiting")


class RelayBusy(Exception):
    """Another replica of the service is publishing its outbox right now."""


def kafka_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    """The idempotent producer: retries never duplicate or reorder within a partition."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
    )


# while another replica holds the relay, look again this soon (its batch may not hold ours)
BUSY_RETRY_SECONDS = 0.05


class OutboxRelay:
    """Publishes committed outbox rows. One loop per service replica, but one replica at a
    time publishes a batch (an advisory lock per service, held from the rows' read to their
    mark): two replicas claiming rows with SKIP LOCKED would publish one site's later events
    before its earlier ones."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bootstrap_servers: str,
        *,
        wake: asyncio.Event,
        poll_seconds: float,
        batch_size: int,
        service: str,
    ) -> None:
        self.sessions = sessions
        self.bootstrap_servers = bootstrap_servers
        self._producer: AIOKafkaProducer | None = None
        self.wake = wake
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.service = service
        # refreshed by the loop, read by the metric callbacks (which cannot await)
        self.backlog_rows = 0
        self.oldest_unpublished_seconds = 0.0
        self._backlog_checked = 0.0
        self._claim = DriverStatement(self._claim_select())
        self._mark = DriverStatement(self._mark_select())
        self._backlog = DriverStatement(
            sa.select(
                sa.func.count().label("rows"),
                sa.func.extract("epoch", sa.func.now() - sa.func.min(OUTBOX.c.created_at)).label("oldest"),
            ).where(OUTBOX.c.published_at.is_(None))
        )
        # the relay's own connection, kept from batch to batch; made when first used
        self._kept: KeptConnection | None = None

    async def start(self) -> None:
        # the producer binds to the running loop, so it is made here, never at build time
        self._producer = kafka_producer(self.bootstrap_servers, client_id=f"{self.service}-outbox")
        await self._producer.start()
        meter = metrics.get_meter("pss.servicekit")
        meter.create_observable_gauge(
            "pss.outbox.backlog",
            callbacks=[self._observe_backlog],
            unit="{event}",
            description="events committed but not yet published",
        )
        meter.create_observable_gauge(
            "pss.outbox.oldest_unpublished_age",
            callbacks=[self._observe_oldest],
            unit="s",
            description="how long the oldest unpublished event has waited",
        )

    def _observe_backlog(self, _options: CallbackOptions) -> list[Observation]:
        return [Observation(self.backlog_rows, {"service": self.service})]

    def _observe_oldest(self, _options: CallbackOptions) -> list[Observation]:
        return [Observation(self.oldest_unpublished_seconds, {"service": self.service})]

    async def stop(self) -> None:
        if self._kept is not None:
            await self._kept.let_go()
        if self._producer is not None:
            await self._producer.stop()

    @property
    def lock_name(self) -> str:
        # per service (each has its own outbox, several may share one database server)
        return f"pss.outbox.{self.service}"

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "OutboxRelay.start() first"
        return self._producer

    async def run(self) -> None:
        while True:
            # cleared before the batch, not after: a commit while it publishes wakes the next
            # wait at once (cleared after, its rows waited for the poll)
            self.wake.clear()
            busy = False
            try:
                try:
                    published = await self.publish_batch()
                except RelayBusy:
                    busy, published = True, 0
                # after the batch, not before: the gauges can wait, the events on a
                # referral's path cannot (it was a query before one batch in five seconds);
                # and a replica whose relay is busy keeps its gauges too
                if time.monotonic() - self._backlog_checked >= BACKLOG_REFRESH_SECONDS:
                    await self.refresh_backlog()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying", extra={"service": self.service})
                await asyncio.sleep(self.poll_seconds)
                continue
            if busy:
                await asyncio.sleep(BUSY_RETRY_SECONDS)
                continue
            if published < self.batch_size:
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass

    def _connection(self) -> KeptConnection:
        if self._kept is None:
            self._kept = KeptConnection(self.sessions.kw["bind"])
        return self._kept

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows in order; RelayBusy while another replica's
        relay is publishing (it takes the rows in order; ours wait for it)."""
        engine: AsyncEngine = self.sessions.kw["bind"]
        # compiled once; each runs alone, as its own transaction, on the relay's own kept
        # connection: this step runs on every hop of every referral, and a transaction around
        # them was two round trips more (BEGIN, COMMIT)
        claim = self._claim.compiled(engine)[0]
        kept = self._connection()
        lent = await kept.take()
        assert lent is not None, "one batch at a time"
        driver = kept.driver_of(lent)
        # held, for all we know, until the claim says otherwise (a claim that fails may have
        # taken it)
        broken, locked = True, True
        try:
            # the relay's lock and the oldest unpublished rows; the lock is the session's, held
            # from here until the rows are marked, once the broker has acknowledged every one
            # of them (a claim that finds nothing lets it go at once)
            found = await driver.fetch(claim, *self._claim.arguments(engine, {}))
            rows = [row for row in found if row["seq"] is not None]
            locked = bool(rows)
            if not found[0]["held"]:
                broken = False
                raise RelayBusy(self.service)
            sends = [await self._send(row["topic"], row["key"], row["envelope"]) for row in rows]
            await asyncio.gather(*sends)
            if rows:
                # marked, and the lock let go, in one statement: a failed send or a crash before
                # it leaves the rows unpublished, so they go again (consumers deduplicate on
                # the id); a closed connection takes its lock with it
                seqs = [row["seq"] for row in rows]
                await driver.fetch(
                    self._mark.compiled(engine)[0], *self._mark.arguments(engine, {"seqs": seqs})
                )
                locked = False
            broken = False
        except RelayBusy:
            raise
        except Exception:
            # a connection that broke, or is left inside a transaction or a statement, is
            # closed, and the next batch connects anew; a sound one lets the lock go
            broken = driver.is_closed() or driver.is_in_transaction()
            if locked and not broken:
                try:
                    await driver.execute("SELECT pg_advisory_unlock_all()")
                except Exception:
                    broken = True
            raise
        finally:
            # a cancellation (BaseException) may land inside the driver's own await: closed,
            # and the server lets the lock go with it
            await kept.give_back(broken=broken)
        counter = instruments().outbox_published
        for row in rows:
            counter.add(1, {"service": self.service, **event_attributes(row["envelope"])})
        return len(rows)

    def _lock_key(self) -> sa.ColumnElement[Any]:
        return sa.func.hashtextextended(self.lock_name, 0)

    def _claim_select(self) -> sa.Select[Any]:
        """The relay's lock and the oldest unpublished rows, in one round trip: a row saying
        whether the lock is held, joined to the rows (none when it is not). The lock is the
        session's (pg_try_advisory_lock), taken once, before the rows are read (a CTE with a
        volatile function is evaluated once), and let go in the same statement when there
        is nothing to publish. The rows are read FOR UPDATE: a row whose mark another
        replica's relay has not committed yet (its lock is let go in the statement that
        marks, a moment before that commits) is waited for and then seen marked, and left."""
        lock = sa.select(sa.func.pg_try_advisory_lock(self._lock_key()).label("held")).cte("relay_lock")
        unpublished = (
            sa.select(OUTBOX.c.seq, OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.envelope)
            # the one-row lock joined by its value: no rows unless it is held
            .select_from(OUTBOX.join(lock, lock.c.held))
            .where(OUTBOX.c.published_at.is_(None))
            .order_by(OUTBOX.c.seq)
            .limit(self.batch_size)
            .with_for_update(of=OUTBOX)
            .cte("unpublished")
        )
        released = (
            sa.select(sa.func.pg_advisory_unlock(self._lock_key()).label("released"))
            .select_from(lock)
            .where(lock.c.held, ~sa.exists(sa.select(unpublished.c.seq)))
            .cte("released")
        )
        # read by nobody: a CTE nothing refers to is never run, so the unlock is asked for here
        let_go = sa.select(sa.func.count()).select_from(released).scalar_subquery()
        return (
            sa.select(lock.c.held, *unpublished.c, let_go.label("let_go"), _NOT_WAITING_FOR_THE_DISK)
            .select_from(lock.outerjoin(unpublished, sa.true()))
            .order_by(unpublished.c.seq)
        )

    def _mark_select(self) -> sa.Select[Any]:
        """The rows published, and the relay's lock let go once they are marked (the marks
        are counted first, so the update has run before the unlock)."""
        marked = (
            sa.update(OUTBOX)
            .where(OUTBOX.c.seq == sa.func.any(sa.bindparam("seqs", type_=ARRAY(sa.BigInteger))))
            .values(published_at=sa.func.now())
            .returning(OUTBOX.c.seq)
            .cte("marked")
        )
        counted = sa.select(sa.func.count().label("marked")).select_from(marked).subquery()
        return sa.select(
            counted.c.marked,
            sa.func.pg_advisory_unlock(self._lock_key()).label("released"),
            _NOT_WAITING_FOR_THE_DISK,
        )

    async def _send(self, topic: str, key: str, envelope: dict[str, Any]) -> asyncio.Future[Any]:
        # continue the trace of the request that wrote the event, not the relay's own
        parent = TraceContextTextMapPropagator().extract(
            {"traceparent": envelope.get("trace", {}).get("traceparent") or ""}
        )
        token = otel_context.attach(parent)
        try:
            with tracer.start_as_current_span(
                f"{topic} publish",
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": topic,
                    "messaging.message.id": str(envelope["id"]),
                    "pss.event_type": str(envelope["type"]),
                    "pss.site_id": key,
                },
            ):
                carrier: dict[str, str] = {}
                inject(carrier)
                headers = [(k, v.encode()) for k, v in carrier.items()]
                headers.append(("event_type", str(envelope["type"]).encode()))
                value = json.dumps(envelope, separators=(",", ":")).encode()
                return await self.producer.send(topic, value=value, key=key.encode(), headers=headers)
        finally:
            otel_context.detach(token)

    async def refresh_backlog(self) -> None:
        """The gauges, on the relay's kept connection, between batches: one round trip (a
        pooled session idle five seconds was a ping, a BEGIN, the query and a ROLLBACK)."""
        engine: AsyncEngine = self.sessions.kw["bind"]
        kept = self._connection()
        lent = await kept.take()
        assert lent is not None, "between batches"
        broken = True
        try:
            row = await kept.driver_of(lent).fetchrow(self._backlog.compiled(engine)[0])
            broken = False
        finally:
            await kept.give_back(broken=broken)
        self.backlog_rows = int(row["rows"] or 0)
        self.oldest_unpublished_seconds = float(row["oldest"] or 0)
        self._backlog_checked = time.monotonic()

    async def backlog(self) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(
                    sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.published_at.is_(None))
                )
                or 0
            )
