"""Rebuild the aggregates from the Kafka history and compare them with the live ones.

The history is read from the first offset of every topic metrics counts, up to the end
offsets seen when the rebuild starts, without a consumer group (nothing is committed, the
live consumer is untouched). Each event goes through the same :class:`Tally` as live
consumption, once per event id (a redelivered event counts once, as the inbox makes it
live). The result lands in the ``*_rebuilt`` tables; the live tables are not changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from contracts import Envelope, parse_payload
from pydantic import ValidationError
from servicekit.database import Database
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import tables as t
from metrics.aggregation import COUNTED, Tally

TYPES = {cls.TYPE for cls in COUNTED}
TOPICS = sorted({cls.TOPIC for cls in COUNTED})


@dataclass
class Rebuilt:
    tally: Tally = field(default_factory=Tally)
    records: int = 0
    counted: int = 0
    duplicates: int = 0
    malformed: int = 0  # the live consumer dead-lettered these
    seen: set[int] = field(default_factory=set)

    def take(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            self.add(record.value)

    def add(self, raw: bytes | None) -> None:
        self.records += 1
        try:
            envelope = Envelope.from_bytes(raw or b"")
            if envelope.type not in TYPES:
                return
            event = parse_payload(envelope)
        except (ValidationError, ValueError):
            self.malformed += 1
            return
        if envelope.id.int in self.seen:
            self.duplicates += 1
            return
        self.seen.add(envelope.id.int)
        self.tally.add(event, envelope.site_id, envelope.occurred_at)
        self.counted += 1


async def read_history(
    bootstrap: str, topics: Iterable[str], take: Callable[[list[ConsumerRecord[bytes, bytes]]], None]
) -> None:
    """Every record of ``topics`` from the first offset to the end offsets seen now, in
    batches given to ``take``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if d["error_code"] == 0  # a topic nobody has written to yet does not exist
        for p in d["partitions"]
    ]
    await consumer.start()
    try:
        if not partitions:
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if end[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=20_000)
            for tp, records in batches.items():
                take([r for r in records if r.offset < end[tp]])
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def write_rebuilt(session: AsyncSession, tally: Tally) -> None:
    """Replace the ``*_rebuilt`` tables with a tally, by COPY: a year of 300 sites is
    hundreds of thousands of rows, which row-by-row upserts take minutes to write."""
    await session.execute(sa.delete(t.aggregate_rebuilt))
    await session.execute(sa.delete(t.distribution_rebuilt))
    connection = await (await session.connection()).get_raw_connection()
    driver = connection.driver_connection  # asyncpg's own connection
    assert driver is not None
    copy = driver.copy_records_to_table
    schema = "metrics"
    await copy(
        t.aggregate_rebuilt.name,
        records=[(*key, n) for key, n in tally.counts.items()],
        columns=["site_id", "period", "measure", "dimension", "value"],
        schema_name=schema,
    )
    await copy(
        t.distribution_rebuilt.name,
        records=[(*key, n) for key, n in tally.distributions.items()],
        columns=["site_id", "period", "measure", "value", "count"],
        schema_name=schema,
    )


async def _differences(session: AsyncSession) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for live, rebuilt, key, value in (
        (t.aggregate, t.aggregate_rebuilt, "dimension", "value"),
        (t.distribution, t.distribution_rebuilt, "value", "count"),
    ):
        columns = ("site_id", "period", "measure", key)
        on = sa.and_(*(live.c[c] == rebuilt.c[c] for c in columns))
        a, b = sa.func.coalesce(live.c[value], 0), sa.func.coalesce(rebuilt.c[value], 0)
        rows = await session.execute(
            sa.select(
                *(sa.func.coalesce(live.c[c], rebuilt.c[c]).label(c) for c in columns),
                a.label("live"),
                b.label("rebuilt"),
            )
            .select_from(live.outerjoin(rebuilt, on, full=True))
            .where(a != b)
            .order_by(sa.text("1, 2, 3, 4"))
        )
        for site, month, measure, which, *_ in rows:
            # which cells, not their counts: an operator's terminal is no place for small counts
            # (the tables hold them, behind the database's access control)
            out.append(
                {
                    "site_id": site,
                    "period": month,
                    "measure": measure,
                    key if key == "dimension" else "observed_value": which,
                }
            )
    return out


async def rebuild(database_url: str, bootstrap: str) -> dict[str, Any]:
    """Read the history, write the ``*_rebuilt`` tables, and compare them with the live ones."""
    started = time.perf_counter()
    rebuilt = Rebuilt()
    await read_history(bootstrap, TOPICS, rebuilt.take)
    read = time.perf_counter() - started
    database = Database(database_url, schema="metrics", pool_size=2)
    try:
        async with database.sessions() as session, session.begin():
            await write_rebuilt(session, rebuilt.tally)
        async with database.sessions() as session:
            differences = await _differences(session)
    finally:
        await database.dispose()
    return {
        "records_read": rebuilt.records,
        "events_counted": rebuilt.counted,
        "duplicates": rebuilt.duplicates,
        "malformed": rebuilt.malformed,
        "cells": len(rebuilt.tally.counts) + len(rebuilt.tally.distributions),
        "seconds_reading": round(read, 2),
        "seconds_total": round(time.perf_counter() - started, 2),
        "differences": differences,
    }
