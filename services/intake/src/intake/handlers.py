"""intake's use cases, as plain functions over a unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    MatchOverridden,
    MatchProposed,
    PageAcknowledged,
    ReferralClosed,
    ReferralContacted,
    ReferralDeclined,
    ReferralMet,
    ReferralOffered,
    ReferralWithdrawn,
)
from contracts.types import (
    CaseOutcome,
    ConnectionPath,
    Gender,
    Modality,
    OfferEnd,
    OfferSource,
    ReasonCategory,
    ReasonKind,
    RecipientRole,
    Urgency,
)
from servicekit.auth import Principal, Role
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.mail import Mail, Mailer
from servicekit.vault import PersonalDataVault
from sqlalchemy.dialects.postgresql import insert

from intake import tables
from intake.domain import (
    ENDED,
    CaseStatus,
    ConfidentialityException,
    Contact,
    LifecycleError,
    Referral,
    ReferralRejected,
    check_transition,
    minutes_between,
    new_worker_token,
    token_digest,
    withdrawal_stage,
)


class NotFound(LookupError):
    pass


def now() -> datetime:
    return datetime.now(UTC)


# --- sites ------------------------------------------------------------------------------


async def upsert_site(uow: UnitOfWork, site_id: str, values: dict[str, Any]) -> None:
    stmt = insert(tables.site).values(site_id=site_id, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["site_id"], set_=values))
    await uow.commit()


async def site(uow: UnitOfWork, site_id: str) -> Any:
    return (await uow.session.execute(sa.select(tables.site).where(tables.site.c.site_id == site_id))).first()


async def _known_site(uow: UnitOfWork, site_id: str) -> Any:
    row = await site(uow, site_id)
    if row is None:
        raise ReferralRejected(f"site_id '{site_id}' is not a site of this authority")
    return row


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
    # ON CONFLICT, not check-then-insert: two concurrent retries with one key make one case
    inserted = await uow.session.scalar(
        insert(tables.referral)
        .values(
            referral_id=referral.id,
            site_id=referral.site_id,
            path=referral.path.value,
            reason_category=referral.reason_category.value,
            reason_kind=referral.reason_kind.value,
            urgency=referral.urgency.value,
            modality=referral.modality.value,
            tier=int(referral.tier),
            crisis=referral.imminent_risk,
            worker_ref=referral.worker,
            excluded_supporters=referral.excluded_supporters,
            status=referral.status.value,
            submitted_at=referral.submitted_at,
            updated_at=referral.submitted_at,
            accepted_at=None if referral.status is CaseStatus.OFFERED else referral.submitted_at,
            idempotency_key=idempotency.key if idempotency else None,
            request_digest=idempotency.digest if idempotency else None,
            channel=details.channel,
            source=details.source.value if details.source else None,
            group_size=referral.group_size,
            unit=details.unit,
            activated_by=details.activated_by,
            preferences=_preferences(referral),
            worker_token_digest=token_digest(worker_token) if worker_token else None,
            offer_expires_at=offer_expires_at,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(tables.referral.c.referral_id)
    )
    if inserted is None:
        return None
    await uow.session.execute(
        sa.insert(tables.contact).values(
            referral_id=referral.id,
            name_sealed=vault.seal(contact.name),
            phone_sealed=vault.seal(contact.phone),
            email_sealed=vault.seal(contact.email),
            worker_token_sealed=vault.seal(worker_token) if worker_token else None,
        )
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
    await _known_site(uow, referral.site_id)
    token = new_worker_token() if give_worker_token else None
    created = await _insert_case(uow, referral, contact, vault, details, idempotency, worker_token=token)
    if created is None:
        assert idempotency is not None
        return await _existing(uow, idempotency, vault)
    await uow.emit(referral.submitted_event(), site_id=referral.site_id)
    await uow.commit()
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
    commit: bool = True,
) -> Submission:
    """Support the worker did not ask for: the worker is asked privately and decides. Nobody
    is paged unless they accept."""
    if not contact.email:
        raise ReferralRejected("an offer needs the worker's e-mail, so they can answer it privately")
    site_row = await _known_site(uow, referral.site_id)
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
    await _set(uow, referral.id, worker_token_digest=token_digest(token))
    mail = offer_message(site_row.display_name, source, f"{portal_url}#{token}", expires_at)
    await uow.session.execute(
        sa.insert(tables.worker_message).values(
            referral_id=referral.id,
            to_sealed=vault.seal(contact.email),
            subject=mail.subject,
            body_sealed=vault.seal(mail.body),
            status="pending",
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
        ),
        site_id=referral.site_id,
    )
    if commit:
        await uow.commit()
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


# --- the worker's own view: by token, without an account -----------------------------------


async def _case_by_token(uow: UnitOfWork, token: str) -> Any:
    row = (
        await uow.session.execute(
            sa.select(tables.referral)
            .where(tables.referral.c.worker_token_digest == token_digest(token))
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("no case for this link; it may have ended and been erased")
    return row


async def worker_view(uow: UnitOfWork, token: str) -> dict[str, Any]:
    row = await _case_by_token(uow, token)
    return {
        "referral_id": row.referral_id,
        "status": row.status,
        "offer_expires_at": row.offer_expires_at if row.status == CaseStatus.OFFERED else None,
    }


def _referral_of(row: Any) -> Referral:
    preferences = row.preferences or {}
    return Referral(
        id=row.referral_id,
        site_id=row.site_id,
        path=ConnectionPath(row.path),
        reason_category=ReasonCategory(row.reason_category),
        reason_kind=ReasonKind(row.reason_kind),
        urgency=Urgency(row.urgency),
        modality=Modality(row.modality),
        submitted_at=row.submitted_at,
        worker=row.worker_ref,
        imminent_risk=row.crisis,
        excluded_supporters=list(row.excluded_supporters),
        prefers_same_profession=preferences.get("same_profession"),
        preferred_gender=Gender(preferences["gender"]) if preferences.get("gender") else None,
        prefers_other_site=bool(preferences.get("other_site")),
        languages=list(preferences.get("languages") or []),
        group_size=row.group_size,
        status=CaseStatus(row.status),
    )


async def answer_offer(uow: UnitOfWork, token: str, *, accept: bool) -> CaseStatus:
    row = await _case_by_token(uow, token)
    current = CaseStatus(row.status)
    to = CaseStatus.SUBMITTED if accept else CaseStatus.DECLINED
    check_transition(current, to)
    at = now()
    if accept:
        await _set(uow, row.referral_id, status=to.value, accepted_at=at)
        await uow.emit(_referral_of(row).submitted_event(), site_id=row.site_id)
    else:
        await _end_offer(uow, row, OfferEnd.DECLINED, at)
    await uow.commit()
    return to


async def _end_offer(uow: UnitOfWork, row: Any, ended: OfferEnd, at: datetime) -> None:
    """The offer ends without a case: its unsent mail is dropped, nobody reaches out."""
    await _set(uow, row.referral_id, status=CaseStatus.DECLINED.value, ended_at=at)
    await _cancel_messages(uow, row.referral_id)
    await uow.emit(
        ReferralDeclined(
            referral_id=row.referral_id, site_id=row.site_id, path=ConnectionPath(row.path), ended=ended
        ),
        site_id=row.site_id,
    )


async def withdraw_by_worker(uow: UnitOfWork, token: str) -> None:
    row = await _case_by_token(uow, token)
    await _withdraw(uow, row)


async def withdraw_for_worker(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> None:
    """A coordinator or the assigned supporter records the worker's wish to stop."""
    row = await _case_for(uow, referral_id, principal)
    await _withdraw(uow, row)


