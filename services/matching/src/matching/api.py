"""matching's HTTP API: the directory and roster, and proposals with their explanation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from contracts.types import Gender, LanguageCode, OverrideReason, SiteId, StaffRef, UnitCode
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from servicekit.api import unit_of_work
from servicekit.auth import Admin, Coordinator, Principal, Role, SiteCoordinator, ensure_site, requires
from servicekit.database import UnitOfWork
from servicekit.imports import ImportBatch, ImportReport, Rejected, validate_rows
from servicekit.text import PRINTABLE_LINE

from matching.directory import handlers as directory
from matching.directory.schemas import SiteRoster, Upserted
from matching.proposals import handlers as proposals
from matching.proposals.schemas import EligibleNow, Overridden, OverrideRow, Proposal
from matching.rules import GRADE_LADDER, UNCHECKED_WORKER, PoolScope, Preference, Setting

router = APIRouter()
Profession = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_-]{1,39}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteIn(Strict):
    region: Code | None = Field(default=None, description="Sites of a region share supporters")
    setting: Setting | None = None
    weights: dict[Preference, Annotated[float, Field(ge=0, le=10)]] = Field(
        default_factory=dict, description="Per-site weight of each preference; unset ones keep the default"
    )


class PersonIn(Strict):
    staff_ref: StaffRef
    site_id: SiteId
    profession: Profession
    grade: Code | None = Field(default=None, description=f"One of {', '.join(GRADE_LADDER)}")
    seniority: int | None = Field(
        default=None, ge=1, le=6, description="Authority-wide ladder (see matching.rules); else from grade"
    )
    years_experience: int = Field(default=0, ge=0, le=70)
    licence_level: int = Field(default=0, ge=0, le=4, description="0 unlicensed .. 4 independent practice")
    languages: list[LanguageCode] = Field(default_factory=list, max_length=10)
    reports_to: StaffRef | None = None
    unit: UnitCode | None = None
    gender: Gender | None = Field(default=None, description="Only to honour a worker's preference")
    display_name: Annotated[str, PRINTABLE_LINE, Field(min_length=1, max_length=80)] | None = Field(
        default=None,
        description="The work name coordinators see for a supporter (e.g. 'Amira K.'); never shown "
        "for a worker",
    )

    @model_validator(mode="after")
    def _on_the_ladder(self) -> PersonIn:
        if self.seniority is None:
            if self.grade is None:
                raise ValueError("give seniority (1-6) or a grade")
            if self.grade not in GRADE_LADDER:
                raise ValueError(
                    f"unknown grade {self.grade!r}: give seniority (1-6), or one of {', '.join(GRADE_LADDER)}"
                )
            self.seniority = GRADE_LADDER[self.grade]
        if self.reports_to == self.staff_ref:
            raise ValueError("a person cannot report to themself")
        return self


class EvaluatorIn(Strict):
    evaluator_ref: StaffRef
    evaluatee_ref: StaffRef
    kind: Annotated[str, StringConstraints(pattern=r"^(manager|preceptor|program_director|declared)$")]


class SupporterIn(Strict):
    paused: bool = False
    mental_health_professional: bool = False
    dual_relationships: list[StaffRef] = Field(default_factory=list, max_length=50)
    serves: PoolScope = Field(default=PoolScope.SITE, description="How far they will go to support")


class SupporterRow(SupporterIn):
    staff_ref: StaffRef


def _config(request: Request) -> proposals.MatchingConfig:
    return request.app.state.matching  # type: ignore[no-any-return]


# --- directory and roster -------------------------------------------------------------


@router.put("/directory/sites/{site_id}", status_code=204, tags=["directory"])
async def put_site(site_id: SiteId, body: SiteIn, request: Request, _a: Admin) -> None:
    values = body.model_dump(mode="json")
    async with unit_of_work(request)() as uow:
        await directory.upsert_site(uow, site_id, values)


def _once_each(keys: list[str], what: str) -> None:
    """One batch names each row once: which of two rows would win is nobody's guess."""
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in seen:
            raise HTTPException(
                422, f"{what} {key} is given twice in this batch (items {seen[key]} and {i}); give it once"
            )
        seen[key] = i


