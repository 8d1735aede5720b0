"""What the supporter's own routes answer."""

from __future__ import annotations

from pydantic import BaseModel


class Availability(BaseModel):
    available: bool
    version: int


class ContactRoute(BaseModel):
    channel: str
    address: str
