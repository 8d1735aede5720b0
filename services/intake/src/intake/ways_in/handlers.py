"""New cases: stored sealed, idempotent, announced through the outbox; offers mailed with a
private link, rate limited per requester."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import sqlalchemy as sa
from contracts.events import (
    ReferralOffered,
)
from contracts.types import (
    ConnectionPath,
    OfferSource,
)
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement, named_values
from servicekit.mail import Mail
from servicekit.vault import PersonalDataVault
from sqlalchemy.dialects.postgresql import insert

from intake import tables
from intake.casework.handlers import set_case
from intake.common import now
from intake.domain import (
    CaseStatus,
    ConfidentialityException,
    Contact,
    MessageStatus,
    Referral,
    ReferralRejected,
    new_worker_token,
    token_digest,
)
from intake.sites.handlers import known_site, unknown_site

# --- new cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Idempotency:
    """A caller's Idempotency-Key and a digest of the request it came with: the same key
    with the same request is a replay (the same answer); with another request it is an
    error, never someone else's case."""

    key: str
    digest: str


class IdempotencyMismatch(ValueError):
    pass


@dataclass(frozen=True)
class Submission:
    referral_id: uuid.UUID
    created: bool
    worker_token: str | None = None  # only when created, and only for the worker themself


@dataclass(frozen=True)
class CaseDetails:
    """What intake keeps besides the event: how it came in, and who activated a group."""

    channel: str
    source: OfferSource | None = None
    unit: str | None = None
    activated_by: str | None = None
    consent: dict[str, Any] | None = None  # {method, given_at, recorded_by}
    crisis_reported_by: str | None = None  # set when the worker reported imminent risk


def _preferences(referral: Referral) -> dict[str, Any]:
    return {
        "same_profession": referral.prefers_same_profession,
        "gender": referral.preferred_gender.value if referral.preferred_gender else None,
        "other_site": referral.prefers_other_site,
        "languages": referral.languages,
    }


# On the driver (servicekit.driver), built once: every referral's path. ON CONFLICT, not
# check-then-insert: two concurrent retries with one key make one case.
_CASE_COLUMNS = (
    "referral_id", "site_id", "path", "reason_category", "reason_kind", "urgency", "modality", "tier",
    "crisis", "worker_ref", "excluded_supporters", "status", "submitted_at", "updated_at", "accepted_at",
    "idempotency_key", "request_digest", "channel", "source", "group_size", "unit", "activated_by",
    "preferences", "worker_token_digest", "offer_expires_at",
)  # fmt: skip
_INSERT_CASE = DriverStatement(
    insert(tables.referral)
    .values(named_values(tables.referral, _CASE_COLUMNS))
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(tables.referral.c.referral_id)
)
_CONTACT_COLUMNS = ("referral_id", "name_sealed", "phone_sealed", "email_sealed", "worker_token_sealed")
_INSERT_CONTACT = DriverStatement(
    sa.insert(tables.contact).values(named_values(tables.contact, _CONTACT_COLUMNS))
)


