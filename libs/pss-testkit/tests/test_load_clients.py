"""The load generator's clients: one request in flight on each, each with one connection."""

from __future__ import annotations

import asyncio

from pss_testkit.load import Clients


async def test_each_client_carries_one_request_at_a_time_and_the_next_waits_for_one():
    async with Clients(2) as clients:
        held: list[object] = []
        release = asyncio.Event()

        async def hold() -> None:
            async with clients.one() as client:
                assert client not in held
                held.append(client)
                await release.wait()
                held.remove(client)

        first = [asyncio.create_task(hold()) for _ in range(2)]
        await asyncio.sleep(0)
        third = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        assert len(held) == 2 and not third.done()  # the third waits for a free client
        release.set()
        await asyncio.gather(*first, third)
        assert held == []
