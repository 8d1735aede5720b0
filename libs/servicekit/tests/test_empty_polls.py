"""A service's consumer polls again at once after an empty poll. FastStream's batch
subscriber slept as long as it had listened, and an event arriving then waited out the
sleep on every hop of a referral whenever the platform was quiet."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from faststream.kafka import KafkaBroker
from servicekit.consumer import EMPTY_POLL_MS, listen_without_pause


class Quiet:
    """A consumer with nothing to give, then one record."""

    def __init__(self) -> None:
        self.polls: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[str, list[str]]:
        self.polls.append((timeout_ms, max_records))
        return {} if len(self.polls) == 1 else {"p0": ["a", "b"], "p1": ["c"]}


async def test_an_empty_poll_is_followed_by_the_next_poll_without_a_sleep(monkeypatch: pytest.MonkeyPatch):
    async def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s after an empty poll")

    monkeypatch.setattr(anyio, "sleep", no_sleep)
    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    subscriber = KafkaBroker("unused:9092").subscriber(
        "t", group_id="g", batch=True, max_records=100, batch_timeout_ms=EMPTY_POLL_MS
    )
    listen_without_pause(subscriber)
    consumer = Quiet()
    assert await subscriber.get_msg(consumer) == ()  # nothing: answered without sleeping
    assert await subscriber.get_msg(consumer) == ("a", "b", "c")  # every partition's records
    assert consumer.polls == [(EMPTY_POLL_MS, 100), (EMPTY_POLL_MS, 100)]


def test_a_subscriber_that_polls_another_way_is_refused_at_start_up():
    class Elsewhere:
        batch_timeout_ms, max_records = 1000, 100

    with pytest.raises(TypeError, match="get_msg"):
        listen_without_pause(Elsewhere())