async def _insert_case(
    uow: UnitOfWork,
    referral: Referral,
    contact: Contact,
    vault: PersonalDataVault,
    details: CaseDetails,
    idempotency: Idempotency | None,
    *,
    worker_token: str | None,
    offer_expires_at: datetime | None = None,
) -> uuid.UUID | None:
    """The case row and its sealed contact; None when the Idempotency-Key was seen before."""
    inserted = await _INSERT_CASE.fetchval(
        uow,
        {
            "referral_id": referral.id,
            "site_id": referral.site_id,
            "path": referral.path.value,
            "reason_category": referral.reason_category.value,
            "reason_kind": referral.reason_kind.value,
            "urgency": referral.urgency.value,
            "modality": referral.modality.value,
            "tier": int(referral.tier),
            "crisis": referral.imminent_risk,
            "worker_ref": referral.worker,
            "excluded_supporters": referral.excluded_supporters,
            "status": referral.status.value,
            "submitted_at": referral.submitted_at,
            "updated_at": referral.submitted_at,
            "accepted_at": None if referral.status is CaseStatus.OFFERED else referral.submitted_at,
            "idempotency_key": idempotency.key if idempotency else None,
            "request_digest": idempotency.digest if idempotency else None,
            "channel": details.channel,
            "source": details.source.value if details.source else None,
            "group_size": referral.group_size,
            "unit": details.unit,
            "activated_by": details.activated_by,
            "preferences": _preferences(referral),
            "worker_token_digest": token_digest(worker_token) if worker_token else None,
            "offer_expires_at": offer_expires_at,
        },
    )
    if inserted is None:
        return None
    await _INSERT_CONTACT.execute(
        uow,
        {
            "referral_id": referral.id,
            "name_sealed": vault.seal(contact.name),
            "phone_sealed": vault.seal(contact.phone),
            "email_sealed": vault.seal(contact.email),
            "worker_token_sealed": vault.seal(worker_token) if worker_token else None,
        },
    )
    if details.consent is not None:
        await uow.session.execute(
            sa.insert(tables.consent).values(referral_id=referral.id, **details.consent)
        )
    if details.crisis_reported_by is not None:
        await uow.session.execute(
            sa.insert(tables.confidentiality_exception).values(
                referral_id=referral.id,
                reason=ConfidentialityException.IMMINENT_RISK_TO_LIFE.value,
                recorded_by=details.crisis_reported_by,
                worker_informed=True,  # the answer to their request tells them (CRISIS_ANSWER)
            )
        )
    return referral.id


async def _existing(uow: UnitOfWork, idempotency: Idempotency, vault: PersonalDataVault) -> Submission:
    """The case a replayed request made (only the idempotency key can conflict: the
    referral id is new), with the worker's private link again; another request under the
    same key is refused."""
    row = (
        await uow.session.execute(
            sa.select(
                tables.referral.c.referral_id,
                tables.referral.c.request_digest,
                tables.contact.c.worker_token_sealed,
            )
            .outerjoin(tables.contact, tables.contact.c.referral_id == tables.referral.c.referral_id)
            .where(tables.referral.c.idempotency_key == idempotency.key)
        )
    ).one()
    if row.request_digest != idempotency.digest:
        raise IdempotencyMismatch(
            "this Idempotency-Key was already used for a different request; send a new key with a new request"
        )
    return Submission(row.referral_id, created=False, worker_token=vault.open(row.worker_token_sealed))


async def submit_case(
    uow: UnitOfWork,
    referral: Referral,
    contact: Contact,
    vault: PersonalDataVault,
    details: CaseDetails,
    idempotency: Idempotency | None,
    *,
    give_worker_token: bool = True,
) -> Submission:
    """Store the case and its sealed contact, and emit ``referral submitted``, atomically.
    Nothing is stored unless all of it is. A replay (same key, same request) gets the first
    answer; the same key with another request is refused."""
    token = new_worker_token() if give_worker_token else None
    try:
        created = await _insert_case(uow, referral, contact, vault, details, idempotency, worker_token=token)
    except asyncpg.ForeignKeyViolationError:
        # the site is checked by the case's own key to it, not by a read first (a round trip
        # for every referral); the site is the only key the case's row has
        raise unknown_site(referral.site_id) from None
    if created is None:
        assert idempotency is not None
        return await _existing(uow, idempotency, vault)
    await uow.emit(referral.submitted_event(), site_id=referral.site_id)
    return Submission(referral.id, created=True, worker_token=token)


OFFER_INTRODUCTIONS = {
    OfferSource.MANAGER: "Your manager thought you might welcome support after a difficult time at work.",
    OfferSource.OCCURRENCE_REPORT: "We reach out to the people involved in events like one at your site.",
    OfferSource.SAFETY_HUDDLE: (
        "Your unit's safety huddle mentioned an event that can weigh on the people involved."
    ),
}


