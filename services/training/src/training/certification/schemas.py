"""What the catalogue and supporter routes answer: courses, standings, hours; never what
was said in a debrief nor by a referee."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Course(BaseModel):
    code: str
    title: str
    validity_days: int | None = Field(description="None: never expires")
    required: bool


class Certification(BaseModel):
    course: str
    completed_at: datetime
    expires_at: datetime | None
    current: bool


class Expiry(BaseModel):
    course: str
    expires_at: datetime


class Standing(BaseModel):
    """A supporter's standing: eligible or what is missing, the next expiry, continuing
    education and debriefs of the last twelve months, open prompts, candidacy stage."""

    staff_ref: str
    home_site: str
    tier: int
    active: bool
    eligible: bool
    courses_missing: list[str]
    certifications: list[Certification]
    next_expiry: Expiry | None
    education_hours_12_months: float
    debriefs_attended_12_months: int
    last_debrief_on: date | None
    open_debrief_prompts: int
    candidacy_stage: str | None


class CompletionRecorded(BaseModel):
    staff_ref: str
    course: str
    expires_at: datetime | None
    expires_on: date | None = Field(description="The day it expires, in the authority's zone")
    already_recorded: bool


class EducationRecorded(BaseModel):
    staff_ref: str
    education_hours_12_months: float
