"""What the recruitment routes answer: stages and counts; never what a referee said."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Step(BaseModel):
    stage: str
    at: datetime


class CandidacyView(BaseModel):
    staff_ref: str
    stage: str
    started_at: datetime
    references: dict[str, int] = Field(description="Distinct referees received, per kind")
    references_missing: dict[str, int]
    courses_missing: list[str]
    steps: list[Step]
