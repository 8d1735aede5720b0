"""The referral as intake understands it: pure rules, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.events import ReferralSubmitted
from contracts.types import (
    REASON_KINDS,
    ConnectionPath,
    Modality,
    ReasonCategory,
    ReasonKind,
    SupportTier,
    Urgency,
)


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"
    MATCHED = "matched"
    CONTACTED = "contacted"
    MET = "met"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class ReferralRejected(ValueError):
    """A referral that cannot become a case, with a message the person can act on."""


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
    languages: list[str] = field(default_factory=list)
    status: CaseStatus = CaseStatus.SUBMITTED

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
        )


def check_reason(category: ReasonCategory, kind: ReasonKind) -> None:
    if kind not in REASON_KINDS[category]:
        allowed = ", ".join(sorted(k.value for k in REASON_KINDS[category]))
        raise ReferralRejected(
            f"reason.kind '{kind.value}' is not a kind of '{category.value}'; choose one of: {allowed}"
        )
