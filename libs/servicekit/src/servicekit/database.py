"""Engine, sessions and the unit of work.

A unit of work is one database transaction. Everything a handler changes, the events it
emits (outbox) and the event it consumed (inbox) commit together or not at all.

The entry point owns the transaction: a route, a consumer or a loop opens the unit of work
with ``async with``, and the block ending normally commits it; an exception rolls it back.
Handlers never commit. ``commit()`` remains for a loop that must make a claim durable before
it acts outside the database (delivery claims a message, then sends it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from contracts import Event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from servicekit import outbox
from servicekit.kept import KeptConnection

# the most connections a process holds, as before (10 kept and 10 more opened on demand)
POOL_SIZE = 20


class Database:
    """The service's connection pool. Created by bootstrap, never at import time."""

    def __init__(self, url: str, *, schema: str, pool_size: int = POOL_SIZE) -> None:
        # Tables are declared without a schema; every statement lands in the service's own.
        self.engine: AsyncEngine = create_async_engine(
            url,
            # every connection is kept once opened, none is "overflow": an overflow connection
            # is closed as soon as it is returned, so a burst past the pool opened and closed
            # one every few requests (636 in a burst of 10,000 referrals: a server process,
            # a handshake and every statement prepared anew each time). A request past the
            # pool waits for a connection, then gets a 503 to retry (pool_timeout, 30 s).
            pool_size=pool_size,
            max_overflow=0,
            # the connection used last is used next: the busy ones stay warm and are never
            # pinged, the spare ones sit idle (and are pinged when next used)
            pool_use_lifo=True,
            # an error's text never carries the values of a statement (staff refs, keys): it
            # reaches logs and traces
            hide_parameters=True,
            execution_options={"schema_translate_map": {None: schema}},
        )
        self.schema = schema
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        ping_after_idle(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


# A pooled connection idle this long is pinged before it is used again: the server may have
# restarted or dropped it meanwhile. A ping on every use (SQLAlchemy's pool_pre_ping) cost
# three round trips a transaction with asyncpg (begin, ping, rollback). A connection dropped
# within this time fails its transaction once, and the pool is then reconnected whole: a
# consumer retries the event, a loop its step, a request gets a 503 it may retry.
IDLE_BEFORE_PING_SECONDS = 2.0


def ping_after_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection at checkout only when it sat idle; a connection that
    fails the ping is replaced by a new one before anyone uses it."""
    dialect = engine.sync_engine.dialect

    @sa.event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_BEFORE_PING_SECONDS:
            return  # just connected, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # the pool drops this connection and checks out another (or connects anew)
            raise sa.exc.DisconnectionError(str(error)) from error


class UnitOfWork:
    """One transaction; ``emit`` queues events into the outbox within it.

    The hot statements run on the driver (``servicekit.driver``), the rest through the ORM's
    ``session``; both share the one connection and transaction. Neither is opened until it
    is used: a unit of work that only ran statements on the driver never built a session,
    which costs more than the statements themselves (``bench/transaction_cost.py``)."""

    def __init__(
        self,
        database: Database,
        *,
        producer: str,
        on_commit: Callable[[], None] | None = None,
        signals: dict[str, asyncio.Event] | None = None,
        kept: KeptConnection | None = None,
        autocommit: bool = False,
    ) -> None:
        self._database = database
        self._kept = kept
        self.autocommit = autocommit
        self._on_kept = False  # the connection is the kept one, lent (not the pool's)
        self._producer = producer
        self._on_commit = on_commit
        self._signals = signals if signals is not None else {}
        self._to_signal: set[str] = set()
        self._session: AsyncSession | None = None
        # the connection the driver came first on (the session then joins it), and
        # SQLAlchemy's adapter of the asyncpg connection the driver's statements run on
        self._connection: AsyncConnection | None = None
        self._adapted: Any = None
        self._emitted = 0

    @property
    def engine(self) -> AsyncEngine:
        return self._database.engine

    @property
    def session(self) -> AsyncSession:
        """The ORM's session, in this unit of work's transaction (opened when first used)."""
        if self.autocommit:
            raise TypeError("a unit of work in autocommit runs statements on the driver only")
        if self._session is None:
            if self._connection is not None:
                self._session = self._database.sessions(bind=self._connection)
            else:
                self._session = self._database.sessions()
        return self._session

    async def driver(self) -> Any:
        """asyncpg's own connection, inside this unit of work's transaction: what runs on it
        commits or rolls back with what runs through the session."""
        if self._adapted is None:
            if self._session is not None:
                connection = await self._session.connection()
            elif self._kept is not None and (lent := await self._kept.take()) is not None:
                self._connection = connection = lent
                self._on_kept = True
            else:
                self._connection = connection = await self.engine.connect()
            self._adapted = (await connection.get_raw_connection()).dbapi_connection
        adapted = self._adapted
        if self.autocommit:
            return adapted.driver_connection
        # SQLAlchemy's asyncpg adapter sends BEGIN before its first statement, not when a
        # transaction begins; one on the driver may come first, so BEGIN now, through the
        # adapter, which then knows the transaction is open (and never nests another)
        if adapted._transaction is None:
            async with adapted._execute_mutex:
                await adapted._start_transaction()
        return adapted.driver_connection

    def signal_after_commit(self, name: str) -> None:
        """Wake the loop waiting on ``name`` once this commits (nothing if none waits)."""
        self._to_signal.add(name)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self.commit()
            else:
                await self._end_transaction("rollback")
        finally:
            await asyncio.shield(self._release())

    async def _end_transaction(self, how: str) -> None:
        if self._session is not None:
            await getattr(self._session, how)()
        adapted = self._adapted
        if adapted is not None and adapted._transaction is not None:
            # only the driver ran statements in it: the session had nothing to end
            transaction, adapted._transaction = adapted._transaction, None
            await getattr(transaction, how)()

    async def _release(self) -> None:
        driver = self._adapted.driver_connection if self._adapted is not None else None
        # SQLAlchemy's pool knows nothing of what was done on the driver: a connection that
        # broke, or that a cancellation left inside a statement or a transaction, is closed
        # rather than handed to the next caller
        broken = driver is not None and (driver.is_closed() or driver.is_in_transaction())
        self._adapted = None
        if self._session is not None:
            await (
                self._session.invalidate() if broken and self._connection is None else self._session.close()
            )
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._on_kept and self._kept is not None:
            self._on_kept = False
            # kept only clean: the next unit of work begins its own transaction on it
            await self._kept.give_back(broken=broken or connection.in_transaction())
        else:
            await (connection.invalidate() if broken else connection.close())

    async def emit(self, event: Event, *, site_id: str | None = None) -> None:
        """Queue ``event``, keyed by its site (``site_id``, else ``home_site``) so one site's
        events keep their order; an event that names no site is given one."""
        if self.autocommit:
            # an event commits with the change it tells of, never alone
            raise TypeError("a unit of work in autocommit cannot emit events")
        key = site_id or getattr(event, "site_id", None) or getattr(event, "home_site", None)
        if not key:
            raise TypeError(f"{type(event).__name__} names no site: emit it with site_id=")
        await outbox.add(self, event, site_id=key, producer=self._producer)
        self._emitted += 1

    async def commit(self) -> None:
        await self._end_transaction("commit")
        if self._connection is None:
            self._adapted = None  # the session's next transaction may be on another connection
        if self._emitted and self._on_commit is not None:
            self._on_commit()  # wake the relay: the events are durable now
        for name in self._to_signal:
            if (event := self._signals.get(name)) is not None:
                event.set()
        self._emitted = 0
        self._to_signal.clear()


class UnitOfWorkFactory:
    """What handlers receive: a way to open a unit of work, wired once in bootstrap."""

    def __init__(self, database: Database, *, producer: str) -> None:
        self.database = database
        self.producer = producer
        self.committed_events = asyncio.Event()
        self.signals: dict[str, asyncio.Event] = {}
        self.kept: KeptConnection | None = None

    def one_at_a_time(self) -> UnitOfWorkFactory:
        """The same units of work, for a caller that opens one only after the last ended (a
        consumer, one batch after another): they run on one connection kept between them.
        ``close`` gives it back."""
        sibling = UnitOfWorkFactory(self.database, producer=self.producer)
        sibling.committed_events, sibling.signals = self.committed_events, self.signals
        sibling.kept = KeptConnection(self.database.engine)
        return sibling

    async def close(self) -> None:
        if self.kept is not None:
            await self.kept.let_go()

    def signal(self, name: str) -> asyncio.Event:
        """What a loop waits on to start at once when a unit of work that made work for it
        commits (``UnitOfWork.signal_after_commit``), not at its next poll."""
        return self.signals.setdefault(name, asyncio.Event())

    def __call__(self) -> UnitOfWork:
        return self._unit(autocommit=False)

    def autocommit(self) -> UnitOfWork:
        """A unit of work whose statements each commit on their own, on the driver only: for
        a step whose statements need not commit together (a claim that is itself a lease, a
        read). It spares a transaction's BEGIN and COMMIT, two round trips; it has no session
        and cannot emit an event."""
        return self._unit(autocommit=True)

    def _unit(self, *, autocommit: bool) -> UnitOfWork:
        return UnitOfWork(
            self.database,
            producer=self.producer,
            on_commit=self.committed_events.set,
            signals=self.signals,
            kept=self.kept,
            autocommit=autocommit,
        )
