"""A pooled connection kept for one user at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# A kept connection unused this long is pinged before it is lent again, as a pooled one is
# after 2 s (database.IDLE_BEFORE_PING_SECONDS): the server may have restarted or a firewall
# dropped it meanwhile, and the first event after a quiet night should not be the one that
# finds out. Longer than the pool's, so that the relay's poll (every 2 s) and a steady
# stream of events never pay a ping.
KEPT_IDLE_BEFORE_PING_SECONDS = 30.0


class KeptConnection:
    """One pooled connection kept checked out for a caller that uses one at a time (a
    consumer's units of work, a loop's, the outbox relay): a checkout and a check-in cost
    about 0.2 ms of CPU each time (a third of an empty relay batch), and one that sat idle
    two seconds a ping besides (three round trips). One the server closed meanwhile (a
    restart, an administrator) is replaced before it is lent again, and one unused for
    ``KEPT_IDLE_BEFORE_PING_SECONDS`` is pinged first."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._clock = clock
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._lent = False
        self._given_back = 0.0

    async def take(self) -> AsyncConnection | None:
        """The kept connection, lent until ``give_back``; None while it is lent (a second
        user at the same time takes one from the pool as usual)."""
        if self._lent:
            return None
        self._lent = True  # before any await: a second user meanwhile goes to the pool
        try:
            if self._driver is not None and not await self._alive():
                await self._close(broken=True)
            if self._connection is None:
                connection = await self.engine.connect()
                try:
                    self._driver = (await connection.get_raw_connection()).driver_connection
                except BaseException:
                    await connection.invalidate()
                    raise
                self._connection = connection
        except BaseException:
            self._lent = False
            raise
        return self._connection

    async def _alive(self) -> bool:
        if self._driver.is_closed():
            return False
        if self._clock() - self._given_back < KEPT_IDLE_BEFORE_PING_SECONDS:
            return True
        try:
            await self._driver.fetchval("SELECT 1")
        except Exception:
            return False
        return True

    def driver_of(self, connection: AsyncConnection) -> Any:
        """asyncpg's connection under the one ``take`` lent."""
        assert connection is self._connection
        return self._driver

    async def give_back(self, *, broken: bool) -> None:
        """Kept for the next user, unless it may be broken or inside a transaction: then
        closed (SQLAlchemy's pool knows nothing of what was done on the driver)."""
        self._lent = False
        self._given_back = self._clock()
        if broken:
            await self.let_go(broken=True)

    async def let_go(self, *, broken: bool = False) -> None:
        """Back to the pool (closed when ``broken``): the service stops, or it failed."""
        self._lent = False
        await self._close(broken=broken)

    async def _close(self, *, broken: bool) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        if connection is None:
            return
        if broken:
            await connection.invalidate()
        await connection.close()
