"""What the casework routes answer: categories, times and counts, never personal data
(the contact is its own, audited answer)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from intake.domain import CaseStatus


class CaseSummary(BaseModel):
    """A case as its site's coordinators and its supporters see it."""

    referral_id: uuid.UUID
    site_id: str
    path: str = Field(description="self, manager, colleague, eap, outreach or group")
    channel: str
    reason_category: str
    reason_kind: str
    urgency: str
    modality: str
    tier: int
    crisis: bool
    group_size: int | None
    preferences: dict[str, Any] = Field(description="What the worker asked of their supporter")
    status: CaseStatus
    supporters: list[str] = Field(description="Staff references of the supporters who took it")
    submitted_at: datetime
    accepted_at: datetime | None
    contacted_at: datetime | None
    first_met_at: datetime | None
    encounters: int
    outcome: str | None
    ended_at: datetime | None
    purged: bool = Field(description="The worker's identifiers were erased after the retention period")


class ContactOut(BaseModel):
    name: str
    phone: str | None
    email: str | None


class AccessRow(BaseModel):
    at: datetime
    actor: str
    actor_role: str
    action: str
    purpose: str | None


class ExceptionRow(BaseModel):
    reason: str
    recorded_by: str
    worker_informed: bool
    at: datetime


class Recorded(BaseModel):
    status: CaseStatus
    minutes_to_callback: int | None = None
    encounter: int | None = None
