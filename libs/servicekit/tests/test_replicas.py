"""Two replicas of one service on a real PostgreSQL server and Kafka broker: the outbox relay
keeps each site's order, and a single-flight loop step runs in one replica at a time."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pss_testkit.database import round_trips
from servicekit.database import Database
from servicekit.outbox import OutboxRelay, RelayBusy
from servicekit.service import single_flight
from servicekit.tables import OUTBOX

pytestmark = pytest.mark.integration


def relay(database: Database, bootstrap: str, service: str) -> OutboxRelay:
    return OutboxRelay(
        database.sessions, bootstrap, wake=asyncio.Event(), poll_seconds=0.1, batch_size=2, service=service
    )


async def numbered_events(database: Database, bootstrap: str, count: int) -> str:
    """A new one-partition topic, and ``count`` numbered events of one site for it in the
    outbox, in order; the topic's name."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    async with database.sessions() as session, session.begin():
        for n in range(1, count + 1):
            event_id = uuid.uuid4()
            await session.execute(
                sa.insert(OUTBOX).values(
                    event_id=event_id,
                    topic=topic,
                    key="site-1",
                    event_type="test.numbered.v1",
                    envelope={"id": str(event_id), "type": "test.numbered.v1", "payload": {"n": n}},
                )
            )
    return topic


async def read_topic(bootstrap: str, topic: str, expected: int) -> list[int]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[int] = []
    try:
        for _ in range(40):
            batches = await consumer.getmany(timeout_ms=250)
            found += [json.loads(r.value)["payload"]["n"] for rs in batches.values() for r in rs]
            if len(found) >= expected:
                break
    finally:
        await consumer.stop()
    return found


async def test_a_second_replica_publishes_nothing_while_the_first_holds_a_batch(
    scratch_database, infrastructure
):
    """Replica A has taken rows 1-2 and is still publishing them; replica B must not publish
    rows 3-4 of the same site meanwhile, or the site's events reach Kafka out of order."""
    topic = await numbered_events(scratch_database, infrastructure.kafka_bootstrap, 4)
    service = f"svc-{uuid.uuid4().hex[:8]}"
    first = relay(scratch_database, infrastructure.kafka_bootstrap, service)
    second = relay(scratch_database, infrastructure.kafka_bootstrap, service)
    await first.start()
    await second.start()
    try:
        sending, release = asyncio.Event(), asyncio.Event()
        send = first._send

        async def slow_send(*args, **kwargs):
            sending.set()
            await release.wait()  # replica A is mid-batch, its transaction open
            return await send(*args, **kwargs)

        first._send = slow_send  # type: ignore[method-assign]
        batch = asyncio.create_task(first.publish_batch())
        await asyncio.wait_for(sending.wait(), 10)
        with pytest.raises(RelayBusy):
            await second.publish_batch()
        release.set()
        assert await batch == 2
        # once A's batch is done, B takes the next rows, in order
        assert await second.publish_batch() == 2
        assert await read_topic(infrastructure.kafka_bootstrap, topic, 4) == [1, 2, 3, 4]
    finally:
        await first.stop()
        await second.stop()


