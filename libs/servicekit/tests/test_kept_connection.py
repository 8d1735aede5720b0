"""The kept connection is lent to one user at a time, even while it is first connected (a
second user at that moment goes to the pool), and one left unused a while is pinged before
it is lent again (pure unit tests: the engine is a stand-in)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from servicekit.kept import KEPT_IDLE_BEFORE_PING_SECONDS, KeptConnection


class SlowEngine:
    """Connects after a pause, as a real server does; counts its connections."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.server_gone = False

    async def connect(self) -> Any:
        await asyncio.sleep(0.01)
        pings: list[str] = []

        async def fetchval(query: str) -> int:
            pings.append(query)
            if self.server_gone:
                raise ConnectionResetError("the server restarted meanwhile")
            return 1

        driver = SimpleNamespace(is_closed=lambda: False, fetchval=fetchval, pings=pings)
        closed: list[bool] = []

        async def raw() -> Any:
            return SimpleNamespace(driver_connection=driver)

        async def close() -> None:
            closed.append(True)

        connection = SimpleNamespace(
            get_raw_connection=raw, close=close, invalidate=close, closed=closed, driver=driver
        )
        self.opened.append(connection)
        return connection


async def test_a_second_user_while_the_first_connects_goes_to_the_pool_and_the_first_keeps_it():
    engine = SlowEngine()
    kept = KeptConnection(engine)  # type: ignore[arg-type]
    first, second = await asyncio.gather(kept.take(), kept.take())
    assert first is not None and second is None
    assert len(engine.opened) == 1
    await kept.give_back(broken=False)
    assert await kept.take() is first  # the same one, lent again
    await kept.give_back(broken=True)  # broken: closed, and the next is a new one
    assert first.closed
    assert (await kept.take()) is not first and len(engine.opened) == 2
    await kept.let_go()


async def test_one_unused_a_while_is_pinged_first_and_replaced_when_the_ping_fails():
    now = [1000.0]
    engine = SlowEngine()
    kept = KeptConnection(engine, clock=lambda: now[0])  # type: ignore[arg-type]
    first = await kept.take()
    await kept.give_back(broken=False)
    now[0] += 2.0  # in steady use (the relay polls every 2 s): no ping
    assert await kept.take() is first and first.driver.pings == []
    await kept.give_back(broken=False)
    now[0] += KEPT_IDLE_BEFORE_PING_SECONDS  # a quiet night
    assert await kept.take() is first and first.driver.pings == ["SELECT 1"]
    await kept.give_back(broken=False)
    now[0] += KEPT_IDLE_BEFORE_PING_SECONDS
    engine.server_gone = True  # restarted meanwhile: the ping fails, a new one is lent
    assert await kept.take() is not first and first.closed and len(engine.opened) == 2
    await kept.let_go()
