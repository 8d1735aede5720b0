"""What one transaction costs the service's process in CPU, on a real PostgreSQL server,
through the three ways a service can reach it (issue 25): the ORM's ``AsyncSession`` (every
unit of work), a Core ``AsyncConnection``, and asyncpg's own connection with a prepared
statement (the outbox relay, since the eighth round). Each is a transaction of 0, 1 and 4
single-row inserts; the floor is the driver's.

A referral takes about ten transactions and thirty statements across the services, so the
per-statement and per-transaction figures here say what moving a hot path from the ORM to
the driver would save. The machines are noisy: medians of several rounds, as ratios to the
driver in the same run. Run with ``uv run python bench/transaction_cost.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from pss_dev.local.postgres import PostgresServer
from servicekit.database import Database, UnitOfWorkFactory
from servicekit.driver import DriverStatement
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

ROWS = sa.MetaData()
ROW = sa.Table(
    "row",
    ROWS,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("a", sa.Text),
    sa.Column("b", sa.Integer),
)
# built once, as every statement on an event's path
INSERT = sa.insert(ROW).values(id=sa.bindparam("id"), a=sa.bindparam("a"), b=sa.bindparam("b"))


async def measure(transactions: int, rounds: int) -> dict[str, dict[int, float]]:
    with tempfile.TemporaryDirectory(prefix="pss-bench-txn-") as workdir:
        server = PostgresServer.create(Path(workdir))
        server.start()
        try:
            return await _measure(server.admin_url, transactions, rounds)
        finally:
            server.stop()


async def _measure(url: str, transactions: int, rounds: int) -> dict[str, dict[int, float]]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"), pool_size=1)
    async with engine.begin() as connection:
        await connection.run_sync(ROWS.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    driver = await asyncpg.connect(url)
    prepared = await driver.prepare("INSERT INTO row (id, a, b) VALUES ($1, $2, $3)")

    async def orm(statements: int) -> None:
        async with sessions() as session, session.begin():
            for _ in range(statements):
                await session.execute(INSERT, {"id": uuid.uuid4(), "a": "x", "b": 1})

    database = Database(
        url.replace("postgresql://", "postgresql+asyncpg://"), schema="public", pool_size=2
    )  # one kept by the consumer's units
    units = UnitOfWorkFactory(database, producer="bench")
    on_driver = DriverStatement(INSERT)

    async def unit_on_driver(statements: int) -> None:
        async with units() as uow:
            for _ in range(statements):
                await on_driver.execute(uow, {"id": uuid.uuid4(), "a": "x", "b": 1})

    kept_units = units.one_at_a_time()

    async def unit_on_kept(statements: int) -> None:
        async with kept_units() as uow:
            for _ in range(statements):
                await on_driver.execute(uow, {"id": uuid.uuid4(), "a": "x", "b": 1})

    async def unit_in_session(statements: int) -> None:
        async with units() as uow:
            for _ in range(statements):
                await uow.session.execute(INSERT, {"id": uuid.uuid4(), "a": "x", "b": 1})

    async def core(statements: int) -> None:
        async with engine.begin() as connection:
            for _ in range(statements):
                await connection.execute(INSERT, {"id": uuid.uuid4(), "a": "x", "b": 1})

    async def raw(statements: int) -> None:
        async with driver.transaction():
            for _ in range(statements):
                await prepared.fetch(uuid.uuid4(), "x", 1)

    ways: dict[str, Callable[[int], Awaitable[None]]] = {
        "orm session": orm,
        "unit of work": unit_in_session,
        "unit of work, driver": unit_on_driver,
        "unit of work, kept": unit_on_kept,  # a consumer's: one_at_a_time()
        "core connection": core,
        "driver": raw,
    }
    found: dict[str, dict[int, list[float]]] = {name: {0: [], 1: [], 4: []} for name in ways}
    try:
        for _ in range(rounds):  # interleaved, so a slow moment of the machine falls on all three
            for name, way in ways.items():
                for statements in found[name]:
                    for _ in range(transactions // 10):
                        await way(statements)  # warm: pools, caches, prepared statements
                    started = time.process_time()
                    for _ in range(transactions):
                        await way(statements)
                    found[name][statements].append((time.process_time() - started) / transactions * 1000)
    finally:
        await kept_units.close()
        await driver.close()
        await engine.dispose()
        await database.dispose()
    return {name: {n: statistics.median(v) for n, v in by.items()} for name, by in found.items()}


def show(medians: dict[str, dict[int, float]]) -> None:
    print("CPU of this process a transaction, ms (median of the rounds; inserts a transaction)")
    print(f"{'':22}{'0':>8}{'1':>8}{'4':>8}   a statement more   vs the driver (1 insert)")
    floor = medians["driver"][1]
    for name, by in medians.items():
        per_statement = (by[4] - by[1]) / 3
        print(
            f"{name:22}{by[0]:8.3f}{by[1]:8.3f}{by[4]:8.3f}   {per_statement:16.3f}   {by[1] / floor:6.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1000, help="a measurement's transactions")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    show(asyncio.run(measure(args.transactions, args.rounds)))


if __name__ == "__main__":
    main()
