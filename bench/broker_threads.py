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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def broker_pid() -> int | None:
    """The local broker's JVM (the launcher's ``kafka.Kafka``), if one runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in command and command[0].endswith(b"java"):
            return int(entry.name)
    return None


def kind_of(thread_name: str) -> str:
    masked = re.sub(r"\d", "#", thread_name)
    return next((kind for prefix, kind in KINDS if masked.startswith(prefix)), OTHER)


def cpu_seconds_by_kind(pid: int | None) -> dict[str, float]:
    """CPU time (user and system) each kind of thread has used so far; threads that ended
    are not counted (the broker's threads live as long as it does)."""
    used: dict[str, float] = {}
    if pid is None:
        return used
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        # the name is in parentheses and may hold spaces; the fields after it are fixed
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        kind = kind_of(name)
        used[kind] = used.get(kind, 0.0) + ticks / CLOCK_TICKS
    return used


def per_referral(before: dict[str, float], after: dict[str, float], referrals: int) -> dict[str, float]:
    return {
        kind: round(1000 * (after.get(kind, 0.0) - before.get(kind, 0.0)) / referrals, 2)
        for kind in sorted(set(before) | set(after))
    }
