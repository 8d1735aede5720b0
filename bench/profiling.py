"""Where each service's time goes under load: py-spy samples every process of the platform
for the length of a steady run; each stack's samples are charged to its innermost frame of a
known part (our code, SQLAlchemy, asyncpg, OpenTelemetry, pydantic, FastStream and aiokafka,
the event loop...), so the table says which layer costs what, per service."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

# the innermost frame whose file path holds one of these names the part a sample is charged to
PARTS = (
    ("opentelemetry", "tracing and metrics (OpenTelemetry)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("asyncpg", "asyncpg (PostgreSQL driver)"),
    ("pydantic", "pydantic (parsing, validation)"),
    ("faststream", "FastStream"),
    ("aiokafka", "aiokafka (Kafka client)"),
    ("kafka", "aiokafka (Kafka client)"),
    ("starlette", "FastAPI and Starlette"),
    ("fastapi", "FastAPI and Starlette"),
    ("uvicorn", "uvicorn"),
    ("httptools", "uvicorn"),
    ("jwt", "tokens (PyJWT, cryptography)"),
    ("cryptography", "tokens (PyJWT, cryptography)"),
    ("logging", "logging"),
    ("json", "json"),
    ("uvloop", "event loop"),
    ("asyncio", "event loop"),
    ("selectors", "event loop"),
    ("servicekit", "servicekit (outbox, inbox, consumer)"),
    ("contracts", "contracts (events)"),
    ("services/", "the service's own code"),
)


def py_spy() -> str:
    found = os.environ.get("PSS_PY_SPY") or shutil.which("py-spy")
    if not found:
        raise SystemExit("--profile needs py-spy: uv pip install py-spy (or set PSS_PY_SPY)")
    return found


def sample(
    directory: Path, pids: dict[str, int], seconds: float
) -> list[tuple[str, subprocess.Popen[bytes]]]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        (
            name,
            subprocess.Popen(
                [
                    py_spy(),
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--duration",
                    str(int(seconds)),
                    "--output",
                    str(directory / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        )
        for name, pid in pids.items()
    ]


# a stack whose innermost frame is the loop's own run is uvloop waiting in epoll, which py-spy
# counts as on CPU (its wait is C code, not a Python frame it knows to be idle): sampled with
# --native, 90 of 110 such samples were in epoll_pwait. Counted apart, not charged to a part.
WAITING = "asyncio/runners.py"


def part_of(stack: str) -> str:
    """The part of the innermost frame that belongs to a known one."""
    for frame in reversed(stack.split(";")):
        for marker, part in PARTS:
            if marker in frame:
                return part
    return "other"


def summarise(directory: Path, sampling: list[tuple[str, subprocess.Popen[bytes]]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, process in sampling:
        process.wait(timeout=120)
        stacks = directory / f"{name}.txt"
        parts: Counter[str] = Counter()
        leaves: Counter[str] = Counter()
        waiting = 0
        for line in stacks.read_text().splitlines() if stacks.exists() else []:
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            if WAITING in stack.split(";")[-1]:
                waiting += int(count)
                continue
            parts[part_of(stack)] += int(count)
            leaves[stack.split(";")[-1]] += int(count)
        total = sum(parts.values()) or 1
        found[name] = {
            "samples": total,
            "waiting_samples": waiting,
            "parts_percent": {k: round(100 * v / total, 1) for k, v in parts.most_common()},
            "top_frames_percent": {k: round(100 * v / total, 1) for k, v in leaves.most_common(12)},
        }
    return found


def show(profile: dict[str, Any], when: str) -> None:
    print(f"\nwhere each service's samples went (py-spy, {when}, on-CPU samples only)")
    for name, found in profile.items():
        waiting = found.get("waiting_samples", 0)
        print(f"{name} ({found['samples']} samples, {waiting} more in the loop's wait)")
        for part, percent in found["parts_percent"].items():
            print(f"  {percent:5.1f}%  {part}")
