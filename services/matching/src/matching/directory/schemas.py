"""What the directory and roster routes answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Upserted(BaseModel):
    upserted: int


class RosterSupporter(BaseModel):
    """A supporter as matching sees them; never their dual relationships."""

    staff_ref: str
    display_name: str | None = Field(description="Their work name, when the directory gives one")
    paused: bool
    paused_by_authority: bool
    paused_by_self: bool
    serves: str
    mental_health_professional: bool
    eligible: bool
    deployments: int = Field(description="Deployments over the window")
    last_deployed_at: datetime | None


class SiteRoster(BaseModel):
    site_id: str
    days: int
    supporters: list[RosterSupporter]
