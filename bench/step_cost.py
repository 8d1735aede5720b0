"""What the steps on every hop of a referral cost in CPU, the service's process and
PostgreSQL's together (issue 25, sixteenth round): the outbox relay's poll with nothing to
publish, an outbox row and the relay's batch of it, and a consumed event's unit of work (the
inbox's claim, one insert, the commit). PostgreSQL's share is read from ``/proc`` for every
process of a private server, so a round trip saved on both sides shows, where the flow bench
cannot resolve a millisecond on this machine.

The relay's sends are acknowledged at once (no broker): this measures the database's part.
Run it in two checkouts, interleaved, to compare code: ``uv run python bench/step_cost.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
import uvloop
from pss_dev.local.postgres import PostgresServer
from servicekit.database import Database, UnitOfWorkFactory
from servicekit.driver import DriverStatement
from servicekit.inbox import claim
from servicekit.outbox import OutboxRelay
from servicekit.tables import PLUMBING

TICKS = os.sysconf("SC_CLK_TCK")
ROWS = sa.MetaData()
ROW = sa.Table("row", ROWS, sa.Column("id", sa.Uuid, primary_key=True), sa.Column("a", sa.Text))
INSERT = DriverStatement(sa.insert(ROW).values(id=sa.bindparam("id"), a=sa.bindparam("a")))
ENVELOPE = '{"id": "x", "type": "x"}'


def server_seconds(postmaster: int) -> float:
    """User and system CPU of the postmaster and every process it started, in seconds."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(pid) == postmaster or int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def measure(url: str, postmaster: int, steps: int, rounds: int) -> dict[str, dict[str, float]]:
    database = Database(url.replace("postgresql://", "postgresql+asyncpg://"), schema="public")
    async with database.engine.begin() as connection:
        await connection.run_sync(PLUMBING.create_all)
        await connection.run_sync(ROWS.create_all)
    relay = OutboxRelay(
        database.sessions,
        "unused:9092",
        wake=asyncio.Event(),
        poll_seconds=2,
        batch_size=100,
        service="bench",
    )

    async def acknowledged(*_args: Any, **_kwargs: Any) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    relay._send = acknowledged  # type: ignore[method-assign]
    units = UnitOfWorkFactory(database, producer="bench").one_at_a_time()
    writer = await asyncpg.connect(url)
    add = await writer.prepare(
        "INSERT INTO outbox (event_id, topic, key, event_type, envelope)"
        " VALUES ($1, 't', 'k', 'x', $2::jsonb)"
    )

    async def empty_poll() -> None:
        await relay.publish_batch()

    async def row_and_batch() -> None:
        await add.fetch(uuid.uuid4(), ENVELOPE)
        assert await relay.publish_batch() == 1

    async def row_alone() -> None:  # the floor of the step before; left unpublished
        await add.fetch(uuid.uuid4(), ENVELOPE)

    async def consumed_event() -> None:
        async with units() as uow:
            assert await claim(uow, consumer="bench", event_id=uuid.uuid4(), event_type="bench.v1")
            await INSERT.execute(uow, {"id": uuid.uuid4(), "a": "x"})

    ways: dict[str, Callable[[], Awaitable[None]]] = {
        "an empty relay poll": empty_poll,
        "an outbox row and a relay batch of it": row_and_batch,
        "an outbox row alone (its floor)": row_alone,
        "a consumed event (claim, insert, commit)": consumed_event,
    }
    found: dict[str, dict[str, list[float]]] = {name: {"service": [], "server": []} for name in ways}
    try:
        for name, way in ways.items():  # in this order: the floor leaves rows unpublished
            for _ in range(steps // 10):
                await way()  # warm: prepared statements, caches
            for _ in range(rounds):
                began, server_began = time.process_time(), server_seconds(postmaster)
                for _ in range(steps):
                    await way()
                found[name]["service"].append((time.process_time() - began) / steps * 1000)
                found[name]["server"].append((server_seconds(postmaster) - server_began) / steps * 1000)
    finally:
        await units.close()
        await relay.stop()
        await writer.close()
        await database.dispose()
    return {
        name: {part: statistics.median(values) for part, values in by.items()} for name, by in found.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps a round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pss-bench-step-") as workdir:
        server = PostgresServer.create(Path(workdir))
        server.start()
        try:
            postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
            medians = uvloop.run(measure(server.admin_url, postmaster, args.steps, args.rounds))
        finally:
            server.stop()
    print("CPU a step, ms (median of the rounds)")
    print(f"{'':44}{'service':>9}{'server':>9}{'both':>9}")
    for name, parts in medians.items():
        both = parts["service"] + parts["server"]
        print(f"{name:44}{parts['service']:9.3f}{parts['server']:9.3f}{both:9.3f}")


if __name__ == "__main__":
    main()
