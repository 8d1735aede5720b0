"""Before a steady run is measured, the platform finishes what it was given before it: the
seeding's thousands of directory, duty and certification events, or the previous run's
backlog (at 50/s the pages are out when the run ends, but metrics, training and the
delivery of messages are still at work). A run then measures its own rate only. (The slow
referrals early in a 5/s run are not this: they come at the same moments settled or not;
see bench/ISSUE25.md, ninth round.)

Settled means: every service's consumer group has read to the end of each of its
partitions, and no service's outbox holds an unpublished event, twice in a row a second
apart.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient


async def backlog(bootstrap: str, groups: tuple[str, ...], sql: Callable[..., list[tuple[Any, ...]]]) -> int:
    """Events the services' consumer groups have not committed yet, plus unpublished events
    in their outboxes."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    ends = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await ends.start()
    try:
        behind = 0
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            if committed:
                last = await ends.end_offsets(list(committed))
                behind += sum(max(0, last[where] - meta.offset) for where, meta in committed.items())
    finally:
        await ends.stop()
        await admin.close()
    for schema in groups:  # the services' own names, never input
        query = f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL'  # noqa: S608
        behind += int(sql(query)[0][0])
    return behind


def settle(
    bootstrap: str, groups: tuple[str, ...], sql: Callable[..., list[tuple[Any, ...]]], within: float = 300
) -> float:
    """Wait until nothing is left (see the module), at most ``within`` seconds; how long it
    took. When something is still left then, it says so: what follows measures a backlog too."""
    started = time.perf_counter()
    quiet = 0
    left = 0
    while quiet < 2 and time.perf_counter() - started < within:
        left = asyncio.run(backlog(bootstrap, groups, sql))
        quiet = quiet + 1 if left == 0 else 0
        time.sleep(1)
    if quiet < 2:
        print(
            f"not settled: {left} events or outbox rows still waiting after {within:.0f} s", file=sys.stderr
        )
    return round(time.perf_counter() - started, 1)
