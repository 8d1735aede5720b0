"""Every event of the platform, version 1.

Each event is a fact a service decided, named in the domain's words. Payloads hold opaque
ids, categories, counts and times only: no names, contacts or free text about a person.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt

from contracts import topics
from contracts.envelope import Envelope, TraceContext, now
from contracts.types import (
    CaseOutcome,
    ConnectionPath,
    CourseCode,
    DutyLayer,
    EscalationReason,
    Gender,
    LanguageCode,
    MatchRule,
    Modality,
    OfferEnd,
    OfferSource,
    OverrideReason,
    ProfessionGroup,
    ReasonCategory,
    ReasonKind,
    RecipientRole,
    ReopenReason,
    ServiceLevel,
    SiteId,
    StaffRef,
    SupportTier,
    UnitCode,
    Urgency,
    WithdrawalStage,
)


class Event(BaseModel):
    """Base of every event payload. Subclasses set TYPE and TOPIC."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]
    # payload fields counted as labels of the operations metrics: categories only (enums and
    # flags), a handful of values each, never an id or a person's reference
    METRIC_LABELS: ClassVar[tuple[str, ...]] = ()

    def envelope(
        self,
        *,
        site_id: str,
        producer: str,
        traceparent: str | None = None,
        event_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        return Envelope(
            id=event_id or uuid.uuid4(),
            type=self.TYPE,
            occurred_at=occurred_at or now(),
            site_id=site_id,
            producer=producer,
            trace=TraceContext(traceparent=traceparent),
            payload=self.model_dump(mode="json"),
        )


# --- intake: the referral's lifecycle -------------------------------------------------


class ReferralSubmitted(Event):
    TYPE: ClassVar[str] = "intake.referral.submitted.v1"
    TOPIC: ClassVar[str] = topics.SUBMISSIONS
    METRIC_LABELS: ClassVar[tuple[str, ...]] = ("path", "urgency", "crisis")

    referral_id: uuid.UUID
    site_id: SiteId
    path: ConnectionPath
    reason_category: ReasonCategory
    reason_kind: ReasonKind
    urgency: Urgency
    modality: Modality
    tier: SupportTier = SupportTier.PEER_SUPPORT
    crisis: bool = False
    worker: StaffRef | None = Field(
        default=None, description="The worker's opaque directory reference, when known."
    )
    excluded_supporters: list[StaffRef] = Field(
        default_factory=list, description="People the worker does not want: hard exclusions."
    )
    involved_staff: list[StaffRef] = Field(
        default_factory=list, description="Participants in the same incident: never matched."
    )
    prefers_same_profession: bool | None = None
    languages: list[LanguageCode] = Field(default_factory=list, max_length=5)
    group_size: NonNegativeInt | None = Field(
        default=None, description="Group activation: how many people the event touched."
    )
    preferred_gender: Gender | None = Field(default=None, description="Of the supporter; a preference.")
    unit: UnitCode | None = Field(
        default=None, description="Group activation: the unit the event touched; its staff are involved."
    )
    prefers_other_site: bool = Field(
        default=False, description="The worker asks for someone from another site (distance)."
    )


class ReferralOffered(Event):
    """Support was offered to a worker who did not ask (manager referral, proactive
    outreach). Nobody is paged unless the worker accepts."""

    TYPE: ClassVar[str] = "intake.referral.offered.v1"
    TOPIC: ClassVar[str] = topics.REFERRALS

    referral_id: uuid.UUID
    site_id: SiteId
    path: ConnectionPath
    source: OfferSource
    reason_category: ReasonCategory
    reason_kind: ReasonKind


class ReferralDeclined(Event):
    """The worker declined an offer, or let it expire: no case, no outreach."""

    TYPE: ClassVar[str] = "intake.referral.declined.v1"
    TOPIC: ClassVar[str] = topics.REFERRALS

    referral_id: uuid.UUID
    site_id: SiteId
    path: ConnectionPath
    ended: OfferEnd


class ReferralContacted(Event):
    """The supporter reached the worker (RISE service level: call back within 30 minutes)."""

    TYPE: ClassVar[str] = "intake.referral.contacted.v1"
    TOPIC: ClassVar[str] = topics.REFERRALS

    referral_id: uuid.UUID
    site_id: SiteId
    minutes_to_callback: NonNegativeInt


class ReferralMet(Event):
    """A support encounter took place (RISE service level: meet within 12 hours)."""

    TYPE: ClassVar[str] = "intake.referral.met.v1"
    TOPIC: ClassVar[str] = topics.REFERRALS

    referral_id: uuid.UUID
    site_id: SiteId
    encounter: int = Field(ge=1, description="1 for the first encounter.")
    minutes_since_referral: NonNegativeInt
    duration_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="How long the encounter took, for volunteer hours."
    )


