"""What the supporter-care routes answer: who attended and when; nothing of what was said."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel


class DebriefRecorded(BaseModel):
    debrief_id: uuid.UUID
    attendees: int


class Debrief(BaseModel):
    debrief_id: uuid.UUID
    held_on: date
    kind: str
    minutes: int
    attendees: list[str]


class DebriefPrompt(BaseModel):
    prompt_id: uuid.UUID
    staff_ref: str
    prompted_at: datetime
    answered_at: datetime | None
    outcome: str | None


class PromptAnswered(BaseModel):
    prompt_id: uuid.UUID
    outcome: str
