"""What the schedule routes answer. ``from`` is a Python keyword: the fields are named
``start`` and ``end`` and answer as ``from`` and ``to``."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Segment(BaseModel):
    layer: str
    starts_at: datetime
    ends_at: datetime
    supporter: str | None
    source: str = Field(description="rotation, override or gap")
    why: str | None = Field(default=None, description="Why this is a gap, when it is one")


class OverrideShown(BaseModel):
    override_id: int
    layer: str
    supporter: str
    starts_at: datetime
    ends_at: datetime
    swap_id: uuid.UUID | None


class Window(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    site_id: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class Calendar(Window):
    """Who holds each layer in the window, the gaps, and the overrides in force."""

    time_zone: str
    layers: dict[str, list[Segment]]
    gaps: list[Segment]
    overrides: list[OverrideShown]


class Coverage(Window):
    gaps: list[Segment]


class OverrideCreated(BaseModel):
    override_id: int


class Shift(BaseModel):
    supporter: str
    starts_at: datetime
    ends_at: datetime


class Swapped(BaseModel):
    swap_id: uuid.UUID
    shifts: list[Shift]
