"""What every feature of intake shares: the refusal of a case nobody may see, and the clock."""

from __future__ import annotations

from datetime import UTC, datetime


class NotFound(LookupError):
    pass


def now() -> datetime:
    return datetime.now(UTC)
