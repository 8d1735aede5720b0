"""The published contract: schemas up to date, compatible, and free of personal data."""

import types
import typing
import uuid
from enum import Enum

import pytest
from contracts import EVENT_TYPES, Envelope, parse_payload
from contracts.events import Candidate, MatchProposed, ReferralSubmitted
from contracts.schema import breaking_changes, current_schemas, published_schemas
from pydantic import BaseModel, ValidationError


def test_every_event_type_has_a_published_schema_that_matches_the_model():
    published = published_schemas()
    current = current_schemas()
    missing = sorted(set(current) - set(published))
    assert not missing, f"run `make schemas` and commit: no published schema for {missing}"
    for name, schema in current.items():
        assert not breaking_changes(published[name], schema), name


def test_a_removed_required_field_is_a_breaking_change():
    published = ReferralSubmitted.model_json_schema()
    changed = dict(published, properties=dict(published["properties"]))
    del changed["properties"]["urgency"]
    changed["required"] = [r for r in published["required"] if r != "urgency"]
    problems = breaking_changes(published, changed)
    assert any("urgency" in p for p in problems)


def test_a_new_required_field_breaks_replay_of_old_events():
    published = ReferralSubmitted.model_json_schema()
    changed = dict(published, properties=dict(published["properties"], shift={"type": "string"}))
    changed["required"] = [*published["required"], "shift"]
    assert any(p.startswith("backward") and "shift" in p for p in breaking_changes(published, changed))


def test_a_new_enum_value_breaks_consumers_of_the_old_version():
    published = MatchProposed.model_json_schema()
    changed = MatchProposed.model_json_schema()
    changed["$defs"]["Urgency"]["enum"].append("next_month")
    assert any("forward" in p for p in breaking_changes(published, changed))


def test_a_new_optional_field_is_compatible():
    published = ReferralSubmitted.model_json_schema()
    changed = dict(published, properties=dict(published["properties"], shift={"type": "integer"}))
    assert breaking_changes(published, changed) == []


def _string_fields(model: type[BaseModel], seen: set[type]) -> list[str]:
    """Paths of fields that could carry free text: plain str without a pattern or enum."""
    if model in seen:
        return []
    seen.add(model)
    found = []
    for name, field in model.model_fields.items():
        for ann in _leaves(field.annotation):
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                found += [f"{name}.{n}" for n in _string_fields(ann, seen)]
            elif ann is str and not _has_pattern(field.metadata):
                found.append(name)
    return found


def _leaves(annotation: object) -> list[object]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        return [] if _has_pattern(meta) else _leaves(base)
    if origin in (typing.Union, types.UnionType, list, dict, tuple, set, frozenset):
        return [leaf for arg in typing.get_args(annotation) for leaf in _leaves(arg)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return []
    return [annotation]


def _has_pattern(meta: list[object]) -> bool:
    return any(getattr(m, "pattern", None) for m in meta)


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_no_event_can_carry_free_text(type_name):
    assert _string_fields(EVENT_TYPES[type_name], set()) == []


def test_the_free_text_detector_finds_a_plain_string():
    class Leaky(BaseModel):
        note: str | None = None

    assert _string_fields(Leaky, set()) == ["note"]


def test_an_envelope_round_trips_and_parses_to_its_event():
    event = MatchProposed(
        referral_id=uuid.uuid4(),
        site_id="north-general",
        urgency="within_hours",
        candidates=[Candidate(supporter="st-0001", rank=1, score=0.9)],
    )
    envelope = event.envelope(site_id="north-general", producer="matching")
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert parse_payload(again) == event


def test_a_name_in_a_staff_reference_is_rejected():
    with pytest.raises(ValidationError):
        ReferralSubmitted(
            referral_id=uuid.uuid4(),
            site_id="north-general",
            path="self",
            reason_category="critical_incident",
            reason_kind="unexpected_patient_death",
            urgency="within_hours",
            modality="phone",
            worker="Jane Doe",
        )