class ReferralWithdrawn(Event):
    TYPE: ClassVar[str] = "intake.referral.withdrawn.v1"
    TOPIC: ClassVar[str] = topics.REFERRALS

    referral_id: uuid.UUID
    site_id: SiteId
    stage: WithdrawalStage


class ReferralClosed(Event):
    TYPE: ClassVar[str] = "intake.referral.closed.v1"
    TOPIC: ClassVar[str] = topics.REFERRALS

    referral_id: uuid.UUID
    site_id: SiteId
    contact_made: bool
    minutes_to_callback: NonNegativeInt | None = None
    encounters: NonNegativeInt = 0
    outcome: CaseOutcome


# --- matching -----------------------------------------------------------------------


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    supporter: StaffRef
    rank: int = Field(ge=1)
    score: float
    on_duty: DutyLayer | None = None


class MatchProposed(Event):
    TYPE: ClassVar[str] = "matching.match.proposed.v1"
    TOPIC: ClassVar[str] = topics.PROPOSALS

    referral_id: uuid.UUID
    site_id: SiteId
    urgency: Urgency
    crisis: bool = False
    tier: SupportTier = SupportTier.PEER_SUPPORT
    candidates: list[Candidate] = Field(min_length=1)
    excluded_by_rule: dict[MatchRule, NonNegativeInt] = Field(default_factory=dict)
    team_size: int = Field(default=1, ge=1, description="Supporters needed (group cases).")
    worker_profession_group: ProfessionGroup | None = Field(
        default=None,
        description="On the referral's first decision only (so metrics counts each referral once).",
    )
    worker_unchecked: bool = Field(
        default=False,
        description="The worker is not in the directory: seniority and reporting line unchecked "
        "(matched as the most senior grade); the coordinator's queue says so.",
    )


class MatchUnmatched(Event):
    TYPE: ClassVar[str] = "matching.match.unmatched.v1"
    TOPIC: ClassVar[str] = topics.PROPOSALS
    METRIC_LABELS: ClassVar[tuple[str, ...]] = ("urgency", "crisis")

    referral_id: uuid.UUID
    site_id: SiteId
    urgency: Urgency
    crisis: bool = False
    excluded_by_rule: dict[MatchRule, NonNegativeInt] = Field(default_factory=dict)
    worker_profession_group: ProfessionGroup | None = Field(
        default=None,
        description="On the referral's first decision only (so metrics counts each referral once).",
    )
    worker_unchecked: bool = Field(
        default=False,
        description="The worker is not in the directory: seniority and reporting line unchecked "
        "(matched as the most senior grade); the coordinator's queue says so.",
    )


class MatchOverridden(Event):
    """A coordinator assigned a supporter of their choice; oncall pages that supporter."""

    TYPE: ClassVar[str] = "matching.match.overridden.v1"
    TOPIC: ClassVar[str] = topics.PROPOSALS

    referral_id: uuid.UUID
    site_id: SiteId
    supporter: StaffRef
    reason: OverrideReason
    urgency: Urgency
    crisis: bool = False


# --- oncall -------------------------------------------------------------------------


class PageSent(Event):
    TYPE: ClassVar[str] = "oncall.page.sent.v1"
    TOPIC: ClassVar[str] = topics.PAGES
    METRIC_LABELS: ClassVar[tuple[str, ...]] = ("recipient_role", "crisis")

    page_id: uuid.UUID
    referral_id: uuid.UUID
    site_id: SiteId
    recipient: StaffRef
    recipient_role: RecipientRole
    step: int = Field(ge=0, description="Position in the escalation chain, 0 = first page.")
    crisis: bool = False
    acknowledge_by: AwareDatetime