def offer_message(site_name: str, source: OfferSource, link: str, expires_at: datetime) -> Mail:
    # nothing a requester typed goes into the mail (not even the name they gave): the text
    # is the program's own, so an offer cannot carry someone else's words to an address
    body = (
        "Hello,\n\n"
        f"{OFFER_INTRODUCTIONS[source]} The peer support program of {site_name} offers you a "
        "confidential conversation with a trained colleague, by phone or in person.\n\n"
        "It is entirely your choice. Nobody is told whether you accept, decline or do not answer, "
        "and nothing is reported to your manager.\n\n"
        f"To accept or decline: {link}\n"
        f"The offer stays open until {expires_at:%Y-%m-%d}.\n"
    )
    return Mail(to="", subject="An offer of peer support", body=body)


async def offer_case(
    uow: UnitOfWork,
    referral: Referral,
    contact: Contact,
    vault: PersonalDataVault,
    source: OfferSource,
    *,
    channel: str,
    expires_after: timedelta,
    portal_url: str,
    idempotency: Idempotency | None,
    requested_by: str | None = None,
) -> Submission:
    """Support the worker did not ask for: the worker is asked privately and decides. Nobody
    is paged unless they accept."""
    if not contact.email:
        raise ReferralRejected("an offer needs the worker's e-mail, so they can answer it privately")
    site_row = await known_site(uow, referral.site_id)
    if source is OfferSource.MANAGER and not site_row.third_party_outreach:
        raise OutreachNotOffered(site_row.program_contact)
    token = new_worker_token()
    expires_at = referral.submitted_at + expires_after
    referral.status = CaseStatus.OFFERED
    created = await _insert_case(
        uow,
        referral,
        contact,
        vault,
        CaseDetails(channel=channel, source=source, activated_by=requested_by),
        idempotency,
        worker_token=None,  # an offer's token reaches the worker by mail only, never the requester
        offer_expires_at=expires_at,
    )
    if created is None:
        assert idempotency is not None
        replay = await _existing(uow, idempotency, vault)
        return Submission(replay.referral_id, created=False)
    await set_case(uow, referral.id, worker_token_digest=token_digest(token))
    mail = offer_message(site_row.display_name, source, f"{portal_url}#{token}", expires_at)
    await uow.session.execute(
        sa.insert(tables.worker_message).values(
            referral_id=referral.id,
            to_sealed=vault.seal(contact.email),
            subject=mail.subject,
            body_sealed=vault.seal(mail.body),
            status=MessageStatus.PENDING,
        )
    )
    await uow.emit(
        ReferralOffered(
            referral_id=referral.id,
            site_id=referral.site_id,
            path=referral.path,
            source=source,
            reason_category=referral.reason_category,
            reason_kind=referral.reason_kind,
        )
    )
    # the token reaches the worker only through the message, never the person who referred
    return Submission(referral.id, created=True)


class TooManyOffers(RuntimeError):
    pass


async def check_offer_rate(uow: UnitOfWork, requester: str, per_hour: int) -> None:
    """An offer mails an address its requester typed: each requester may send only so many
    an hour (counted in the database, so every replica counts the same)."""
    # one requester's offers are counted one at a time, so two at once cannot both pass
    await uow.session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("offers:" + requester, 0)))
    )
    since = now() - timedelta(hours=1)
    sent = await uow.session.scalar(
        sa.select(sa.func.count()).where(
            tables.referral.c.activated_by == requester,
            tables.referral.c.path == ConnectionPath.MANAGER.value,
            tables.referral.c.submitted_at > since,
        )
    )
    if (sent or 0) >= per_hour:
        raise TooManyOffers(
            f"you have asked for {per_hour} offers of support in the last hour, the most one person "
            "may; please try again later or call the program"
        )


class OutreachNotOffered(Exception):
    """This site's program does not reach out on referrals made by someone else."""

    def __init__(self, program_contact: str | None) -> None:
        super().__init__("no outreach on third-party referrals at this site")
        self.program_contact = program_contact
