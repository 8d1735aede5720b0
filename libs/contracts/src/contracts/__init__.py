"""Contracts of the peer support platform: the event envelope, every event, every topic."""

from contracts import topics
from contracts.envelope import Envelope, TraceContext
from contracts.events import EVENT_TYPES, Event, UnknownEventType, parse_payload

__all__ = ["EVENT_TYPES", "Envelope", "Event", "TraceContext", "UnknownEventType", "parse_payload", "topics"]
