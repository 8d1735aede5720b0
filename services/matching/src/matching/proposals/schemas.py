"""What the proposal routes answer: staff references, rules and points; never who was
excluded, nor any evaluator relationship."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class Reason(BaseModel):
    preference: str
    points: float


class Candidate(BaseModel):
    """A supporter the proposal ranks, with the points of each preference it honoured."""

    supporter: str
    rank: int
    score: float
    on_duty: str | None = None
    site_id: str | None = None
    reasons: list[Reason] = Field(default_factory=list)


class OverrideSummary(BaseModel):
    supporter: str
    reason: str
    decided_at: datetime
    decided_by_staff_ref: str | None


class OverrideRow(OverrideSummary):
    """One override, as audited: who chose whom instead of the proposal."""

    override_id: int
    referral_id: uuid.UUID
    site_id: str
    replaces: list[str] = Field(description="The proposal's candidates when it was overridden")
    decided_by: str = Field(description="The coordinator's sign-in subject")


class Proposal(BaseModel):
    referral_id: uuid.UUID
    site_id: str
    matched: bool
    team_size: int
    pool: str = Field(description="How far the pool widened: site, region or authority")
    eligible_by_pool: dict[str, int]
    candidates: list[Candidate]
    excluded_by_rule: dict[str, int] = Field(description="How many were excluded by each hard rule")
    worker_checks: str
    tie_break: str
    decided_at: datetime
    overrides: list[OverrideSummary]


class EligibleNow(BaseModel):
    referral_id: uuid.UUID
    site_id: str
    checked_at: datetime
    eligible: list[str] = Field(description="Staff references, best first")
    pool: str


class Overridden(BaseModel):
    referral_id: uuid.UUID
    supporter: str
    reason: str
    decided_at: datetime
