"""The front-end calls the services through httpx on every page (and oncall calls matching
before it pages the next person). httpcore asks, on every async request, which event loop
runs it, by importing sniffio: without it installed, each request looked for the module on
disk twice, and failed, about a fifth of the request's CPU (issue 25, eleventh round)."""

from __future__ import annotations

import sys
from typing import Any

from httpcore._synchronization import AsyncShieldCancellation, current_async_library


class _Looks:
    """A finder first on sys.meta_path that counts the imports that reach the finders
    (a module already imported never does)."""

    def __init__(self) -> None:
        self.looked: list[str] = []

    def find_spec(self, name: str, *_: Any) -> None:
        self.looked.append(name)
        return None  # the real finders go on as before


async def test_an_async_request_imports_nothing_to_learn_which_event_loop_runs_it():
    looks = _Looks()
    sys.meta_path.insert(0, looks)
    try:
        for _ in range(10):  # what a request through httpcore's pool asks, each time
            assert current_async_library() == "asyncio"
            with AsyncShieldCancellation():
                pass
    finally:
        sys.meta_path.remove(looks)
    assert looks.looked == []
