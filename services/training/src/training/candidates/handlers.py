"""Recruitment, step by step (training.recruitment has the rules): interest, references,
interviews, agreement, training, activation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from servicekit.database import UnitOfWork

from training import tables as t
from training.candidates.schemas import CandidacyView, Step
from training.certification.handlers import refresh_eligibility, standing_of
from training.common import Conflict, UnknownRecord
from training.recruitment import CLOSED, Candidacy, ReferenceKind, Stage, check_transition, references_missing
from training.sites import require_site

# --- recruitment (training.recruitment has the rules) ----------------------------------


async def home_site_of(uow: UnitOfWork, staff_ref: str) -> str | None:
    return await uow.session.scalar(
        sa.select(t.supporter.c.home_site).where(t.supporter.c.staff_ref == staff_ref)
    )


async def express_interest(
    uow: UnitOfWork, staff_ref: str, home_site: str, by: str, acts_for: Callable[[str], bool]
) -> None:
    """A colleague's expression of interest opens a candidacy. They are registered with
    training (inactive, so never eligible) so that their courses can be recorded as they go.
    Someone registered at a site the caller does not act for is not moved, and the refusal
    says nothing of them (their stage, or whether they are active)."""
    await require_site(uow, home_site)
    now = datetime.now(UTC)
    existing = (
        await uow.session.execute(
            sa.select(t.supporter.c.active, t.supporter.c.home_site)
            .where(t.supporter.c.staff_ref == staff_ref)
            .with_for_update()
        )
    ).first()
    if existing is not None and not acts_for(existing.home_site):
        raise Conflict(
            f"{staff_ref} cannot be enrolled at this site; the authority moves a person between sites"
        )
    if existing is not None and existing.active:
        raise Conflict(f"{staff_ref} is already an active supporter")
    open_stage = await uow.session.scalar(
        sa.select(t.candidacy.c.stage).where(
            t.candidacy.c.staff_ref == staff_ref, t.candidacy.c.stage.not_in([s.value for s in CLOSED])
        )
    )
    if open_stage is not None:
        raise Conflict(f"{staff_ref} already has a candidacy, at stage {open_stage}")
    if existing is None:
        await uow.session.execute(
            sa.insert(t.supporter).values(staff_ref=staff_ref, home_site=home_site, active=False, tier=2)
        )
    else:  # someone who left the program, or withdrew before, coming back
        await uow.session.execute(
            sa.update(t.supporter).where(t.supporter.c.staff_ref == staff_ref).values(home_site=home_site)
        )
    candidacy_id = await uow.session.scalar(
        sa.insert(t.candidacy)
        .values(staff_ref=staff_ref, stage=Stage.INTERESTED.value, started_at=now, updated_at=now)
        .returning(t.candidacy.c.candidacy_id)
    )
    await uow.session.execute(
        sa.insert(t.candidacy_step).values(
            candidacy_id=candidacy_id, stage=Stage.INTERESTED.value, at=now, by_subject=by
        )
    )
    await refresh_eligibility(uow, staff_ref, now=now)


async def _latest_candidacy(uow: UnitOfWork, staff_ref: str) -> Any:
    row = (
        await uow.session.execute(
            sa.select(t.candidacy)
            .where(t.candidacy.c.staff_ref == staff_ref)
            .order_by(t.candidacy.c.candidacy_id.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise UnknownRecord(f"{staff_ref} has no candidacy; it starts with an expression of interest")
    return row


async def _references(uow: UnitOfWork, candidacy_id: int) -> dict[ReferenceKind, int]:
    rows = await uow.session.execute(
        sa.select(t.reference.c.kind, sa.func.count())
        .where(t.reference.c.candidacy_id == candidacy_id)
        .group_by(t.reference.c.kind)
    )
    return {ReferenceKind(kind): n for kind, n in rows.all()}


async def advance_candidacy(uow: UnitOfWork, staff_ref: str, to: Stage, by: str) -> None:
    """One step of the pipeline, refused with the reason when it cannot be taken now.
    Activation makes the supporter active (eligible while certified); withdrawing an active
    supporter makes them inactive."""
    now = datetime.now(UTC)
    candidacy = await _latest_candidacy(uow, staff_ref)
    at = Stage(candidacy.stage)
    check_transition(
        Candidacy(
            stage=at,
            references=await _references(uow, candidacy.candidacy_id),
            missing_courses=(await standing_of(uow, staff_ref, now)).missing,
        ),
        to,
    )
    await uow.session.execute(
        sa.update(t.candidacy)
        .where(t.candidacy.c.candidacy_id == candidacy.candidacy_id)
        .values(stage=to.value, updated_at=now)
    )
    await uow.session.execute(
        sa.insert(t.candidacy_step).values(
            candidacy_id=candidacy.candidacy_id, stage=to.value, at=now, by_subject=by
        )
    )
    if to is Stage.ACTIVE or at is Stage.ACTIVE:
        await uow.session.execute(
            sa.update(t.supporter)
            .where(t.supporter.c.staff_ref == staff_ref)
            .values(active=to is Stage.ACTIVE)
        )
        await refresh_eligibility(uow, staff_ref, now=now)


async def add_reference(uow: UnitOfWork, staff_ref: str, referee: str, kind: ReferenceKind) -> None:
    """That a reference came in, and from whom; each referee counts once."""
    if referee == staff_ref:
        raise ValueError("a candidate cannot be their own referee")
    candidacy = await _latest_candidacy(uow, staff_ref)
    if Stage(candidacy.stage) is not Stage.APPLIED:
        raise Conflict(
            f"references are collected with the application; this candidacy is at stage {candidacy.stage}"
        )
    given = await uow.session.scalar(
        sa.select(t.reference.c.kind).where(
            t.reference.c.candidacy_id == candidacy.candidacy_id, t.reference.c.referee == referee
        )
    )
    if given is not None and given != kind.value:
        raise Conflict(f"{referee} already gave a {given} reference for this candidacy")
    if given is None:
        await uow.session.execute(
            sa.insert(t.reference).values(
                candidacy_id=candidacy.candidacy_id,
                referee=referee,
                kind=kind.value,
                received_at=datetime.now(UTC),
            )
        )


async def candidacy_view(uow: UnitOfWork, staff_ref: str) -> CandidacyView:
    candidacy = await _latest_candidacy(uow, staff_ref)
    references = await _references(uow, candidacy.candidacy_id)
    steps = await uow.session.execute(
        sa.select(t.candidacy_step.c.stage, t.candidacy_step.c.at)
        .where(t.candidacy_step.c.candidacy_id == candidacy.candidacy_id)
        .order_by(t.candidacy_step.c.at)
    )
    missing = (await standing_of(uow, staff_ref, datetime.now(UTC))).missing
    return CandidacyView(
        staff_ref=staff_ref,
        stage=candidacy.stage,
        started_at=candidacy.started_at,
        references={k.value: references.get(k, 0) for k in ReferenceKind},
        references_missing={k.value: n for k, n in references_missing(references).items()},
        courses_missing=list(missing),
        steps=[Step(stage=s, at=at) for s, at in steps.all()],
    )