async def test_a_relays_batch_is_two_statements_and_an_empty_one_is_one(scratch_database, infrastructure):
    """A batch is its claim (the lock with the rows) and, once the broker has acknowledged
    them, their mark (with the lock let go), each its own transaction: a BEGIN and a COMMIT
    around them were two round trips more of every batch, on every hop of a referral. A
    claim that finds nothing lets the lock go itself: the relay's poll at rest is one round
    trip (it was three). Counted at the driver: the relay runs on the driver's own
    connection."""
    topic = await numbered_events(scratch_database, infrastructure.kafka_bootstrap, 4)
    through_sqlalchemy: list[str] = []

    @sa.event.listens_for(scratch_database.engine.sync_engine, "after_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        through_sqlalchemy.append(statement)

    def verbs(sent: list[str]) -> list[str]:
        return [query.split()[0].rstrip(";").upper() for query in sent]

    only = relay(scratch_database, infrastructure.kafka_bootstrap, f"svc-{uuid.uuid4().hex[:8]}")
    await only.start()
    try:
        async with round_trips(scratch_database) as statements:
            # a new connection's first mark asks the server once what a bigint[] is
            assert await only.publish_batch() == 2
            await asyncio.sleep(0)  # the driver calls its query loggers soon after, not at once
            statements.clear()
            assert await only.publish_batch() == 2
            await asyncio.sleep(0)
            assert verbs(statements) == ["WITH", "WITH"]
            statements.clear()
            assert await only.publish_batch() == 0  # nothing left: the claim alone
            await asyncio.sleep(0)
            assert verbs(statements) == ["WITH"]
            statements.clear()
            await only.refresh_backlog()  # the gauges, on the same connection
            await asyncio.sleep(0)
            assert verbs(statements) == ["SELECT"] and only.backlog_rows == 0
            # the relay's commits did not wait for the disk, and only its own did not: its
            # connection commits durably, whoever uses it next
            kept = only._connection()
            lent = await kept.take()
            assert lent is not None
            try:
                assert await kept.driver_of(lent).fetchval("SHOW synchronous_commit") == "on"
            finally:
                await kept.give_back(broken=False)
            # on the driver's own connection: SQLAlchemy's session cost three times as much
            assert through_sqlalchemy == []
    finally:
        await only.stop()
    assert await read_topic(infrastructure.kafka_bootstrap, topic, 4) == [1, 2, 3, 4]
    assert await unpublished(scratch_database) == 0


async def test_a_relay_keeps_its_connection_and_replaces_one_the_server_closed(
    scratch_database, infrastructure
):
    """A checkout from the pool and a check-in for every batch cost about a third of an
    empty batch's CPU, and after two idle seconds a ping besides (three round trips), on
    every hop of every referral: the relay checks out once and keeps its connection. One the
    server closed meanwhile (a restart, an administrator) is replaced before the next batch,
    which publishes as if nothing had happened."""
    bootstrap = infrastructure.kafka_bootstrap
    first_topic = await numbered_events(scratch_database, bootstrap, 4)
    checkouts: list[int] = []

    @sa.event.listens_for(scratch_database.engine.sync_engine, "checkout")
    def counted(dbapi_connection, record, proxy):  # type: ignore[no-untyped-def]
        checkouts.append(dbapi_connection.driver_connection.get_server_pid())

    only = relay(scratch_database, bootstrap, f"svc-{uuid.uuid4().hex[:8]}")
    await only.start()
    try:
        checkouts.clear()
        assert [await only.publish_batch() for _ in range(3)] == [2, 2, 0]
        assert len(checkouts) == 1
        (kept,) = checkouts
        async with scratch_database.engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": kept})
        second_topic = await numbered_events(scratch_database, bootstrap, 2)
        checkouts.clear()
        for _ in range(50):  # the driver sees its socket closed
            try:
                published = await only.publish_batch()
                break
            except Exception:  # closed under a statement: the next batch connects anew
                await asyncio.sleep(0.1)
        assert published == 2
        assert checkouts and kept not in checkouts
    finally:
        await only.stop()
    assert await read_topic(bootstrap, first_topic, 4) == [1, 2, 3, 4]
    assert await read_topic(bootstrap, second_topic, 2) == [1, 2]


async def unpublished(database: Database) -> int:
    async with database.sessions() as session:
        return int(
            await session.scalar(
                sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.published_at.is_(None))
            )
        )


async def advisory_locks_once_settled(database: Database) -> int:
    held = -1
    for _ in range(50):
        async with database.engine.connect() as conn:
            held = int(
                await conn.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
            )
        if held == 0:
            break
        await asyncio.sleep(0.1)
    return held


async def a_failed_batch_then_the_next(
    database: Database, bootstrap: str, fail: Callable[[OutboxRelay], Awaitable[None]]
) -> None:
    """Two rows; ``fail`` makes a batch fail its own way. Both are then unpublished, and the
    next batch sends them, in order."""
    topic = await numbered_events(database, bootstrap, 2)
    only = relay(database, bootstrap, f"svc-{uuid.uuid4().hex[:8]}")
    await only.start()
    try:
        send = only._send
        await fail(only)
        assert await unpublished(database) == 2
        # and the relay's lock was let go: another replica is not kept waiting for ever (a
        # closed connection's lock goes when the server sees it closed)
        assert await advisory_locks_once_settled(database) == 0
        only._send = send  # type: ignore[method-assign]
        assert await only.publish_batch() == 2
    finally:
        await only.stop()
    assert await read_topic(bootstrap, topic, 2) == [1, 2]
    assert await unpublished(database) == 0


