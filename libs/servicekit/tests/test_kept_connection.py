"""The kept connection is lent to one user at a time, even while it is first connected: a
second user at that moment goes to the pool (a pure unit test: the engine is a stand-in)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from servicekit.kept import KeptConnection


class SlowEngine:
    """Connects after a pause, as a real server does; counts its connections."""

    def __init__(self) -> None:
        self.opened: list[Any] = []

    async def connect(self) -> Any:
        await asyncio.sleep(0.01)
        driver = SimpleNamespace(is_closed=lambda: False)
        closed: list[bool] = []

        async def raw() -> Any:
            return SimpleNamespace(driver_connection=driver)

        async def close() -> None:
            closed.append(True)

        connection = SimpleNamespace(get_raw_connection=raw, close=close, invalidate=close, closed=closed)
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