async def _declared_sites(uow: UnitOfWork, people: list[PersonIn]) -> None:
    """A person at a site nobody declared would vanish from the real roster (a typo makes a
    phantom site): refused, naming the sites."""
    unknown = await directory.undeclared_sites(uow, {p.site_id for p in people})
    if unknown:
        raise HTTPException(
            422,
            f"not sites of this authority: {', '.join(unknown)}; "
            "declare them first (PUT /directory/sites/{id})",
        )


@router.put("/directory/people", tags=["directory"])
async def put_people(body: list[PersonIn], request: Request, _a: Admin) -> Upserted:
    _once_each([p.staff_ref for p in body], "staff_ref")
    async with unit_of_work(request)() as uow:
        await _declared_sites(uow, body)
        return Upserted(
            upserted=await directory.upsert_people(uow, [p.model_dump(mode="json") for p in body])
        )


@router.put("/directory/evaluators", tags=["directory"])
async def put_evaluators(body: list[EvaluatorIn], request: Request, _a: Admin) -> Upserted:
    _once_each([f"{e.evaluator_ref} evaluates {e.evaluatee_ref}" for e in body], "the relation")
    async with unit_of_work(request)() as uow:
        return Upserted(upserted=await directory.upsert_evaluators(uow, [e.model_dump() for e in body]))


@router.put("/supporters/{staff_ref}", status_code=204, tags=["roster"])
async def put_supporter(staff_ref: StaffRef, body: SupporterIn, request: Request, _a: Admin) -> None:
    async with unit_of_work(request)() as uow:
        await directory.upsert_supporters(uow, [{"staff_ref": staff_ref, **body.model_dump(mode="json")}])


@router.get("/sites/{site_id}/supporters", tags=["roster"])
async def get_site_supporters(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
    days: Annotated[int, Query(ge=1, le=365, description="Deployments counted over this many days")] = 30,
) -> SiteRoster:
    """The site's supporters for its coordinators: paused, eligible, deployments lately."""
    async with unit_of_work(request)() as uow:
        supporters = await directory.site_supporters(uow, site_id, window_days=days, now=datetime.now(UTC))
    return SiteRoster(site_id=site_id, days=days, supporters=supporters)


# --- import: rows of a CSV file, sent in batches by `pss directory import` -------------


Upsert = Callable[[UnitOfWork, list[dict[str, Any]]], Awaitable[int]]


IMPORTS: dict[str, tuple[type[BaseModel], Callable[[BaseModel], str], tuple[str, ...], Upsert]] = {
    # kind: row model, the key a later row replaces, list columns, how to store
    "people": (PersonIn, lambda m: m.staff_ref, ("languages",), directory.upsert_people),  # type: ignore[attr-defined]
    "evaluators": (
        EvaluatorIn,
        lambda m: f"{m.evaluator_ref}>{m.evaluatee_ref}",  # type: ignore[attr-defined]
        (),
        directory.upsert_evaluators,
    ),
    "supporters": (SupporterRow, lambda m: m.staff_ref, ("dual_relationships",), directory.upsert_supporters),  # type: ignore[attr-defined]
}


@router.post("/directory/import/{kind}", tags=["directory"])
async def import_rows(kind: str, body: ImportBatch, request: Request, _a: Admin) -> ImportReport:
    """Validates every row on its own: good rows are stored, bad rows are reported with
    their line and what is wrong, so a 50,000-line directory is not refused for one typo."""
    if kind not in IMPORTS:
        raise HTTPException(404, f"nothing to import as {kind!r}: use one of {', '.join(IMPORTS)}")
    model, key_of, lists, upsert = IMPORTS[kind]
    accepted, rejected = validate_rows(body.rows, model, key_of, lists)
    async with unit_of_work(request)() as uow:
        if kind == "people":
            unknown = set(await directory.undeclared_sites(uow, {m.site_id for _, m in accepted}))  # type: ignore[attr-defined]
            rejected += [
                Rejected(line=line, problem=f"site_id: {m.site_id} is not a site of this authority")  # type: ignore[attr-defined]
                for line, m in accepted
                if m.site_id in unknown  # type: ignore[attr-defined]
            ]
            accepted = [(line, m) for line, m in accepted if m.site_id not in unknown]  # type: ignore[attr-defined]
        imported = await upsert(uow, [m.model_dump(mode="json") for _, m in accepted])
    return ImportReport(imported=imported, rejected=sorted(rejected, key=lambda r: r.line))


