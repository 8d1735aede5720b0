"""Value types allowed in events.

Events carry opaque identifiers and categories only. Free text is not representable: every
string field of an event is either one of these patterned identifiers or an enumeration,
and ``tests/test_confidentiality.py`` fails if someone adds a plain ``str``.
"""

from datetime import date
from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, NaiveDatetime, StringConstraints

# A site of the authority, e.g. "north-general".
SiteId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
# A person's opaque reference in the authority's staff directory, e.g. "st-4821". The
# directory assigns these; they are never names, badge numbers or e-mail addresses.
StaffRef = Annotated[str, StringConstraints(pattern=r"^st-[0-9a-z]{2,40}$")]
# A course of the training catalogue, e.g. "crisis-management".
CourseCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
# ISO 639-1 language, e.g. "fr".
# a phone number in international form (E.164): where a text message goes, +15550100199
PHONE_PATTERN = r"\+[1-9]\d{6,14}"
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
# a unit or team of a site, e.g. "icu-4": a place, never a person. The one definition: the
# directory (matching) and group activations (intake) accept the same units ("icu_7" is
# refused by both; widening the pattern would break consumers of the published schema)
UnitCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]

# The moments and days a person may give: 1900 to 2199. Far wider than any shift, course or
# consent, and narrow enough that no arithmetic on them (a shift, a month, a time zone's
# offset) leaves what dates can hold: year 1 or 9999 is refused with a clear message.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def _a_plausible_year(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_a_plausible_year)]  # with its offset
LocalMoment = Annotated[NaiveDatetime, AfterValidator(_a_plausible_year)]  # wall-clock, no offset
Day = Annotated[date, AfterValidator(_a_plausible_year)]


class ConnectionPath(StrEnum):
    """How the worker reached the program (DOMAIN.md, "How a worker is connected")."""

    SELF = "self"
    MANAGER = "manager"
    COLLEAGUE = "colleague"
    EAP = "eap"
    GROUP = "group"
    PROACTIVE = "proactive"


class ReasonCategory(StrEnum):
    PATIENT_SAFETY = "patient_safety_incident"
    CRITICAL_INCIDENT = "critical_incident"
    WORK_STRESS = "work_related_stress"


class ReasonKind(StrEnum):
    """The specific reason within its category (001, Box 4.1 and Figure 4.1)."""

    # patient safety incident
    HARMFUL_INCIDENT = "harmful_incident"
    NEAR_MISS = "near_miss"
    NO_HARM_INCIDENT = "no_harm_incident"
    # critical incident or trauma
    UNEXPECTED_PATIENT_DEATH = "unexpected_patient_death"
    COLLEAGUE_SUICIDE = "colleague_suicide"
    STAFF_CRITICAL_INJURY = "staff_critical_injury"
    DISASTER = "disaster"
    MASS_CASUALTY = "mass_casualty"
    COWORKER_DEATH_OR_ILLNESS = "coworker_death_or_illness"
    PROFOUND_EMOTION = "profound_emotion"
    # other work-related stress
    WORK_ENVIRONMENT = "work_environment"
    VIOLENCE_OR_HARASSMENT = "violence_or_harassment"
    WORKPLACE_CONFLICT = "workplace_conflict"
    REORGANIZATION = "reorganization"
    COMPLAINT_OR_LAWSUIT = "complaint_or_lawsuit"
    CUMULATIVE_STRESS = "cumulative_stress"
    WORK_LIFE_BALANCE = "work_life_balance"
    COMPASSION_FATIGUE = "compassion_fatigue"
    VICARIOUS_TRAUMA = "vicarious_trauma"
    MEDIA_ATTENTION = "media_attention"


REASON_KINDS: dict[ReasonCategory, frozenset[ReasonKind]] = {
    ReasonCategory.PATIENT_SAFETY: frozenset(
        {ReasonKind.HARMFUL_INCIDENT, ReasonKind.NEAR_MISS, ReasonKind.NO_HARM_INCIDENT}
    ),
    ReasonCategory.CRITICAL_INCIDENT: frozenset(
        {
            ReasonKind.UNEXPECTED_PATIENT_DEATH,
            ReasonKind.COLLEAGUE_SUICIDE,
            ReasonKind.STAFF_CRITICAL_INJURY,
            ReasonKind.DISASTER,
            ReasonKind.MASS_CASUALTY,
            ReasonKind.COWORKER_DEATH_OR_ILLNESS,
            ReasonKind.PROFOUND_EMOTION,
        }
    ),
    ReasonCategory.WORK_STRESS: frozenset(
        {
            ReasonKind.WORK_ENVIRONMENT,
            ReasonKind.VIOLENCE_OR_HARASSMENT,
            ReasonKind.WORKPLACE_CONFLICT,
            ReasonKind.REORGANIZATION,
            ReasonKind.COMPLAINT_OR_LAWSUIT,
            ReasonKind.CUMULATIVE_STRESS,
            ReasonKind.WORK_LIFE_BALANCE,
            ReasonKind.COMPASSION_FATIGUE,
            ReasonKind.VICARIOUS_TRAUMA,
            ReasonKind.MEDIA_ATTENTION,
        }
    ),
}