async def _withdraw(uow: UnitOfWork, row: Any) -> None:
    current = CaseStatus(row.status)
    if current is CaseStatus.OFFERED:
        raise LifecycleError("this is an offer: decline it instead")
    stage = withdrawal_stage(current)
    await _set(uow, row.referral_id, status=CaseStatus.WITHDRAWN.value, ended_at=now())
    await uow.emit(
        ReferralWithdrawn(referral_id=row.referral_id, site_id=row.site_id, stage=stage), site_id=row.site_id
    )
    await uow.commit()


# --- the case, for coordinators and the assigned supporters ---------------------------------


def _may_see_case(principal: Principal, row: Any) -> bool:
    if principal.has(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN) and principal.acts_for(str(row.site_id)):
        return True
    return (
        principal.has(Role.PEER_SUPPORTER)
        and principal.staff_ref is not None
        and principal.staff_ref in (row.supporters or [])
    )


def _acting_role(principal: Principal, row: Any) -> str:
    if principal.has(Role.SITE_COORDINATOR) and principal.acts_for(str(row.site_id)):
        return Role.SITE_COORDINATOR.value
    if principal.has(Role.AUTHORITY_ADMIN):
        return Role.AUTHORITY_ADMIN.value
    return Role.PEER_SUPPORTER.value


