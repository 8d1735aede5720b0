"""Consuming events: idempotent, committed after the effect, dead-lettered when hopeless.

Every service consumes through :class:`EventConsumer`. It subscribes with FastStream's
``AckPolicy.NACK_ON_ERROR`` and auto-commit off, so the offset is committed only after the
handler's unit of work committed; a failure seeks back and the message comes again.

* A message that is not a valid envelope, or a known type whose payload is invalid, goes
  straight to ``<topic>.dead-letter``: retrying cannot fix it.
* A handler that keeps failing is retried; after ``dead_letter_after_attempts`` the message
  goes to the dead-letter topic with the reason, and the partition moves on.
* An infrastructure failure (database or broker unreachable) is retried without counting:
  a valid event is never dead-lettered because PostgreSQL restarted.
* A redelivered event is recognised by the inbox and changes nothing.

What one poll returns is processed as a batch: one transaction for all of it, which is most
of the cost of an event otherwise. When one fails, the transaction is rolled back and the
events before it go again in one transaction; the failing one then goes alone through the
path above (retries, dead letters), and the rest follow. Each event continues its own trace.

A batch's offsets are committed after its transaction, but not at once: the offsets of the
batches processed within ``COMMIT_EVERY_SECONDS`` go in one commit, off the path of the next
poll: at a low rate nearly every batch is one event, and a commit each was a request to the
broker each. What a crash or a rebalance leaves uncommitted comes again, and the inbox
recognises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import sqlalchemy.exc
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from contracts import EVENT_TYPES, Envelope, Event, parse_payload, topics
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from opentelemetry import trace
from pydantic import ValidationError

from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.inbox import claim, claim_all
from servicekit.telemetry import continue_trace, instruments

log = logging.getLogger(__name__)

EventHandler = Callable[[Any, UnitOfWork, Envelope], Awaitable[None]]
Record = tuple[str, int, int, bytes | None, bytes | None]  # topic, partition, offset, key, value
tracer = trace.get_tracer("pss.servicekit.consumer")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    KafkaError,
    ConnectionError,
    TimeoutError,
)
# SQLSTATEs of a server that is unreachable, shutting down, starting up or full: an outage
# to wait out, never a fault of the event (found by the fault drill: asyncpg raises
# "the database system is starting up" unwrapped while PostgreSQL recovers)
OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# a deadlock or a serialization failure: the transaction lost a race, the event is fine;
# retried like an outage, never counted towards its dead letter
RACE_SQLSTATES = ("40P01", "40001")


def is_outage(exc: BaseException) -> bool:
    """True when the database or the broker is down, not when the handler is wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TRANSIENT_ERRORS):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith((*OUTAGE_SQLSTATES, *RACE_SQLSTATES)):
            return True
        orig = getattr(current, "orig", None)
        current = current.__cause__ or (orig if isinstance(orig, BaseException) else None)
    return False


class _HandlerFailed(Exception):
    """The handler of the batch's ``at``-th record failed; the transaction is rolled back."""

    def __init__(self, at: int) -> None:
        super().__init__(at)
        self.at = at


class RejectEvent(Exception):
    """Raised by a handler for an event that can never be processed (it goes to the
    dead-letter topic at once, with this message as the reason)."""


class Subscriptions:
    """Which handler processes which event type; declared by each service's consumers
    module, as plain functions."""

    def __init__(self) -> None:
        self.handlers: dict[str, EventHandler] = {}

    def on(self, event_cls: type[Event]) -> Callable[[EventHandler], EventHandler]:
        def register(handler: EventHandler) -> EventHandler:
            self.handlers[event_cls.TYPE] = handler
            return handler

        return register

    @property
    def topics(self) -> list[str]:
        return sorted({EVENT_TYPES[t].TOPIC for t in self.handlers})


EMPTY_POLL_MS = 1000


