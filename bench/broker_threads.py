"""Where the broker's CPU goes, by kind of thread: the JVM compiling Kafka's code (its JIT),
collecting garbage, answering requests, and the rest. A broker a few minutes old spent
almost half its CPU at 5 referrals/s compiling; a broker in service for weeks does not, so
the bench shows it apart.

Read from ``/proc/<pid>/task/*/stat``. Linux keeps the first 15 characters of a thread's
name, enough to tell these kinds apart.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

# the beginning of a thread's name (digits left out), and what the thread does
KINDS = (
    ("C# CompilerThre", "compiling (JIT)"),
    ("GC Thread", "garbage collection"),
    ("G# ", "garbage collection"),
    ("VM Thread", "garbage collection"),  # runs the collector's pauses at a safepoint
    ("data-plane-kafk", "requests"),
    ("executor-Fetch", "requests"),
    ("ExpirationReape", "requests"),  # a long-polled fetch that expired empty
    ("group-coordinat", "requests"),
)
OTHER = "other (controller, timers, metrics)"
ENDED = "ended threads (mostly compiling)"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Snapshot(NamedTuple):
    process: float  # seconds of CPU, every thread that ever ran included
    threads: dict[str, tuple[str, float]]  # a living thread's id: its kind, its seconds


def kind_of(thread_name: str) -> str:
    masked = re.sub(r"\d", "#", thread_name)
    return next((kind for prefix, kind in KINDS if masked.startswith(prefix)), OTHER)


def _ticks(stat: str) -> tuple[str, int]:
    """A thread's (or the process's) name and its CPU so far (user and system), in ticks."""
    # the name is in parentheses and may hold spaces; the fields after it are fixed
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return name, int(fields[11]) + int(fields[12])


def snapshot(pid: int | None) -> Snapshot:
    """The process's CPU so far (the threads that ended included) and each living thread's."""
    if pid is None:
        return Snapshot(0.0, {})
    threads: dict[str, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, ticks = _ticks((task / "stat").read_text())
        except OSError:
            continue  # the thread ended meanwhile
        threads[task.name] = (kind_of(name), ticks / CLOCK_TICKS)
    try:
        _, ticks = _ticks(Path(f"/proc/{pid}/stat").read_text())
    except OSError:
        return Snapshot(0.0, {})
    return Snapshot(ticks / CLOCK_TICKS, threads)


def per_referral(before: Snapshot, after: Snapshot, referrals: int) -> dict[str, float]:
    """Milliseconds a referral by kind. A thread that ended meanwhile took its CPU with it
    (the JVM stops compiler threads it no longer needs): what the process used beyond its
    living threads is shown on its own line."""
    used: dict[str, float] = {}
    for tid, (kind, seconds) in after.threads.items():
        earlier = before.threads.get(tid, (kind, 0.0))[1]
        # less than before: the id went to a new thread, all of whose time is in this phase
        used[kind] = used.get(kind, 0.0) + (seconds - earlier if seconds >= earlier else seconds)
    used[ENDED] = max(0.0, after.process - before.process - sum(used.values()))
    return {kind: round(1000 * seconds / referrals, 2) for kind, seconds in sorted(used.items())}