async def _case_for(
    uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal, *, lock: bool = True
) -> Any:
    query = sa.select(tables.referral).where(tables.referral.c.referral_id == referral_id)
    row = (await uow.session.execute(query.with_for_update() if lock else query)).first()
    # someone who may not see a case cannot learn that it exists
    if row is None or not _may_see_case(principal, row):
        raise NotFound(referral_id)
    return row


def _summary(row: Any) -> dict[str, Any]:
    return {
        "referral_id": row.referral_id,
        "site_id": row.site_id,
        "path": row.path,
        "channel": row.channel,
        "reason_category": row.reason_category,
        "reason_kind": row.reason_kind,
        "urgency": row.urgency,
        "modality": row.modality,
        "tier": row.tier,
        "crisis": row.crisis,
        "group_size": row.group_size,
        "preferences": row.preferences,
        "status": row.status,
        "supporters": list(row.supporters or []),
        "submitted_at": row.submitted_at,
        "accepted_at": row.accepted_at,
        "contacted_at": row.contacted_at,
        "first_met_at": row.first_met_at,
        "encounters": row.encounters,
        "outcome": row.outcome,
        "ended_at": row.ended_at,
        "purged": row.purged_at is not None,
    }


async def case_summary(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    return _summary(await _case_for(uow, referral_id, principal, lock=False))


async def site_cases(uow: UnitOfWork, site_id: str, *, open_only: bool) -> list[dict[str, Any]]:
    query = sa.select(tables.referral).where(tables.referral.c.site_id == site_id)
    if open_only:
        query = query.where(tables.referral.c.status.not_in([s.value for s in ENDED]))
    rows = (await uow.session.execute(query.order_by(tables.referral.c.submitted_at.desc()).limit(500))).all()
    return [_summary(r) for r in rows]


async def read_contact(
    uow: UnitOfWork,
    referral_id: uuid.UUID,
    principal: Principal,
    purpose: str,
    vault: PersonalDataVault,
) -> Contact:
    """Personal data for someone who must reach the worker; every read leaves an audit row."""
    row = await _case_for(uow, referral_id, principal, lock=False)
    sealed = (
        await uow.session.execute(
            sa.select(tables.contact).where(tables.contact.c.referral_id == referral_id)
        )
    ).first()
    if sealed is None:
        raise NotFound(referral_id)  # purged after the retention period
    await uow.session.execute(
        sa.insert(tables.audit).values(
            actor=principal.subject,
            actor_role=_acting_role(principal, row),
            referral_id=referral_id,
            action="read_contact",
            purpose=purpose,
        )
    )
    await uow.commit()
    return Contact(
        name=vault.open(sealed.name_sealed) or "",
        phone=vault.open(sealed.phone_sealed),
        email=vault.open(sealed.email_sealed),
    )


async def _records_of_case(
    uow: UnitOfWork, table: sa.Table, referral_id: uuid.UUID, principal: Principal, columns: list[str]
) -> list[dict[str, Any]]:
    """Rows a case keeps beside it (audit, exceptions), for someone who may see the case."""
    await _case_for(uow, referral_id, principal, lock=False)
    query = sa.select(*(table.c[c] for c in columns)).where(table.c.referral_id == referral_id)
    rows = (await uow.session.execute(query.order_by(table.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def access_log(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> list[dict[str, Any]]:
    columns = ["at", "actor", "actor_role", "action", "purpose"]
    return await _records_of_case(uow, tables.audit, referral_id, principal, columns)


async def record_contacted(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> int:
    row = await _case_for(uow, referral_id, principal)
    check_transition(CaseStatus(row.status), CaseStatus.CONTACTED)
    at = now()
    minutes = minutes_between(row.accepted_at, at)
    await _set(uow, referral_id, status=CaseStatus.CONTACTED.value, contacted_at=at)
    await uow.emit(
        ReferralContacted(referral_id=referral_id, site_id=row.site_id, minutes_to_callback=minutes),
        site_id=row.site_id,
    )
    await uow.commit()
    return minutes


async def record_encounter(
    uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal, *, duration_minutes: int | None = None
) -> int:
    row = await _case_for(uow, referral_id, principal)
    check_transition(CaseStatus(row.status), CaseStatus.MET)
    at = now()
    encounter = row.encounters + 1
    await _set(
        uow,
        referral_id,
        status=CaseStatus.MET.value,
        encounters=encounter,
        first_met_at=row.first_met_at or at,
    )
    await uow.emit(
        ReferralMet(
            referral_id=referral_id,
            site_id=row.site_id,
            encounter=encounter,
            minutes_since_referral=minutes_between(row.accepted_at, at),
            duration_minutes=duration_minutes,
        ),
        site_id=row.site_id,
    )
    await uow.commit()
    return encounter


async def close_case(
    uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal, *, contact_made: bool, outcome: CaseOutcome
) -> None:
    """The minimal, structured closing record (001): no notes about the person."""
    row = await _case_for(uow, referral_id, principal)
    check_transition(CaseStatus(row.status), CaseStatus.CLOSED)
    if contact_made != (outcome is not CaseOutcome.NO_CONTACT):
        raise LifecycleError(
            "outcome 'no_contact' goes with contact_made false, and every other outcome with true"
        )
    if contact_made and row.contacted_at is None:
        raise LifecycleError(
            "record the call back first (POST .../contacted), so the time to call back is kept"
        )
    at = now()
    await _set(
        uow,
        referral_id,
        status=CaseStatus.CLOSED.value,
        ended_at=at,
        outcome=outcome.value,
        contact_made=contact_made,
    )
    await uow.emit(
        ReferralClosed(
            referral_id=referral_id,
            site_id=row.site_id,
            contact_made=contact_made,
            minutes_to_callback=minutes_between(row.accepted_at, row.contacted_at)
            if row.contacted_at
            else None,
            encounters=row.encounters,
            outcome=outcome,
        ),
        site_id=row.site_id,
    )
    await uow.commit()


async def record_exception(
    uow: UnitOfWork,
    referral_id: uuid.UUID,
    principal: Principal,
    reason: ConfidentialityException,
    *,
    worker_informed: bool,
) -> None:
    """A deliberate step outside confidentiality (002), by a coordinator or the supporter,
    while the case is open (an ended case records nothing more)."""
    row = await _case_for(uow, referral_id, principal, lock=False)
    if CaseStatus(row.status) in ENDED:
        raise LifecycleError(f"the case is already {row.status}; nothing more can be recorded")
    await uow.session.execute(
        sa.insert(tables.confidentiality_exception).values(
            referral_id=referral_id,
            reason=reason.value,
            recorded_by=principal.subject,
            worker_informed=worker_informed,
        )
    )
    await uow.commit()


async def exceptions_of(
    uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal
) -> list[dict[str, Any]]:
    columns = ["reason", "recorded_by", "worker_informed", "at"]
    return await _records_of_case(uow, tables.confidentiality_exception, referral_id, principal, columns)


async def _set(uow: UnitOfWork, referral_id: uuid.UUID, **values: Any) -> None:
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == referral_id)
        .values(updated_at=now(), **values)
    )


async def _cancel_messages(uow: UnitOfWork, referral_id: uuid.UUID) -> None:
    await uow.session.execute(
        sa.update(tables.worker_message)
        .where(
            tables.worker_message.c.referral_id == referral_id, tables.worker_message.c.status == "pending"
        )
        .values(status="cancelled", to_sealed=None, body_sealed=None)
    )


# --- what intake learns from the other services -----------------------------------------


async def on_match_proposed(
    event: MatchProposed | MatchOverridden, uow: UnitOfWork, _envelope: Envelope
) -> None:
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == event.referral_id)
        .where(tables.referral.c.status == CaseStatus.SUBMITTED.value)
        .values(status=CaseStatus.MATCHED.value, updated_at=now())
    )


async def on_match_overridden(event: MatchOverridden, uow: UnitOfWork, envelope: Envelope) -> None:
    """A coordinator reassigned the case: whoever held it before no longer may read the
    worker's contact; the chosen supporter is added when they acknowledge their page."""
    await on_match_proposed(event, uow, envelope)
    supporters = tables.referral.c.supporters
    # the chosen supporter's acknowledgement travels on another topic and may come first
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == event.referral_id)
        .values(
            supporters=sa.case(
                (supporters.any(event.supporter), sa.literal([event.supporter], supporters.type)),
                else_=sa.literal([], supporters.type),
            ),
            updated_at=now(),
        )
    )