class Urgency(StrEnum):
    """Timing preference of the worker (RISE study buckets)."""

    AS_SOON_AS_POSSIBLE = "as_soon_as_possible"
    WITHIN_HOURS = "within_hours"
    WITHIN_DAYS = "within_days"
    AFTER_A_WEEK = "after_a_week"


class Modality(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    EITHER = "either"


class SupportTier(IntEnum):
    """Scott's three tiers: 1 emotional first aid, 2 peer support, 3 professional referral."""

    EMOTIONAL_FIRST_AID = 1
    PEER_SUPPORT = 2
    PROFESSIONAL = 3


class MatchRule(StrEnum):
    """The hard rules of matching; an excluded candidate is counted under the rule it broke."""

    ROLE = "role"
    SENIORITY = "seniority"
    NON_EVALUATOR = "non_evaluator"
    CERTIFICATION = "certification"
    PAUSED = "paused"
    DEPLOYMENT_CAP = "deployment_cap"
    INVOLVED = "involved"
    EXCLUDED_BY_WORKER = "excluded_by_worker"
    DUAL_RELATIONSHIP = "dual_relationship"


class ProfessionGroup(StrEnum):
    """What metrics counts referrals by: a coarse group, never the profession itself, which
    at a small site can point at a person."""

    NURSING = "nursing"
    MEDICINE = "medicine"
    ALLIED_HEALTH = "allied_health"
    SUPPORT_SERVICES = "support_services"
    OTHER = "other"
    NOT_KNOWN = "not_known"  # the worker is not in the directory (a group activation, say)


class RecipientRole(StrEnum):
    SUPPORTER = "supporter"
    COORDINATOR = "coordinator"
    AUTHORITY_FALLBACK = "authority_fallback"


class DutyLayer(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class ServiceLevel(StrEnum):
    """The two clocks of every case (RISE): called back in time, met in time."""

    CALLBACK = "callback"
    MEETING = "meeting"


class ReopenReason(StrEnum):
    NO_CALLBACK = "no_callback"  # acknowledged, but nobody called the worker back in time


class EscalationReason(StrEnum):
    NOT_ACKNOWLEDGED = "not_acknowledged"
    DECLINED = "declined"


class CaseOutcome(StrEnum):
    ONE_TIME_SUPPORT = "one_time_support"
    FOLLOW_UP = "follow_up"
    REFERRED_TO_EAP = "referred_to_eap"
    REFERRED_TO_PROFESSIONAL = "referred_to_professional"
    NO_CONTACT = "no_contact"


class Gender(StrEnum):
    """A worker may prefer a supporter of a given gender (a preference, never a rule)."""

    WOMAN = "woman"
    MAN = "man"
    NON_BINARY = "non_binary"


class OfferEnd(StrEnum):
    """How an offer of support (manager referral, proactive outreach) ended without a case."""

    DECLINED = "declined"
    EXPIRED = "expired"


class OfferSource(StrEnum):
    """Where an offer of support came from (001, "How a worker is connected")."""

    MANAGER = "manager"
    OCCURRENCE_REPORT = "occurrence_report"
    SAFETY_HUDDLE = "safety_huddle"


class WithdrawalStage(StrEnum):
    SUBMITTED = "submitted"
    MATCHED = "matched"
    CONTACTED = "contacted"
    MET = "met"


class OverrideReason(StrEnum):
    """Why a coordinator chose another supporter than matching proposed. A code, never
    free text: the reason is audited and travels on Kafka."""

    WORKER_REQUEST = "worker_request"  # the worker asked for this person
    CONTINUITY = "continuity"  # already supporting the worker, or the team
    LANGUAGE_OR_CULTURE = "language_or_culture"
    AVAILABILITY = "availability"  # the proposed people cannot be reached in time
    CONFLICT_DISCLOSED = "conflict_disclosed"  # a conflict the directory does not know
    COORDINATOR_JUDGEMENT = "coordinator_judgement"
