"""What intake's routes share: the types of form fields, the roles, the refusals, and the
forms a person fills in (in one place, so a form's rules read in one file)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from contracts.types import (
    CaseOutcome,
    Gender,
    LanguageCode,
    Modality,
    Moment,
    OfferSource,
    ReasonCategory,
    ReasonKind,
    SiteId,
    StaffRef,
    UnitCode,
    Urgency,
)
from fastapi import Header, HTTPException, status
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)
from servicekit.auth import Role, requires
from servicekit.text import PRINTABLE_LINE

from intake.domain import (
    CaseStatus,
    ConfidentialityException,
    Contact,
    HrMatter,
)

Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{7,20}$")]
Name = Annotated[str, PRINTABLE_LINE, Field(min_length=1, max_length=120)]
# crisis and help lines may be short codes (911, 988)
LinePhone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{3,20}$")]
Label = Annotated[str, PRINTABLE_LINE, Field(min_length=1, max_length=200)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00-\x1f\x7f]{3,300}$")]
WorkerToken = Annotated[str, Header(alias="Worker-Token", min_length=16, max_length=100)]

COORDINATOR = requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN)
CASE_WORKER = requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN, Role.PEER_SUPPORTER)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- what the forms carry ----------------------------------------------------------------


class Reason(Strict):
    category: ReasonCategory | Literal["hr_matter"] = Field(
        description="Why the worker comes (001 Box 4.1). 'hr_matter' is not peer support: it is "
        "answered with where to go instead, and creates no case, unless the worker is at "
        "imminent risk: then the crisis is answered and a case is made."
    )
    kind: ReasonKind | HrMatter


class Person(Strict):
    staff_ref: StaffRef | None = Field(default=None, description="Directory reference, if known")
    name: Name = Field(description="How the supporter should address them")
    phone: Phone | None = None
    email: EmailStr | None = None

    @model_validator(mode="after")
    def reachable(self) -> Person:
        if self.phone is None and self.email is None:
            raise ValueError("give a phone number or an e-mail address, so a supporter can reach them")
        return self

    def contact(self) -> Contact:
        return Contact(name=self.name, phone=self.phone, email=self.email)


class Preferences(Strict):
    same_profession: bool | None = Field(
        default=None, description="true: same profession; false: deliberately another discipline"
    )
    gender: Gender | None = Field(default=None, description="Of the supporter")
    other_site: bool = Field(default=False, description="Someone from another site of the authority")
    languages: list[LanguageCode] = Field(default_factory=list, max_length=5)


class SelfReferral(Strict):
    site_id: SiteId
    reason: Reason
    urgency: Urgency
    modality: Modality = Modality.EITHER
    channel: Literal["web_form", "phone_line", "pager", "email"] = Field(
        default="web_form",
        description="The form, or the phone-line or pager integration posting for the worker",
    )
    worker: Person
    preferences: Preferences = Field(default_factory=Preferences)
    excluded_supporters: list[StaffRef] = Field(
        default_factory=list, max_length=20, description="People the worker does not want: never proposed"
    )
    imminent_risk: bool = Field(
        default=False, description="The worker reports an imminent risk to life or of harm"
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "critical_incident", "kind": "unexpected_patient_death"},
                    "urgency": "within_hours",
                    "modality": "phone",
                    "worker": {"staff_ref": "st-1001", "name": "Sam", "phone": "+1 555 0100"},
                    "preferences": {"same_profession": True, "languages": ["fr"]},
                }
            ]
        },
    )


class ManagerReferral(Strict):
    site_id: SiteId
    reason: Reason
    urgency: Urgency = Urgency.WITHIN_DAYS
    modality: Modality = Modality.EITHER
    worker: Person = Field(description="The worker; their e-mail is needed so they can answer privately")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "patient_safety_incident", "kind": "harmful_incident"},
                    "worker": {"name": "Sam", "email": "sam@example.org"},
                }
            ]
        },
    )


class ColleagueConcern(Strict):
    """Support for the caller in helping a colleague. Nothing about the colleague is asked,
    and nobody reaches out to them without their consent."""

    site_id: SiteId
    reason: Reason = Field(description="What happened, as it touches the caller")
    urgency: Urgency
    modality: Modality = Modality.EITHER
    caller: Person
    preferences: Preferences = Field(default_factory=Preferences)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "work_related_stress", "kind": "cumulative_stress"},
                    "urgency": "within_days",
                    "caller": {"name": "Robin", "phone": "+1 555 0101"},
                }
            ]
        },
    )


class Consent(Strict):
    method: Literal["verbal", "written", "electronic"]
    given_at: Moment


class EapReferral(Strict):
    site_id: SiteId
    reason: Reason
    urgency: Urgency
    modality: Modality = Modality.EITHER
    worker: Person
    preferences: Preferences = Field(default_factory=Preferences)
    consent: Consent = Field(description="The worker's recorded consent: required")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "work_related_stress", "kind": "violence_or_harassment"},
                    "urgency": "within_days",
                    "worker": {"name": "Sam", "phone": "+1 555 0100"},
                    "consent": {"method": "verbal", "given_at": "2026-11-21T10:00:00Z"},
                }
            ]
        },
    )


class GroupEvent(Strict):
    category: Literal[ReasonCategory.CRITICAL_INCIDENT, ReasonCategory.PATIENT_SAFETY]
    kind: ReasonKind


class GroupActivation(Strict):
    site_id: SiteId
    unit: UnitCode = Field(description="The team or unit touched, e.g. 'icu-4'")
    people: int = Field(ge=2, le=500, description="How many people the event touched")
    event: GroupEvent
    urgency: Urgency = Urgency.AS_SOON_AS_POSSIBLE
    modality: Modality = Modality.IN_PERSON
    contact: Person = Field(description="Who the supporters call to organise the group session")
    involved_staff: list[StaffRef] = Field(
        default_factory=list,
        max_length=50,
        description="Staff involved in the event from outside the unit: never sent to support it",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "unit": "icu-4",
                    "people": 14,
                    "event": {"category": "critical_incident", "kind": "colleague_suicide"},
                    "contact": {"name": "Charge nurse on duty", "phone": "+1 555 0102"},
                }
            ]
        },
    )


class OutreachOffer(Strict):
    site_id: SiteId
    source: Literal[OfferSource.OCCURRENCE_REPORT, OfferSource.SAFETY_HUDDLE]
    reason: Reason
    urgency: Urgency = Urgency.WITHIN_DAYS
    worker: Person = Field(description="The worker; their e-mail is needed so they can answer privately")


class Resource(BaseModel):
    label: Label
    phone: LinePhone | None = None
    url: Url | None = None


class Answer(BaseModel):
    """What the person who asked is told. ``case_created`` false: nothing was stored."""

    case_created: bool
    message: str
    referral_id: uuid.UUID | None = None
    status: CaseStatus | None = None
    worker_token: str | None = Field(
        default=None,
        description="The worker's private key to their case (see /my-case). Shown once; keep it.",
    )
    resources: list[Resource] = Field(default_factory=list)


class SiteIn(Strict):
    display_name: Name
    third_party_outreach: bool = Field(
        default=True, description="Do supporters reach out on referrals made by someone else?"
    )
    program_contact: Label | None = Field(default=None, description="How a worker reaches the program")
    crisis_resources: list[Resource] | None = Field(default=None, max_length=10)
    hr_resources: list[Resource] | None = Field(default=None, max_length=10)


class SiteResources(BaseModel):
    site_id: str
    display_name: str
    program_contact: str | None
    crisis_resources: list[Resource]
    hr_resources: list[Resource]


class Closing(Strict):
    """The minimal closing record (001). There is deliberately no field for notes."""

    contact_made: bool
    outcome: CaseOutcome


class Encounter(Strict):
    """What the supporter records of a meeting; how long it took adds up to volunteer hours."""

    duration_minutes: int | None = Field(default=None, ge=1, le=1440)


class ExceptionIn(Strict):
    reason: ConfidentialityException
    worker_informed: bool = Field(description="002: when confidentiality is broken, the person is told")


def unprocessable(message: str) -> HTTPException:
    return HTTPException(422, {"message": message})


def conflict(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, {"message": str(exc)})


NOT_YOURS = "no such referral for the sites you act for"