async def on_page_acknowledged(event: PageAcknowledged, uow: UnitOfWork, _envelope: Envelope) -> None:
    # whoever took the page is assigned: only they (and the coordinators) may read the
    # worker's contact. A group case gathers several supporters.
    if event.recipient_role is RecipientRole.AUTHORITY_FALLBACK:
        return
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == event.referral_id)
        .where(sa.not_(tables.referral.c.supporters.any(event.recipient)))
        .values(
            supporters=sa.func.array_append(tables.referral.c.supporters, event.recipient), updated_at=now()
        )
    )


# --- housekeeping: offers that lapse, identifiers that go, messages that leave ---------------


async def expire_offers(uow: UnitOfWork, *, at: datetime | None = None, limit: int = 100) -> int:
    at = at or now()
    rows = (
        await uow.session.execute(
            sa.select(tables.referral)
            .where(
                tables.referral.c.status == CaseStatus.OFFERED.value, tables.referral.c.offer_expires_at <= at
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        await _end_offer(uow, row, OfferEnd.EXPIRED, at)
    await uow.commit()
    return len(rows)


async def purge_identifiers(uow: UnitOfWork, retention: timedelta, *, at: datetime | None = None) -> int:
    """Erase what could identify the worker of every case that ended longer ago than the
    retention period. The de-identified record (categories, times, outcome) stays."""
    cutoff = (at or now()) - retention
    ids = (
        await uow.session.scalars(
            sa.select(tables.referral.c.referral_id)
            .where(tables.referral.c.ended_at <= cutoff, tables.referral.c.purged_at.is_(None))
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return 0
    await uow.session.execute(sa.delete(tables.contact).where(tables.contact.c.referral_id.in_(ids)))
    await uow.session.execute(
        sa.delete(tables.worker_message).where(tables.worker_message.c.referral_id.in_(ids))
    )
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id.in_(ids))
        .values(
            worker_ref=None,
            excluded_supporters=[],
            supporters=[],
            unit=None,
            activated_by=None,
            idempotency_key=None,
            worker_token_digest=None,
            preferences={},
            purged_at=now(),
        )
    )
    await uow.commit()
    return len(ids)


async def deliver_one_message(uow: UnitOfWork, mailer: Mailer, vault: PersonalDataVault) -> int:
    """Send the oldest pending message to a worker. One per transaction, so the row stays
    locked while it is sent and a second replica never sends it too."""
    row = (
        await uow.session.execute(
            sa.select(tables.worker_message)
            .where(tables.worker_message.c.status == "pending")
            .order_by(tables.worker_message.c.message_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is None:
        return 0
    to, body = vault.open(row.to_sealed) or "", vault.open(row.body_sealed) or ""
    await mailer.send(Mail(to=to, subject=row.subject, body=body))
    # sent: neither the address nor the text is kept
    await uow.session.execute(
        sa.update(tables.worker_message)
        .where(tables.worker_message.c.message_id == row.message_id)
        .values(status="sent", to_sealed=None, body_sealed=None, attempts=row.attempts + 1, sent_at=now())
    )
    await uow.commit()
    return 1


async def housekeeping_once(uow: UnitOfWorkFactory, retention: timedelta) -> int:
    async with uow() as unit:
        done = await expire_offers(unit)
    async with uow() as unit:
        return done + await purge_identifiers(unit, retention)


async def deliver_messages_once(uow: UnitOfWorkFactory, mailer: Mailer, vault: PersonalDataVault) -> int:
    async with uow() as unit:
        return await deliver_one_message(unit, mailer, vault)
