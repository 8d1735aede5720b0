"""The consumer's retry and dead-letter path, on a real Kafka broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from contracts import topics
from contracts.events import ReferralClosed, ReferralWithdrawn
from faststream.kafka import KafkaBroker
from pss_testkit.database import statements_run
from servicekit.consumer import COMMIT_EVERY_SECONDS, EventConsumer, Subscriptions
from servicekit.database import UnitOfWorkFactory
from servicekit.tables import INBOX

pytestmark = pytest.mark.integration


async def _dead_letters(bootstrap: str, site_id: str, expected: int) -> list:
    consumer = AIOKafkaConsumer(
        topics.dead_letter(topics.REFERRALS), bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found = []
    try:
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=500)
            found += [m for ms in batch.values() for m in ms if m.key == site_id.encode()]
            if len(found) >= expected:
                break
    finally:
        await consumer.stop()
    return found


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_n_attempts_and_the_partition_moves_on(
    infrastructure, scratch_database
):
    site_id = f"t-{uuid.uuid4().hex[:6]}"
    calls: dict[str, int] = {"withdrawn": 0, "closed": 0}
    subscriptions = Subscriptions()

    @subscriptions.on(ReferralWithdrawn)
    async def always_fails(event, uow, envelope):
        if event.site_id == site_id:
            calls["withdrawn"] += 1
            raise RuntimeError("the effect cannot be applied")

    @subscriptions.on(ReferralClosed)
    async def succeeds(event, uow, envelope):
        if event.site_id == site_id:
            calls["closed"] += 1

    broker = KafkaBroker(infrastructure.kafka_bootstrap)
    _consumer(subscriptions, UnitOfWorkFactory(scratch_database, producer="test"), broker).attach()

    referral = uuid.uuid4()
    failing = ReferralWithdrawn(referral_id=referral, site_id=site_id, stage="submitted")
    after = ReferralClosed(
        referral_id=referral, site_id=site_id, contact_made=True, outcome="one_time_support"
    )
    producer = AIOKafkaProducer(bootstrap_servers=infrastructure.kafka_bootstrap)
    await producer.start()
    for event in (failing, after):
        envelope = event.envelope(site_id=site_id, producer="test")
        await producer.send_and_wait(topics.REFERRALS, envelope.to_bytes(), key=site_id.encode())
    await producer.stop()

    await broker.start()
    try:
        # a new group reads the topic from the start: after the platform's tests it is long
        for _ in range(900):
            if calls["closed"]:
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()

    assert calls == {"withdrawn": 3, "closed": 1}
    [dead] = await _dead_letters(infrastructure.kafka_bootstrap, site_id, expected=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["dlt.attempts"] == "3"
    assert headers["dlt.error"] == "failed: RuntimeError: the effect cannot be applied"
    assert headers["dlt.original_topic"] == topics.REFERRALS
    async with scratch_database.sessions() as session:
        processed = (await session.execute(sa.select(INBOX.c.event_type))).scalars().all()
    assert processed == ["intake.referral.closed.v1"]  # the failed event left no trace


class _Counting(UnitOfWorkFactory):
    """A factory that counts the transactions it opens, and keeps what a handler noted in
    ``uow.effects`` once its transaction commits (an effect rolled back is not one)."""

    opened = 0

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.committed: list = []

    def __call__(self):  # type: ignore[no-untyped-def]
        self.opened += 1
        uow = super().__call__()
        uow.effects = []
        uow.number = self.opened
        commit = uow.commit

        async def committed():  # type: ignore[no-untyped-def]
            await commit()
            self.committed.extend(uow.effects)

        uow.commit = committed
        return uow


def _consumer(
    subscriptions: Subscriptions, uow: UnitOfWorkFactory, broker: KafkaBroker, **settings
) -> EventConsumer:  # type: ignore[no-untyped-def]
    """A consumer under a group of its own, that retries quickly; ``settings`` as the test needs."""
    settings.setdefault("name", f"test-{uuid.uuid4().hex[:6]}")
    return EventConsumer(
        subscriptions=subscriptions,
        uow=uow,
        broker=broker,
        dead_letter_after_attempts=3,
        retry_backoff_seconds=0.01,
        **settings,
    )


async def _produce(bootstrap: str, site_id: str, events: list) -> list[uuid.UUID]:
    """The events on the referrals topic, in order; their envelopes' ids."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    ids = []
    try:
        for event in events:
            envelope = event.envelope(site_id=site_id, producer="test")
            ids.append(envelope.id)
            await producer.send(topics.REFERRALS, envelope.to_bytes(), key=site_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    return ids


def _closed(site_id: str) -> ReferralClosed:
    return ReferralClosed(
        referral_id=uuid.uuid4(), site_id=site_id, contact_made=True, outcome="one_time_support"
    )


async def test_a_batch_is_one_transaction_and_a_poison_in_it_goes_alone_to_its_dead_letter_topic(
    infrastructure, scratch_database
):
    site_id = f"t-{uuid.uuid4().hex[:6]}"
    poisoned = {"calls": 0}
    subscriptions = Subscriptions()

    @subscriptions.on(ReferralWithdrawn)
    async def always_fails(event, uow, envelope):
        if event.site_id == site_id:
            poisoned["calls"] += 1
            raise RuntimeError("the effect cannot be applied")

    @subscriptions.on(ReferralClosed)
    async def succeeds(event, uow, envelope):
        if event.site_id == site_id:
            uow.effects.append(event.referral_id)

    # 40 good events, a poison, 40 more, on one partition (one site's key keeps the order)
    before = [_closed(site_id) for _ in range(40)]
    poison = ReferralWithdrawn(referral_id=uuid.uuid4(), site_id=site_id, stage="submitted")
    after = [_closed(site_id) for _ in range(40)]
    ids = await _produce(infrastructure.kafka_bootstrap, site_id, [*before, poison, *after])

    units = _Counting(scratch_database, producer="test")
    seen = units.committed
    broker = KafkaBroker(infrastructure.kafka_bootstrap)
    _consumer(subscriptions, units, broker, batch_max=100).attach()
    await broker.start()
    try:
        for _ in range(900):
            if len(set(seen)) == 80:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # anything more would show now
    finally:
        await broker.stop()

    # every good event's effect exactly once, in order, though the batch came again after the
    # poison failed (the inbox recognised the ones already committed)
    assert seen == [e.referral_id for e in [*before, *after]]
    [dead] = await _dead_letters(infrastructure.kafka_bootstrap, site_id, expected=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert (headers["dlt.attempts"], headers["dlt.error"]) == (
        "3",
        "failed: RuntimeError: the effect cannot be applied",
    )
    async with scratch_database.sessions() as session:
        ours = sa.select(sa.func.count()).select_from(INBOX).where(INBOX.c.event_id.in_(ids))
        processed = (await session.execute(ours)).scalar()
    assert processed == 80  # the poison left no trace
    # far fewer transactions than events: the good runs went in a few, the poison alone thrice
    assert units.opened < 30, units.opened


async def test_offsets_are_committed_after_the_effect_and_batches_share_a_commit(
    infrastructure, scratch_database, monkeypatch
):
    site_id = f"t-{uuid.uuid4().hex[:6]}"
    ours = [_closed(site_id) for _ in range(40)]
    producer = AIOKafkaProducer(bootstrap_servers=infrastructure.kafka_bootstrap)
    await producer.start()
    try:
        sent = [
            await producer.send_and_wait(
                topics.REFERRALS,
                e.envelope(site_id=site_id, producer="test").to_bytes(),
                key=site_id.encode(),
            )
            for e in ours
        ]
    finally:
        await producer.stop()
    partition = TopicPartition(topics.REFERRALS, sent[0].partition)
    held_at = sent[9].offset  # the tenth of ours waits until the test lets it go

    release, holding, seen = asyncio.Event(), asyncio.Event(), []
    subscriptions = Subscriptions()

    @subscriptions.on(ReferralClosed)
    async def effect(event, uow, envelope):
        if event.site_id == site_id:
            if len(seen) == 9:
                holding.set()
                await release.wait()
            seen.append(event.referral_id)

    commits, batches = [], []
    real_commit = AIOKafkaConsumer.commit

    async def counted(self, offsets=None):  # type: ignore[no-untyped-def]
        commits.append(offsets)
        return await real_commit(self, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)
    group = f"test-{uuid.uuid4().hex[:6]}"
    consumer = _consumer(
        subscriptions,
        UnitOfWorkFactory(scratch_database, producer="test"),
        (broker := KafkaBroker(infrastructure.kafka_bootstrap)),
        name=group,
        batch_max=2,  # many batches, to see them share commits
    )
    real_batch = consumer.process_batch

    async def counted_batch(records):  # type: ignore[no-untyped-def]
        batches.append(len(records))
        await real_batch(records)

    monkeypatch.setattr(consumer, "process_batch", counted_batch)
    consumer.attach()
    reader = AIOKafkaConsumer(bootstrap_servers=infrastructure.kafka_bootstrap, group_id=group)
    await reader.start()
    await broker.start()
    try:
        await asyncio.wait_for(holding.wait(), timeout=90)
        await asyncio.sleep(3 * COMMIT_EVERY_SECONDS)  # time for any commit to happen
        # never past the event whose effect is not done
        assert (await reader.committed(partition) or 0) <= held_at
        release.set()
        for _ in range(300):
            if len(seen) == 40 and (await reader.committed(partition) or 0) == sent[-1].offset + 1:
                break
            await asyncio.sleep(0.1)
    finally:
        release.set()
        await consumer.offsets.stop()
        await broker.stop()
        await reader.stop()

    assert seen == [e.referral_id for e in ours]
    assert await _committed(infrastructure.kafka_bootstrap, group, partition) == sent[-1].offset + 1
    assert len(batches) >= 20
    assert len(commits) * 3 < len(batches), (len(commits), len(batches))


async def _committed(bootstrap: str, group: str, partition: TopicPartition) -> int | None:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await reader.start()
    try:
        return await reader.committed(partition)
    finally:
        await reader.stop()


@pytest.mark.parametrize("batch_max", [1, 100])
async def test_an_event_is_handled_on_the_event_loop_without_a_worker_thread(
    infrastructure, scratch_database, monkeypatch, batch_max
):
    """FastStream once resolved the handler's message argument in a worker thread, a thread
    hop for every poll: the handler now takes the message as it came."""
    import anyio.to_thread

    hops = {"n": 0}
    run_sync = anyio.to_thread.run_sync

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        hops["n"] += 1
        return await run_sync(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    site_id = f"t-{uuid.uuid4().hex[:6]}"
    seen: list[uuid.UUID] = []
    subscriptions = Subscriptions()

    @subscriptions.on(ReferralClosed)
    async def succeeds(event, uow, envelope):
        if event.site_id == site_id:
            seen.append(event.referral_id)

    ours = [_closed(site_id) for _ in range(5)]
    await _produce(infrastructure.kafka_bootstrap, site_id, ours)
    broker = KafkaBroker(infrastructure.kafka_bootstrap, apply_types=False)
    _consumer(
        subscriptions, UnitOfWorkFactory(scratch_database, producer="test"), broker, batch_max=batch_max
    ).attach()
    await broker.start()
    try:
        for _ in range(900):
            if len(seen) == len(ours):
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
    assert seen == [e.referral_id for e in ours]
    assert hops["n"] == 0


async def test_a_batch_takes_no_savepoint_and_claims_its_events_in_one_statement(
    infrastructure, scratch_database
):
    """A savepoint an event was two statements more, each named anew (sa_savepoint_1 to
    _100), which pushed the service's own statements out of asyncpg's prepared cache; and
    each event's inbox claim was a round trip. A batch is now one claim, then its handlers'
    own statements; the same batch again claims nothing and changes nothing."""
    site_id = f"t-{uuid.uuid4().hex[:6]}"
    subscriptions = Subscriptions()

    @subscriptions.on(ReferralClosed)
    async def succeeds(event, uow, envelope):
        uow.effects.append(event.referral_id)

    events = [_closed(site_id) for _ in range(50)]
    records = [
        (
            topics.REFERRALS,
            0,
            offset,
            site_id.encode(),
            e.envelope(site_id=site_id, producer="test").to_bytes(),
        )
        for offset, e in enumerate(events)
    ]
    units = _Counting(scratch_database, producer="test")
    consumer = _consumer(subscriptions, units, KafkaBroker(infrastructure.kafka_bootstrap), batch_max=100)
    with statements_run(scratch_database) as statements:
        await consumer.process_batch([*records, *records[:3]])  # a relay's repeat in the same poll
        first = list(statements)
        await consumer.process_batch(records)  # redelivered, say after a crash before the commit

    assert units.committed == [e.referral_id for e in events]  # once each, in order
    assert units.opened == 2
    assert not [s for s in statements if "SAVEPOINT" in s.upper()], statements[:4]
    assert len(first) == 1, first[:4]  # the claim; the handler itself writes nothing


async def test_a_consumer_with_a_minimum_fetch_takes_events_that_came_apart_in_one_transaction(
    infrastructure, scratch_database
):
    """metrics' figures are read monthly: its broker holds each fetch until 64 KiB or 2 s,
    so the events of a quiet platform come in one batch, not in a transaction each."""
    site_id = f"t-{uuid.uuid4().hex[:6]}"
    subscriptions = Subscriptions()
    transactions: set[int] = set()  # those our events were handled in (the topic has others')

    warmed: list[uuid.UUID] = []

    @subscriptions.on(ReferralClosed)
    async def succeeds(event, uow, envelope):
        if event.site_id == site_id:
            uow.effects.append(event.referral_id)
            transactions.add(uow.number)
        elif event.site_id == f"{site_id}-w":
            warmed.append(event.referral_id)

    units = _Counting(scratch_database, producer="test")
    broker = KafkaBroker(infrastructure.kafka_bootstrap, apply_types=False)
    _consumer(
        subscriptions, units, broker, batch_max=100, fetch_max_wait_ms=5000, fetch_min_bytes=64 * 1024
    ).attach()
    await broker.start()
    try:
        producer = AIOKafkaProducer(bootstrap_servers=infrastructure.kafka_bootstrap)
        await producer.start()
        ours = [_closed(site_id) for _ in range(5)]
        try:
            # the consumer is assigned and fetching once it handled an event of its own
            await _produce(infrastructure.kafka_bootstrap, f"{site_id}-w", [_closed(f"{site_id}-w")])
            for _ in range(300):
                if warmed:
                    break
                await asyncio.sleep(0.1)
            for event in ours:  # a quiet platform: an event every 0.2 s
                envelope = event.envelope(site_id=site_id, producer="test")
                await producer.send_and_wait(topics.REFERRALS, envelope.to_bytes(), key=site_id.encode())
                await asyncio.sleep(0.2)
        finally:
            await producer.stop()
        for _ in range(100):
            if len(units.committed) == len(ours):
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
    assert len(units.committed) == 5
    assert len(transactions) <= 2, len(transactions)  # one a fetch, not one an event
