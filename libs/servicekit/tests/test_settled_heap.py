"""What start-up made is kept out of the cyclic garbage collector's sight: each full
collection walked some 175,000 objects a service made at start-up and stopped its event loop
for 150 to 250 ms, several times a run (bench-flow's 20/s p99 was about that)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from servicekit import service as servicekit_service
from servicekit.heap import settle_the_heap
from servicekit.settings import ServiceSettings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as before


def test_what_start_up_made_is_out_of_the_collectors_sight(unfrozen: None):
    startup = [{"made": n} for n in range(50_000)]  # as modules, schemas and statements are
    assert len(gc.get_objects()) > len(startup)
    frozen = settle_the_heap()
    assert frozen >= len(startup)
    # a full collection walks what the generations hold: no longer what start-up made
    assert len(gc.get_objects()) < len(startup) / 10
    # what is made afterwards is collected as ever
    cycle: list[Any] = []
    cycle.append(cycle)
    assert gc.is_tracked(cycle) and len(gc.get_objects()) > 0
    del cycle
    assert gc.collect() >= 1


def test_a_service_settles_its_heap_before_it_serves(unfrozen: None, monkeypatch: pytest.MonkeyPatch):
    seen: dict[str, int] = {}

    def serve(coroutine: Any) -> None:
        seen["frozen when serving"] = gc.get_freeze_count()
        coroutine.close()

    monkeypatch.setattr(servicekit_service.uvloop, "run", serve)
    monkeypatch.setattr(servicekit_service, "setup_telemetry", lambda *a, **k: None)
    monkeypatch.setattr(servicekit_service, "shutdown_telemetry", lambda: None)
    monkeypatch.setattr(
        servicekit_service, "SqlSpans", lambda *_: SimpleNamespace(instrument=lambda *_: None)
    )
    assert gc.get_freeze_count() == 0

    def make() -> Any:
        engine = SimpleNamespace(sync_engine=None)
        return SimpleNamespace(
            api=FastAPI(), settings=ServiceSettings(), database=SimpleNamespace(engine=engine)
        )

    servicekit_service.run(make)
    assert seen["frozen when serving"] > 0