def listen_without_pause(subscriber: Any) -> None:
    """FastStream's batch subscriber (0.7) sleeps as long again after an empty poll, and a
    record that arrives meanwhile waits out the sleep: on every hop of a referral, whenever
    the platform is quiet. Here an empty poll polls again at once; aiokafka's poll waits
    for a fetch, so an idle loop stays idle."""

    if not callable(getattr(type(subscriber), "get_msg", None)):
        # another FastStream polls another way: say so at start-up rather than go slow quietly
        raise TypeError(f"{type(subscriber).__name__} has no get_msg to replace: check FastStream's version")

    async def get_msg(consumer: Any) -> tuple[Any, ...]:
        polled = await consumer.getmany(
            timeout_ms=subscriber.batch_timeout_ms, max_records=subscriber.max_records
        )
        return tuple(record for records in polled.values() for record in records)

    subscriber.get_msg = get_msg


async def as_received(msg: KafkaMessage) -> KafkaMessage:
    """FastStream's decoder for every subscriber here: the message itself. The consumer parses
    each envelope once; FastStream's own decoder parsed the JSON a first time, for nothing.
    The handler takes the message as its one argument, so nothing is injected (a broker with
    ``apply_types=False``): resolving the message as an injected dependency ran in a worker
    thread, a thread hop per poll."""
    return msg


# how long a processed batch's offsets may wait to be committed with the next ones. Each
# commit is a request the broker answers (1 to 1.5 ms of its CPU here); at 0.5 s the three
# hurried services committed 1.7 times a second each at 5 referrals/s. What a crash leaves
# uncommitted comes again and the inbox skips it; a rebalance or a stop commits at once.
COMMIT_EVERY_SECONDS = 2.0
# how long a stopping service waits for a commit on its way (a round trip to the broker)
STOP_WAITS_SECONDS = 5.0


class Offsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """Offsets processed and not committed yet, per partition: the next one to read. They
    are committed together, soon after the first of them; a partition taken away (a
    rebalance) or the service stopping commits them at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.consumer: AIOKafkaConsumer | None = None
        self.pending: dict[TopicPartition, int] = {}
        self._soon: asyncio.Task[None] | None = None
        self._committing = False

    def processed(self, consumer: AIOKafkaConsumer, records: Iterable[Any]) -> None:
        self.consumer = consumer
        for record in records:
            where = TopicPartition(record.topic, record.partition)
            self.pending[where] = max(self.pending.get(where, 0), record.offset + 1)
        if self._soon is None or self._soon.done():
            self._soon = asyncio.create_task(self._commit_soon())

    async def _commit_soon(self) -> None:
        # and again while batches processed during a commit wait: on a quiet platform no
        # later batch would start another
        while self.pending:
            await asyncio.sleep(COMMIT_EVERY_SECONDS)
            self._committing = True
            try:
                await self.commit()
            finally:
                self._committing = False

    async def commit(self, only: Iterable[TopicPartition] | None = None) -> None:
        if self.consumer is None:
            return
        wanted = self.pending.keys() if only is None else set(only) & self.pending.keys()
        # a partition no longer ours is committed by its new owner (the inbox skips repeats)
        ours = self.consumer.assignment()
        offsets = {where: self.pending.pop(where) for where in list(wanted)}
        offsets = {where: offset for where, offset in offsets.items() if where in ours}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except Exception:
            # those events come again after a restart or a rebalance: the inbox skips them
            log.warning(
                "offset commit failed; the events may be delivered again", extra={"consumer": self.name}
            )

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.commit(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        pass

    async def stop(self) -> None:
        """Commit what was processed, before the service's broker stops. A commit already
        on its way is let finish: cancelled, its offsets would be lost."""
        await self.commit()
        if self._soon is not None and not self._soon.done():
            if self._committing:  # nothing is pending now: a sleep alone is cancelled at once
                await asyncio.wait([self._soon], timeout=STOP_WAITS_SECONDS)
            self._soon.cancel()


class EventConsumer:
    def __init__(
        self,
        *,
        name: str,
        subscriptions: Subscriptions,
        uow: UnitOfWorkFactory,
        broker: KafkaBroker,
        dead_letter_after_attempts: int,
        retry_backoff_seconds: float,
        batch_max: int = 1,
        fetch_max_wait_ms: int = 500,
        fetch_min_bytes: int = 1,
    ) -> None:
        self.name = name
        self.subscriptions = subscriptions
        self.uow = uow
        self.broker = broker
        self.max_attempts = dead_letter_after_attempts
        self.backoff = retry_backoff_seconds
        self.batch_max = batch_max
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.fetch_min_bytes = fetch_min_bytes
        self._attempts: dict[tuple[str, int, int], int] = {}
        self.offsets = Offsets(name)

    def attach(self) -> None:
        """Register the subscriber on the broker; connects nothing until the broker starts."""
        if not self.subscriptions.handlers:
            return
        if self.batch_max > 1:
            subscriber = self.broker.subscriber(
                *self.subscriptions.topics,
                group_id=self.name,
                auto_offset_reset="earliest",
                # committed by self.offsets after the effect; a failure seeks back (_on_batch)
                ack_policy=AckPolicy.MANUAL,
                listener=self.offsets,
                batch=True,
                max_records=self.batch_max,
                # a poll returns what is there at once; this only bounds an empty one
                batch_timeout_ms=EMPTY_POLL_MS,
                decoder=as_received,
                fetch_max_wait_ms=self.fetch_max_wait_ms,
                fetch_min_bytes=self.fetch_min_bytes,
                title=f"{self.name} events",
            )
            subscriber(self._on_batch)
            listen_without_pause(subscriber)
            return
        self.broker.subscriber(
            *self.subscriptions.topics,
            group_id=self.name,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=as_received,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            fetch_min_bytes=self.fetch_min_bytes,
            title=f"{self.name} events",
        )(self._on_message)

    # ``msg: Any``: FastStream refuses its message class as a plain argument's annotation
    async def _on_message(self, msg: Any) -> None:
        record = msg.raw_message
        assert not isinstance(record, tuple)  # one record at a time
        await self.process(record.topic, record.partition, record.offset, record.key, record.value)

    async def _on_batch(self, msg: Any) -> None:
        records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        try:
            await self.process_batch([(r.topic, r.partition, r.offset, r.key, r.value) for r in records])
        except BaseException:
            await msg.nack()  # every partition of the batch back to its first unprocessed record
            raise
        self.offsets.processed(msg.consumer, records)  # type: ignore[attr-defined]

    async def process_batch(self, records: list[Record]) -> None:
        """Process a poll's records in one transaction; from the first that fails, one at a
        time (an exception from there seeks every partition of the batch back: the records
        already committed are then recognised by the inbox and skipped)."""
        pending = list(records)
        while pending:
            if len(pending) > 1:
                try:
                    done = await self._together(pending)
                except Exception as exc:
                    # the transaction itself failed (an outage): one at a time says so
                    log.warning(
                        "a batch's transaction failed; its events go one at a time",
                        extra={"consumer": self.name, "error": type(exc).__name__},
                    )
                    done = 0
                pending = pending[done:]
                if not pending:
                    return
            await self.process(*pending[0])
            pending = pending[1:]

    async def _together(self, records: list[Record]) -> int:
        """As many leading records as go through, in one transaction; returns how many. A
        record that is malformed stops the run before it. A handler that fails rolls the
        whole transaction back, and the records before it go again in one transaction of
        their own: a failure is rare, and a savepoint an event cost two statements, each
        named anew (sa_savepoint_1 to _100), which also pushed the service's own statements
        out of asyncpg's cache of 100 prepared statements."""
        run: list[tuple[Envelope, EventHandler | None, Any]] = []
        for _topic, _partition, _offset, _key, value in records:
            try:
                envelope = Envelope.from_bytes(value or b"")
                handler = self.subscriptions.handlers.get(envelope.type)
                run.append((envelope, handler, parse_payload(envelope) if handler else None))
            except (ValidationError, ValueError):
                break  # dead-lettered alone, with its reason
        if not run:
            return 0
        try:
            await self._in_one_transaction(run)
            return len(run)
        except _HandlerFailed as failed:
            before = failed.at
        if before == 0:
            return 0
        try:
            await self._in_one_transaction(run[:before])
        except _HandlerFailed:
            return 0  # one at a time from the first: each failure then says what it is
        return before

    async def _in_one_transaction(self, run: list[tuple[Envelope, EventHandler | None, Any]]) -> None:
        """The run's effects, each once: the batch's ids are claimed in the inbox in one
        statement, and only the events claimed now are handled."""
        consumed: list[str] = []
        async with self.uow() as uow:
            ours = [(envelope.id, envelope.type) for envelope, handler, _ in run if handler is not None]
            fresh = await claim_all(uow, consumer=self.name, events=ours)
            for at, (envelope, handler, event) in enumerate(run):
                if handler is None or envelope.id not in fresh:
                    continue  # a type this consumer does not handle, or a redelivery
                fresh.discard(envelope.id)
                try:
                    with self._traced(envelope):
                        await handler(event, uow, envelope)
                except Exception as exc:
                    raise _HandlerFailed(at) from exc
                consumed.append(envelope.type)
        # counted once committed
        for event_type in consumed:
            instruments().events_consumed.add(1, {"consumer": self.name, "event_type": event_type})

    @contextlib.contextmanager
    def _traced(self, envelope: Envelope) -> Iterator[None]:
        """An event continues its own referral's trace, in a batch or alone. FastStream's
        telemetry middleware is not used: its span a poll was a trace of its own, exported
        for nothing, since a batch's events belong to as many referrals."""
        with (
            continue_trace(envelope.trace.traceparent),
            tracer.start_as_current_span(f"{envelope.type} process", kind=trace.SpanKind.CONSUMER),
        ):
            yield

    async def _handle(self, uow: UnitOfWork, handler: EventHandler, event: Any, envelope: Envelope) -> None:
        """The effect, once: a redelivered event is recognised by the inbox and skipped."""
        if await claim(uow, consumer=self.name, event_id=envelope.id, event_type=envelope.type):
            await handler(event, uow, envelope)

    async def process(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        where = (topic, partition, offset)
        try:
            envelope = Envelope.from_bytes(value or b"")
            handler = self.subscriptions.handlers.get(envelope.type)
            if handler is None:
                # a type this consumer does not handle, or a newer one it does not know yet
                return
            event = parse_payload(envelope)
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(topic, partition, offset, key, value, 1, f"malformed: {_brief(exc)}")
            return

        try:
            with self._traced(envelope):
                async with self.uow() as uow:
                    await self._handle(uow, handler, event, envelope)
        except RejectEvent as exc:
            await self._dead_letter(topic, partition, offset, key, value, 1, f"rejected: {exc}")
            return
        except Exception as exc:
            if is_outage(exc):
                log.warning(
                    "infrastructure unavailable; will retry", extra={"event_id": envelope.id, "topic": topic}
                )
                await asyncio.sleep(self.backoff * 5)
                raise
            attempt = self._attempts.get(where, 0) + 1
            instruments().handler_failures.add(1, {"consumer": self.name, "event_type": envelope.type})
            log.exception(
                "handler failed",
                extra={"event_id": envelope.id, "event_type": envelope.type, "attempt": attempt},
            )
            if attempt >= self.max_attempts:
                self._attempts.pop(where, None)
                await self._dead_letter(
                    topic, partition, offset, key, value, attempt, f"failed: {_brief(exc)}"
                )
                return
            self._attempts[where] = attempt
            await asyncio.sleep(self.backoff * attempt)
            raise
        self._attempts.pop(where, None)
        instruments().events_consumed.add(1, {"consumer": self.name, "event_type": envelope.type})

    async def _dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        attempts: int,
        reason: str,
    ) -> None:
        headers = {
            "dlt.original_topic": topic,
            "dlt.original_partition": str(partition),
            "dlt.original_offset": str(offset),
            "dlt.consumer": self.name,
            "dlt.attempts": str(attempts),
            "dlt.error": reason[:500],
        }
        await self.broker.publish(value or b"", topic=topics.dead_letter(topic), key=key, headers=headers)
        instruments().dead_letters.add(1, {"consumer": self.name, "topic": topic})
        log.error(
            "message dead-lettered",
            extra={"topic": topic, "partition": partition, "offset": offset, "reason": reason[:200]},
        )


def _brief(exc: BaseException) -> str:
    """An error summary for headers and logs. Validation errors list field paths and
    messages only (pydantic's input values could echo message content)."""
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(x) for x in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        ]
        return f"{len(parts)} validation error(s): " + "; ".join(parts[:5])
    return f"{type(exc).__name__}: {exc}"[:300]