class PageAcknowledged(Event):
    TYPE: ClassVar[str] = "oncall.page.acknowledged.v1"
    TOPIC: ClassVar[str] = topics.ACKNOWLEDGEMENTS
    METRIC_LABELS: ClassVar[tuple[str, ...]] = ("recipient_role",)

    page_id: uuid.UUID
    referral_id: uuid.UUID
    site_id: SiteId
    recipient: StaffRef
    recipient_role: RecipientRole
    step: int = Field(ge=0)
    seconds_to_acknowledge: NonNegativeInt
    deployment_of_month: int | None = Field(
        default=None,
        ge=1,
        description="A supporter's n-th acknowledged page at this site this month (UTC): "
        "metrics counts deployments per supporter from it without keeping who.",
    )
    referral_seconds_to_acknowledge: NonNegativeInt | None = Field(
        default=None,
        description="On the referral's first acknowledgement only: seconds from its first page "
        "(seconds_to_acknowledge is this page's own wait). Metrics' time to acknowledge, one "
        "value per referral: a group case is acknowledged by several supporters.",
    )


class PageDeclined(Event):
    TYPE: ClassVar[str] = "oncall.page.declined.v1"
    TOPIC: ClassVar[str] = topics.PAGES

    page_id: uuid.UUID
    referral_id: uuid.UUID
    site_id: SiteId
    recipient: StaffRef
    step: int = Field(ge=0)


class PageEscalated(Event):
    TYPE: ClassVar[str] = "oncall.page.escalated.v1"
    TOPIC: ClassVar[str] = topics.PAGES
    METRIC_LABELS: ClassVar[tuple[str, ...]] = ("reason", "to_role")

    referral_id: uuid.UUID
    site_id: SiteId
    from_step: int = Field(ge=0)
    to_step: int = Field(ge=1)
    to_role: RecipientRole
    reason: EscalationReason


class PageExhausted(Event):
    TYPE: ClassVar[str] = "oncall.page.exhausted.v1"
    TOPIC: ClassVar[str] = topics.PAGES

    referral_id: uuid.UUID
    site_id: SiteId
    steps: int = Field(ge=1)


class ServiceLevelBreached(Event):
    """A case missed a service level; the site's coordinator is alerted."""

    TYPE: ClassVar[str] = "oncall.service_level.breached.v1"
    TOPIC: ClassVar[str] = topics.PAGES
    METRIC_LABELS: ClassVar[tuple[str, ...]] = ("level", "acknowledged")

    referral_id: uuid.UUID
    site_id: SiteId
    level: ServiceLevel
    target_minutes: int = Field(ge=1)
    acknowledged: bool = Field(description="Whether someone had taken the case when the clock ran out.")


class EpisodeReopened(Event):
    """Someone took the case but the service level still ran out: paging starts again."""

    TYPE: ClassVar[str] = "oncall.episode.reopened.v1"
    TOPIC: ClassVar[str] = topics.PAGES

    referral_id: uuid.UUID
    site_id: SiteId
    reason: ReopenReason
    to_step: int = Field(ge=0)
    to_role: RecipientRole


class DutyChanged(Event):
    TYPE: ClassVar[str] = "oncall.duty.changed.v1"
    TOPIC: ClassVar[str] = topics.DUTY

    site_id: SiteId
    layer: DutyLayer
    supporter: StaffRef | None = Field(description="None: nobody covers this layer (a gap).")
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None


class CoverageGapForecast(Event):
    """Nobody is scheduled on a layer for a stretch ahead: the coordinator is warned."""

    TYPE: ClassVar[str] = "oncall.coverage.gap_forecast.v1"
    TOPIC: ClassVar[str] = topics.DUTY

    site_id: SiteId
    layer: DutyLayer
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class SupporterAvailabilityChanged(Event):
    """A supporter stepped away (paused) or came back, themself: matching stops or starts
    proposing them."""

    TYPE: ClassVar[str] = "oncall.supporter.availability_changed.v1"
    TOPIC: ClassVar[str] = topics.DUTY

    supporter: StaffRef
    available: bool
    version: NonNegativeInt = Field(description="Monotonic per supporter: a consumer ignores an older one.")


