"""The case as intake understands it: pure rules, no I/O.

DOMAIN.md "How a worker is connected", "Why people come" and "Confidentiality". Each
connection path has its own rules; they are all here, so a reader finds them in one place.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.events import ReferralSubmitted
from contracts.types import (
    REASON_KINDS,
    ConnectionPath,
    Gender,
    Modality,
    ReasonCategory,
    ReasonKind,
    SupportTier,
    Urgency,
    WithdrawalStage,
)


class CaseStatus(StrEnum):
    OFFERED = "offered"  # waiting for the worker to accept an offer nobody asked for
    SUBMITTED = "submitted"
    MATCHED = "matched"
    CONTACTED = "contacted"
    MET = "met"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"  # the offer was declined or expired: no case, no outreach


ENDED = frozenset({CaseStatus.CLOSED, CaseStatus.WITHDRAWN, CaseStatus.DECLINED})

# The lifecycle. A coordinator may contact a worker matching could not place, so contacted
# is reachable from submitted; met repeats (each encounter); ended states are final.
_NEXT: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OFFERED: frozenset({CaseStatus.SUBMITTED, CaseStatus.DECLINED}),
    CaseStatus.SUBMITTED: frozenset(
        {CaseStatus.MATCHED, CaseStatus.CONTACTED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.MATCHED: frozenset({CaseStatus.CONTACTED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN}),
    CaseStatus.CONTACTED: frozenset({CaseStatus.MET, CaseStatus.CLOSED, CaseStatus.WITHDRAWN}),
    CaseStatus.MET: frozenset({CaseStatus.MET, CaseStatus.CLOSED, CaseStatus.WITHDRAWN}),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.WITHDRAWN: frozenset(),
    CaseStatus.DECLINED: frozenset(),
}


class LifecycleError(ValueError):
    """A step the case cannot take from where it is, said so a person can act on it."""


def check_transition(current: CaseStatus, to: CaseStatus) -> None:
    if to not in _NEXT[current]:
        if current in ENDED:
            raise LifecycleError(f"the case is already {current.value}; nothing more can be recorded")
        allowed = ", ".join(sorted(s.value for s in _NEXT[current])) or "nothing"
        raise LifecycleError(
            f"a case that is {current.value} cannot become {to.value}; it can become: {allowed}"
        )


def withdrawal_stage(current: CaseStatus) -> WithdrawalStage:
    check_transition(current, CaseStatus.WITHDRAWN)
    return WithdrawalStage(current.value)


class ReferralRejected(ValueError):
    """A referral that cannot become a case, with a message the person can act on."""


# --- why people come ------------------------------------------------------------------


class MessageStatus(StrEnum):
    """A mail to the worker (an offer of support): its address and body are erased once it
    is sent or cancelled."""

    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"


class HrMatter(StrEnum):
    """Excluded from peer support (001 Box 4.1): answered kindly, with where to go instead."""

    JOB_ACTION = "job_action"
    PERFORMANCE = "performance"
    DISCIPLINE = "discipline"


HR_ANSWER = (
    "Peer support is here for the emotional impact of work, such as a patient safety incident, "
    "a critical incident or work-related stress. Questions about job action, performance or "
    "discipline are handled elsewhere, and we want you to get the right help: please contact "
    "the people listed here. Nothing has been recorded about you. If this situation is also "
    "affecting you emotionally, you are welcome to ask us for support for that."
)


def check_reason(category: ReasonCategory, kind: ReasonKind) -> None:
    if kind not in REASON_KINDS[category]:
        allowed = ", ".join(sorted(k.value for k in REASON_KINDS[category]))
        raise ReferralRejected(
            f"reason.kind '{kind.value}' is not a kind of '{category.value}'; choose one of: {allowed}"
        )


# --- confidentiality --------------------------------------------------------------------


class ConfidentialityException(StrEnum):
    """The exceptions to confidentiality (002): each use is deliberate and recorded."""

    IMMINENT_RISK_TO_LIFE = "imminent_risk_to_life"
    SUICIDE_ATTEMPT = "suicide_attempt"
    RISK_OF_HARM_TO_OTHERS = "risk_of_harm_to_others"
    ABUSE_OR_NEGLECT = "abuse_or_neglect"
    SERIOUS_SELF_HARM = "serious_self_harm"
    SERIOUS_MENTAL_ILLNESS = "serious_mental_illness"
    LEGISLATION = "legislation"
    WRITTEN_PERMISSION = "written_permission"


CRISIS_ANSWER = (
    "You told us your life or someone's safety is at immediate risk. If you are in danger now, "
    "call the first number below. We are paging a mental-health professional right away, not a "
    "peer, and they will call you. Because of the risk, this is one of the few times we may "
    "share what you told us beyond the peer support program, only as far as needed to keep you "
    "safe, and we will tell you if we do."
)

DEFAULT_CRISIS_RESOURCES: list[dict[str, str]] = [
    {"label": "Emergency services", "phone": "911"},
    {"label": "Suicide Crisis Helpline (call or text)", "phone": "988"},
]


# --- worker tokens: the worker's own key to their case, without an account ---------------


def new_worker_token() -> str:
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    # only the digest is stored: a database dump does not let anyone act as the worker
    return hashlib.sha256(token.encode()).hexdigest()


# --- the case -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """Personal data: lives only in intake, encrypted at rest."""

    name: str
    phone: str | None = None
    email: str | None = None


@dataclass
class Referral:
    id: uuid.UUID
    site_id: str
    path: ConnectionPath
    reason_category: ReasonCategory
    reason_kind: ReasonKind
    urgency: Urgency
    modality: Modality
    submitted_at: datetime
    worker: str | None = None
    imminent_risk: bool = False
    excluded_supporters: list[str] = field(default_factory=list)
    involved_staff: list[str] = field(default_factory=list)
    prefers_same_profession: bool | None = None
    preferred_gender: Gender | None = None
    prefers_other_site: bool = False
    languages: list[str] = field(default_factory=list)
    group_size: int | None = None
    unit: str | None = None  # a group activation's unit: its staff are involved
    status: CaseStatus = CaseStatus.SUBMITTED

    def __post_init__(self) -> None:
        check_reason(self.reason_category, self.reason_kind)
        if self.path is ConnectionPath.GROUP and (self.group_size is None or self.group_size < 2):
            raise ReferralRejected("a group activation is for two people or more")
        if self.worker is not None and self.worker in self.excluded_supporters:
            raise ReferralRejected("the worker cannot be among the people they do not want")

    @property
    def tier(self) -> SupportTier:
        # imminent risk to life or of harm goes to a professional, not a peer (DOMAIN.md)
        return SupportTier.PROFESSIONAL if self.imminent_risk else SupportTier.PEER_SUPPORT

    def submitted_event(self) -> ReferralSubmitted:
        return ReferralSubmitted(
            referral_id=self.id,
            site_id=self.site_id,
            path=self.path,
            reason_category=self.reason_category,
            reason_kind=self.reason_kind,
            urgency=self.urgency,
            modality=self.modality,
            tier=self.tier,
            crisis=self.imminent_risk,
            worker=self.worker,
            excluded_supporters=self.excluded_supporters,
            involved_staff=self.involved_staff,
            prefers_same_profession=self.prefers_same_profession,
            languages=self.languages,
            group_size=self.group_size,
            preferred_gender=self.preferred_gender,
            prefers_other_site=self.prefers_other_site,
            unit=self.unit,
        )


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))
