"""The labels an emitted event is counted under in the operations metrics."""

from __future__ import annotations

import typing
import uuid
from enum import Enum

from contracts import EVENT_TYPES
from contracts.events import ServiceLevelBreached
from contracts.types import ServiceLevel
from servicekit.telemetry import event_attributes


def test_a_breach_is_counted_by_its_clock_and_whether_it_was_taken_and_nothing_else():
    event = ServiceLevelBreached(
        referral_id=uuid.uuid4(),
        site_id="north-general",
        level=ServiceLevel.CALLBACK,
        target_minutes=30,
        acknowledged=True,
    )
    envelope = event.envelope(site_id="north-general", producer="oncall").model_dump(mode="json")
    assert event_attributes(envelope) == {
        "event_type": "oncall.service_level.breached.v1",
        "level": "callback",
        "acknowledged": "true",
    }


def test_an_unknown_event_type_is_counted_by_its_type_only():
    assert event_attributes({"type": "someone.else.v9", "payload": {"x": 1}}) == {
        "event_type": "someone.else.v9"
    }


def test_metric_labels_are_only_categories_never_ids_or_people():
    """A label is an enum or a flag: a handful of values, never a site, a referral or a person."""
    for event_type, cls in EVENT_TYPES.items():
        hints = typing.get_type_hints(cls)
        for label in cls.METRIC_LABELS:
            annotation = hints[label]
            assert annotation is bool or (isinstance(annotation, type) and issubclass(annotation, Enum)), (
                f"{event_type}.{label} is {annotation}"
            )