# --- proposals ------------------------------------------------------------------------


async def _proposal_or_404(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> Any:
    row = await proposals.proposal(uow, referral_id)
    if row is None:
        raise HTTPException(404, "no proposal for this referral yet")
    ensure_site(principal, row.site_id)
    return row


@router.get("/proposals/{referral_id}", tags=["proposals"])
async def get_proposal(referral_id: uuid.UUID, request: Request, principal: Coordinator) -> Proposal:
    """Why each candidate ranks where it does (the points of each preference), how many
    were excluded by which rule, and how far the pool had to widen. Never who was excluded,
    nor any evaluator relationship."""
    async with unit_of_work(request)() as uow:
        row = await _proposal_or_404(uow, referral_id, principal)
        overrides = await proposals.overrides_of(uow, referral_id)
    return Proposal(
        referral_id=row.referral_id,
        site_id=row.site_id,
        matched=row.matched,
        team_size=row.team_size,
        pool=row.pool,
        eligible_by_pool=row.eligible_by_pool,
        candidates=row.candidates,
        excluded_by_rule=row.excluded,
        # said plainly, so the coordinator knows the protections could not all be checked
        worker_checks=UNCHECKED_WORKER if row.worker_unchecked else "seniority and reporting line checked",
        tie_break="equal scores: least recently deployed first, then the staff reference",
        decided_at=row.decided_at,
        overrides=overrides,
    )


@router.get("/proposals/{referral_id}/eligible-now", tags=["proposals"])
async def eligible_now(
    referral_id: uuid.UUID,
    request: Request,
    principal: Annotated[
        Principal, Depends(requires(Role.SERVICE, Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))
    ],
) -> EligibleNow:
    """The referral's eligible supporters as of now, best first: oncall asks before it
    pages the next person, since someone may have lapsed, paused or reached the cap."""
    async with unit_of_work(request)() as uow:
        if not principal.has(Role.SERVICE):
            await _proposal_or_404(uow, referral_id, principal)
        try:
            return await proposals.recheck(uow, _config(request), referral_id)
        except proposals.ProposalNotFound:
            raise HTTPException(404, "no proposal for this referral yet") from None


class OverrideIn(Strict):
    supporter: StaffRef
    reason: OverrideReason = Field(description="Why: a code, never free text (it is audited)")


@router.post("/proposals/{referral_id}/override", status_code=201, tags=["proposals"])
async def override_proposal(
    referral_id: uuid.UUID, body: OverrideIn, request: Request, principal: Coordinator
) -> Overridden:
    """The coordinator assigns this supporter instead; oncall pages them. Audited."""
    async with unit_of_work(request)() as uow:
        try:
            return await proposals.override(
                uow, _config(request), referral_id, body.supporter, body.reason, principal
            )
        except proposals.ProposalNotFound:
            raise HTTPException(404, "no proposal for this referral yet") from None
        except proposals.OverrideRefused as exc:
            raise HTTPException(409, f"override refused: {exc}") from None
        except proposals.CaseEnded as exc:
            raise HTTPException(409, str(exc)) from None


@router.get("/proposals/{referral_id}/overrides", tags=["proposals"])
async def get_overrides(
    referral_id: uuid.UUID, request: Request, principal: Coordinator
) -> list[OverrideRow]:
    """The audit of overrides: who chose whom instead of the proposal, when and why."""
    async with unit_of_work(request)() as uow:
        await _proposal_or_404(uow, referral_id, principal)
        return await proposals.overrides_of(uow, referral_id)
