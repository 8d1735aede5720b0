"""What the calendar routes take and answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CalendarFeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["en", "fr"] = Field(default="en", description="The language of the events' titles")


class CalendarAddress(BaseModel):
    url: str = Field(
        description="Secret: whoever has it reads the calendar; shown once, replaced by a new one"
    )
    webcal: str = Field(description="The same address for calendar apps that subscribe with webcal://")
