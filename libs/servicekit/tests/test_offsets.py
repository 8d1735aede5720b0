"""Offsets committed together (servicekit.consumer.Offsets), with a stand-in consumer: what
a batch processed while a commit was under way is committed after it, with no later batch."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka import TopicPartition
from servicekit import consumer as kit

TOPIC = "pss.test.v1"


class Consumer:
    """Assigned partition 0 only; each commit waits until the test lets it finish."""

    def __init__(self) -> None:
        self.committed: list[dict[TopicPartition, int]] = []
        self.go = asyncio.Event()

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPIC, 0)}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await self.go.wait()
        self.committed.append(dict(offsets))


def record(partition: int, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=TOPIC, partition=partition, offset=offset)


async def test_a_batch_processed_during_a_commit_is_committed_after_it(monkeypatch):
    monkeypatch.setattr(kit, "COMMIT_EVERY_SECONDS", 0)
    offsets, consumer = kit.Offsets("test"), Consumer()
    offsets.processed(consumer, [record(0, 4), record(0, 5)])  # type: ignore[arg-type]
    await asyncio.sleep(0.01)  # the commit of 6 is under way
    offsets.processed(consumer, [record(0, 6)])  # type: ignore[arg-type]
    consumer.go.set()
    for _ in range(100):
        if len(consumer.committed) == 2:
            break
        await asyncio.sleep(0.01)
    assert consumer.committed == [{TopicPartition(TOPIC, 0): 6}, {TopicPartition(TOPIC, 0): 7}]


async def test_a_partition_no_longer_assigned_is_left_to_its_new_owner(monkeypatch):
    monkeypatch.setattr(kit, "COMMIT_EVERY_SECONDS", 0)
    offsets, consumer = kit.Offsets("test"), Consumer()
    consumer.go.set()
    offsets.processed(consumer, [record(0, 1), record(3, 9)])  # type: ignore[arg-type]
    await offsets.stop()
    assert consumer.committed == [{TopicPartition(TOPIC, 0): 2}]
    assert offsets.pending == {}


async def test_stopping_lets_a_commit_on_its_way_finish(monkeypatch):
    monkeypatch.setattr(kit, "COMMIT_EVERY_SECONDS", 0)
    offsets, consumer = kit.Offsets("test"), Consumer()
    offsets.processed(consumer, [record(0, 4)])  # type: ignore[arg-type]
    await asyncio.sleep(0.01)  # the commit of 5 is under way, nothing else pending
    stopping = asyncio.create_task(offsets.stop())
    await asyncio.sleep(0.01)
    consumer.go.set()
    await stopping
    assert consumer.committed == [{TopicPartition(TOPIC, 0): 5}]


async def test_stopping_does_not_wait_out_the_commits_interval():
    """Offsets wait ``COMMIT_EVERY_SECONDS`` (2 s) to go with the next ones; a stopping service
    commits them at once and does not sleep out the rest of the interval."""
    offsets, consumer = kit.Offsets("test"), Consumer()
    consumer.go.set()
    offsets.processed(consumer, [record(0, 4)])  # type: ignore[arg-type]
    await asyncio.sleep(0.01)  # the next commit is an interval away
    await asyncio.wait_for(offsets.stop(), timeout=kit.COMMIT_EVERY_SECONDS / 2)
    assert consumer.committed == [{TopicPartition(TOPIC, 0): 5}]