class SiteDeclared(Event):
    """A site of the authority, declared in matching's directory: the other services refuse
    duty, supporters and candidates at a site nobody declared (a typo makes no phantom site).
    Published on every declaration, so declaring again heals a rebuilt projection."""

    TYPE: ClassVar[str] = "matching.site.declared.v1"
    TOPIC: ClassVar[str] = topics.DIRECTORY

    site_id: SiteId


class PersonListed(Event):
    """A person of the directory and their site: the opaque reference only, so oncall can
    refuse a duty row naming nobody. Published for every row of an import."""

    TYPE: ClassVar[str] = "matching.person.listed.v1"
    TOPIC: ClassVar[str] = topics.DIRECTORY

    person: StaffRef
    site_id: SiteId
    version: NonNegativeInt = Field(description="Monotonic per person: a consumer ignores an older one.")


# --- training -----------------------------------------------------------------------


class CertificationGranted(Event):
    TYPE: ClassVar[str] = "training.certification.granted.v1"
    TOPIC: ClassVar[str] = topics.CERTIFICATIONS

    supporter: StaffRef
    course: CourseCode
    completed_on: date
    expires_on: date | None = None


class CertificationExpired(Event):
    TYPE: ClassVar[str] = "training.certification.expired.v1"
    TOPIC: ClassVar[str] = topics.CERTIFICATIONS

    supporter: StaffRef
    course: CourseCode
    expired_on: date


class CertificationExpiring(Event):
    """A reminder: a certification lapses in ``days_before`` days unless renewed. oncall
    tells the supporter and their site's coordinator."""

    TYPE: ClassVar[str] = "training.certification.expiring.v1"
    TOPIC: ClassVar[str] = topics.CERTIFICATIONS

    supporter: StaffRef
    home_site: SiteId
    course: CourseCode
    expires_at: AwareDatetime
    days_before: float = Field(gt=0)


class SupporterEligibilityChanged(Event):
    TYPE: ClassVar[str] = "training.eligibility.changed.v1"
    TOPIC: ClassVar[str] = topics.ELIGIBILITY

    supporter: StaffRef
    home_site: SiteId
    eligible: bool
    tier: SupportTier = SupportTier.PEER_SUPPORT
    missing_courses: list[CourseCode] = Field(default_factory=list)
    version: NonNegativeInt = Field(
        description="Monotonic per supporter: a consumer ignores an older version."
    )


class DebriefPrompted(Event):
    """A supporter closed an encounter: a debrief is offered to them (RISE). Says nothing
    of the case, not even which one, so the prompt cannot be joined back to it."""

    TYPE: ClassVar[str] = "training.debrief.prompted.v1"
    TOPIC: ClassVar[str] = topics.SUPPORTER_CARE

    prompt_id: uuid.UUID
    supporter: StaffRef
    home_site: SiteId


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        ReferralSubmitted,
        ReferralOffered,
        ReferralDeclined,
        ReferralContacted,
        ReferralMet,
        ReferralWithdrawn,
        ReferralClosed,
        MatchProposed,
        MatchUnmatched,
        MatchOverridden,
        SiteDeclared,
        PersonListed,
        PageSent,
        PageAcknowledged,
        PageDeclined,
        PageEscalated,
        PageExhausted,
        ServiceLevelBreached,
        EpisodeReopened,
        DutyChanged,
        CoverageGapForecast,
        SupporterAvailabilityChanged,
        CertificationGranted,
        CertificationExpired,
        CertificationExpiring,
        SupporterEligibilityChanged,
        DebriefPrompted,
    )
}


class UnknownEventType(ValueError):
    pass


def parse_payload(envelope: Envelope) -> Event:
    """The typed event inside an envelope; raises on an unknown type or a bad payload."""
    try:
        cls = EVENT_TYPES[envelope.type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {envelope.type!r}") from None
    return cls.model_validate(envelope.payload)
