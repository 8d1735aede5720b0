"""What every feature of training shares: the authority's policy (its time zone, when reminders
go) and the refusal of an unknown record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TrainingPolicy:
    time_zone: str = "America/Toronto"
    reminder_days: tuple[float, ...] = field(default=(60.0, 30.0, 7.0))

    def start_of(self, day: date) -> datetime:
        """A completion given as a date counts from midnight at the authority."""
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(self.time_zone))


NEVER = datetime.max.replace(tzinfo=UTC)  # the expiry of a course that does not expire


class TimerKind(StrEnum):
    EXPIRY = "expiry"  # the certification lapses
    REMINDER = "reminder"  # some days before it does


class UnknownRecord(LookupError):
    pass


class Conflict(Exception):
    """The request cannot be carried out in the record's present state (HTTP 409)."""
