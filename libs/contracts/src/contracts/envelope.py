"""The one envelope every event travels in.

On the wire an event is the JSON of :class:`Envelope`; its ``payload`` is the JSON of one
:class:`~contracts.events.Event` subclass, chosen by ``type``. Consumers ignore fields they
do not know, so a producer may add optional fields within a version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from contracts.types import SiteId

EventType = Annotated[str, StringConstraints(pattern=r"^[a-z]+(\.[a-z_]+)+\.v[0-9]+$")]
ProducerName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
# W3C trace context (https://www.w3.org/TR/trace-context/): ids only, no baggage.
TraceParent = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
]


class TraceContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    traceparent: TraceParent | None = None


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: uuid.UUID = Field(description="Unique per event; consumers deduplicate on it.")
    type: EventType = Field(description="Versioned event type, e.g. intake.referral.submitted.v1")
    occurred_at: AwareDatetime
    site_id: SiteId = Field(description="The site the fact belongs to; also the Kafka key.")
    producer: ProducerName
    trace: TraceContext = Field(default_factory=TraceContext)
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


def now() -> datetime:
    return datetime.now(UTC)
