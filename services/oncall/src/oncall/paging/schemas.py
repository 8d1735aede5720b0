"""What the paging routes answer: ids, roles, states and times; never an address or a
message's text."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Answered(BaseModel):
    status: Literal["acknowledged", "declined"]


class Delivery(BaseModel):
    """How one page's message is getting through one of the person's routes."""

    channel: str
    route: int = Field(description="Which of the person's routes, from 1")
    status: str
    attempts: int
    last_failure: str | None = Field(description="The kind of the last failure, never its content")
    delivered_at: datetime | None


class PageRow(BaseModel):
    page_id: uuid.UUID
    referral_id: uuid.UUID
    step: int
    recipient: str = Field(description="The staff reference paged")
    recipient_role: str
    status: str
    sent_at: datetime
    acknowledge_by: datetime
    answered_at: datetime | None
    notifications: list[Delivery]


class Clock(BaseModel):
    due_at: datetime
    state: str = Field(description="running, kept, missed or stopped")


class Episode(BaseModel):
    """A case of oncall's in the coordinator's queue. Ids and categories only."""

    referral_id: uuid.UUID
    status: str
    crisis: bool
    urgency: str
    team_size: int
    started_at: datetime
    acknowledged_at: datetime | None
    unmatched: bool = Field(description="Nobody could be proposed: the chain goes to the coordinator")
    escalated: bool
    paging_role: str | None = Field(description="Who is paged now: primary, backup, supporter or coordinator")
    paging: str | None = Field(default=None, description="The staff reference paged now")
    paging_since: datetime | None = Field(default=None, description="When the page waiting now was sent")
    reopened: bool
    worker_unchecked: bool
    clocks: dict[str, Clock]
    failed_deliveries: int = Field(default=0, description="Messages of this case's pages that failed")
    time_zone: str | None = Field(default=None, description="The site's zone, to say times in")


class MyPage(BaseModel):
    """A page waiting for my answer, with what I need to decide at 3 a.m."""

    page_id: uuid.UUID
    referral_id: uuid.UUID
    step: int
    recipient_role: str
    sent_at: datetime
    acknowledge_by: datetime
    site_id: str
    crisis: bool
    urgency: str
    team_size: int
    time_zone: str | None = Field(description="The site's zone, to say times in")