async def test_rows_whose_send_failed_stay_unpublished_and_go_with_the_next_batch(
    scratch_database, infrastructure
):
    """The rows are marked only once the broker has acknowledged every one of them: after a
    send it did not acknowledge they are still unpublished, so nothing is lost, and the
    relay's lock is let go at once (its connection is sound and kept)."""

    async def refused(*args, **kwargs):
        # sent, then not acknowledged: the send's future fails
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_exception(ConnectionError("the broker did not acknowledge"))
        return acknowledged

    async def fail(only: OutboxRelay) -> None:
        only._send = refused  # type: ignore[method-assign]
        with pytest.raises(ConnectionError):
            await only.publish_batch()

    await a_failed_batch_then_the_next(scratch_database, infrastructure.kafka_bootstrap, fail)


async def test_a_batch_cancelled_while_it_waits_for_the_broker_leaves_nothing_open(
    scratch_database, infrastructure
):
    """The relay's connection is the driver's own, out of SQLAlchemy's sight: a service
    stopping (or a replica losing its lease) cancels a batch while the broker has not yet
    acknowledged it. Its connection, holding the relay's lock, is closed, not kept: the lock
    goes with it, nothing is left inside a transaction, and its rows go with the next
    batch."""
    waiting = asyncio.Event()

    async def never_acknowledged(*args, **kwargs):
        waiting.set()
        return asyncio.get_running_loop().create_future()  # never done

    async def fail(only: OutboxRelay) -> None:
        only._send = never_acknowledged  # type: ignore[method-assign]
        batch = asyncio.create_task(only.publish_batch())
        await asyncio.wait_for(waiting.wait(), timeout=10)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        async with scratch_database.engine.connect() as conn:
            open_transactions = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            )
        assert open_transactions == 0

    await a_failed_batch_then_the_next(scratch_database, infrastructure.kafka_bootstrap, fail)


async def test_a_single_flight_step_runs_in_one_replica_at_a_time(scratch_database):
    running, release = asyncio.Event(), asyncio.Event()
    ran: list[str] = []

    def step(replica: str):
        async def run() -> int:
            ran.append(replica)
            running.set()
            await release.wait()
            return 1

        return run

    name = f"test.loop.{uuid.uuid4().hex[:8]}"
    first = asyncio.create_task(single_flight(scratch_database, name, step("a"))())
    await asyncio.wait_for(running.wait(), 10)
    # replica B skips the step while A runs it ...
    assert await single_flight(scratch_database, name, step("b"))() == 0
    release.set()
    assert await first == 1
    # ... and runs it once A has finished (or died: the lock goes with A's connection)
    assert await single_flight(scratch_database, name, step("b"))() == 1
    assert ran == ["a", "b"]


async def test_a_row_marked_by_another_while_the_relay_read_it_is_not_published_again(
    scratch_database, infrastructure
):
    """Another replica's relay marks row 1 and commits while ours is reading: ours read row
    1 from its statement's snapshot, unpublished, but the mark is checked again on the row
    as it is now, so only row 2 goes out."""
    topic = await numbered_events(scratch_database, infrastructure.kafka_bootstrap, 2)
    only = relay(scratch_database, infrastructure.kafka_bootstrap, f"svc-{uuid.uuid4().hex[:8]}")
    await only.start()
    other = await scratch_database.engine.connect()
    try:
        first = await other.scalar(sa.select(sa.func.min(OUTBOX.c.seq)))
        await other.execute(sa.update(OUTBOX).where(OUTBOX.c.seq == first).values(published_at=sa.func.now()))
        batch = asyncio.create_task(only.publish_batch())
        await asyncio.sleep(0.5)  # ours waits on row 1, the other's uncommitted mark
        assert not batch.done()
        await other.commit()
        assert await batch == 1
    finally:
        await other.close()
        await only.stop()
    assert await read_topic(infrastructure.kafka_bootstrap, topic, 2) == [2]
