"""Proposals: a referral decided (explained ranking, widening pools), re-checked before the
next page, overridden by a coordinator (audited), refused on an ended case."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    Candidate as ProposedCandidate,
)
from contracts.events import (
    MatchOverridden,
    MatchProposed,
    MatchUnmatched,
    ReferralClosed,
    ReferralDeclined,
    ReferralSubmitted,
    ReferralWithdrawn,
)
from contracts.types import MatchRule, OverrideReason, Urgency
from servicekit.auth import Principal, ensure_site
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement, named_values
from sqlalchemy.dialects.postgresql import insert

from matching import repository
from matching import tables as t
from matching.proposals.schemas import EligibleNow, Overridden, OverrideRow
from matching.ranking import Decision, Ranked, decide_widening, profession_group
from matching.repository import Reach
from matching.rules import (
    RELATIONSHIP_RULES,
    Candidate,
    Case,
    Policy,
    PoolScope,
    first_broken_rule,
    first_pool,
    team_size,
)


class MatchingConfig:
    def __init__(
        self, *, deployment_cap: int, window_days: int, max_candidates: int, broadcast_limit: int = 50
    ) -> None:
        self.policy = Policy(deployment_cap=deployment_cap)
        self.window_days = window_days
        self.max_candidates = max_candidates
        self.broadcast_limit = broadcast_limit


class ProposalNotFound(LookupError):
    pass


class CaseEnded(RuntimeError):
    """The case was closed, withdrawn or declined: nothing more happens to it."""


async def on_referral_ended(
    event: ReferralClosed | ReferralWithdrawn | ReferralDeclined, uow: UnitOfWork, envelope: Envelope
) -> None:
    ended = {ReferralClosed: "closed", ReferralWithdrawn: "withdrawn", ReferralDeclined: "declined"}[
        type(event)
    ]
    await uow.session.execute(
        insert(t.ended_referral)
        .values(referral_id=event.referral_id, ended=ended, ended_at=envelope.occurred_at)
        .on_conflict_do_nothing()
    )


class OverrideRefused(ValueError):
    """The chosen supporter cannot take this case; the message is safe to show."""


# What a proposal keeps of the referral to re-check it later: ids and categories only.
_REQUEST_FIELDS = (
    "worker",
    "crisis",
    "excluded_supporters",
    "involved_staff",
    "prefers_same_profession",
    "languages",
    "preferred_gender",
    "prefers_other_site",
    "group_size",
    "unit",
    "urgency",
    "tier",
)


async def case_of(uow: UnitOfWork, site_id: str, request: dict[str, Any]) -> Case:
    facts = await repository.case_facts(uow, site_id, request.get("worker"))
    where = facts.where
    return Case(
        site_id=where.site_id,
        worker=facts.worker,
        # a group case names nobody by design; any other case without a known worker is unchecked
        worker_unchecked=facts.worker is None and not request.get("group_size"),
        evaluators=facts.evaluators,
        crisis=bool(request.get("crisis")),
        excluded_by_worker=frozenset(request.get("excluded_supporters") or ()),
        involved=frozenset(request.get("involved_staff") or ()),
        involved_unit=request.get("unit"),
        prefers_same_profession=request.get("prefers_same_profession"),
        languages=frozenset(request.get("languages") or ()),
        preferred_gender=request.get("preferred_gender"),
        prefers_other_site=bool(request.get("prefers_other_site")),
        region=where.region,
        setting=where.setting,
        weights=where.weights,
    )


def _explained(ranked: list[Ranked]) -> list[dict[str, Any]]:
    return [
        {
            "supporter": r.candidate.person.staff_ref,
            "rank": i,
            "score": r.score,
            "on_duty": r.candidate.on_duty.value if r.candidate.on_duty else None,
            "site_id": r.candidate.person.site_id,
            "reasons": [{"preference": why.preference.value, "points": why.points} for why in r.reasons],
        }
        for i, r in enumerate(ranked, start=1)
    ]


async def decide_for(
    uow: UnitOfWork, config: MatchingConfig, site_id: str, request: dict[str, Any], now: datetime
) -> tuple[Decision, int, Case]:
    """The decision for a referral as of ``now``: the facts from the directory and the
    projections, then the pure rules. Returns it with the team size it looked for and the
    case it decided."""
    case = await case_of(uow, site_id, request)
    where = repository.SiteFacts(site_id, case.region)
    team = team_size(request.get("group_size"), config.policy)
    # a group case proposes every eligible supporter (up to a bound), best first: oncall
    # messages them all at once and the first to accept form the team (CKHA)
    limit = config.max_candidates if team == 1 else max(config.broadcast_limit, team)
    read = functools.partial(repository.candidates, uow, where, now=now, window_days=config.window_days)
    # the pool is read a band at a time, narrowest first, and the next band only when the
    # decision over those read so far fell short: most cases are decided at the site, and a
    # widening case mostly in its region (a decision that stops at a width has read all of it)
    pool: list[Candidate] = []
    decision = Decision(ranked=[])
    for bands in _READS[first_pool(case)]:
        pool += await read(reach=bands)
        decision = decide_widening(case, pool, config.policy, limit=limit, needed=team)
        if decision.eligible_total >= team:
            break
    return decision, team, case


# the bands read together, in turn, for each pool a case starts from
_READS = {
    PoolScope.SITE: ((Reach.SITE,), (Reach.REGION,), (Reach.AUTHORITY,)),
    # a worker who asked for distance starts at the region, where the site's own count too
    PoolScope.REGION: ((Reach.SITE, Reach.REGION), (Reach.AUTHORITY,)),
}


# a submission and its case's ending come on two topics (contracts.topics.SUBMISSIONS), so
# an ending may be read first: a replay, a lagging partition, a withdrawal within moments
_ENDED = DriverStatement(
    sa.select(t.ended_referral.c.ended).where(t.ended_referral.c.referral_id == sa.bindparam("referral_id"))
)


def on_referral_submitted(config: MatchingConfig):  # type: ignore[no-untyped-def]
    async def handle(event: ReferralSubmitted, uow: UnitOfWork, _envelope: Envelope) -> None:
        if await _ENDED.fetchval(uow, {"referral_id": event.referral_id}) is not None:
            return  # ended before it was decided: nobody is proposed, and nobody paged
        request = event.model_dump(mode="json", include=set(_REQUEST_FIELDS))
        now = datetime.now(UTC)
        decision, team, case = await decide_for(uow, config, event.site_id, request, now)
        await _record(
            uow, event.site_id, event.referral_id, request, team, decision, now, case.worker_unchecked
        )
        # only this first decision carries it, so that metrics counts each referral once
        group = profession_group(case.worker.profession if case.worker else None)
        if decision.matched:
            await uow.emit(
                MatchProposed(
                    referral_id=event.referral_id,
                    site_id=event.site_id,
                    urgency=event.urgency,
                    crisis=event.crisis,
                    tier=event.tier,
                    candidates=[
                        ProposedCandidate(
                            supporter=r.candidate.person.staff_ref,
                            rank=i,
                            score=r.score,
                            on_duty=r.candidate.on_duty,
                        )
                        for i, r in enumerate(decision.ranked, start=1)
                    ],
                    excluded_by_rule=decision.excluded,
                    team_size=team,
                    worker_profession_group=group,
                    worker_unchecked=case.worker_unchecked,
                )
            )
        else:
            # nobody at the widest pool: oncall pages the coordinator, who brings in tier 3
            await uow.emit(
                MatchUnmatched(
                    referral_id=event.referral_id,
                    site_id=event.site_id,
                    urgency=event.urgency,
                    crisis=event.crisis,
                    excluded_by_rule=decision.excluded,
                    worker_profession_group=group,
                    worker_unchecked=case.worker_unchecked,
                )
            )

    return handle


async def _record(
    uow: UnitOfWork,
    site_id: str,
    referral_id: uuid.UUID,
    request: dict[str, Any],
    team: int,
    decision: Decision,
    now: datetime,
    worker_unchecked: bool,
) -> None:
    await _RECORD.execute(
        uow,
        {
            "referral_id": referral_id,
            "site_id": site_id,
            "matched": decision.matched,
            "candidates": _explained(decision.ranked),
            "excluded": {rule.value: n for rule, n in decision.excluded.items()},
            "decided_at": now,
            "pool": decision.pool.value,
            "eligible_by_pool": {scope.value: n for scope, n in decision.eligible_by_pool.items()},
            "request": request,
            "team_size": team,
            "worker_unchecked": worker_unchecked,
        },
    )


# built once, the values as parameters, on the driver: every referral's path
_RECORD = DriverStatement(
    insert(t.proposal)
    .values(
        named_values(
            t.proposal,
            (
                "referral_id",
                "site_id",
                "matched",
                "candidates",
                "excluded",
                "decided_at",
                "pool",
                "eligible_by_pool",
                "request",
                "team_size",
                "worker_unchecked",
            ),
        )
    )
    .on_conflict_do_nothing()
)


async def recheck(uow: UnitOfWork, config: MatchingConfig, referral_id: uuid.UUID) -> EligibleNow:
    """A fresh eligible list for a referral, for oncall before it pages the next person:
    someone proposed may have lapsed, paused or reached the cap since. The proposal itself
    is left as it was decided; this is a reading of now."""
    row = await proposal(uow, referral_id)
    if row is None:
        raise ProposalNotFound(referral_id)
    now = datetime.now(UTC)
    decision, _team, _case = await decide_for(uow, config, row.site_id, row.request, now)
    return EligibleNow(
        referral_id=referral_id,
        site_id=row.site_id,
        checked_at=now,
        eligible=[r.candidate.person.staff_ref for r in decision.ranked],
        pool=decision.pool.value,
    )


async def override(
    uow: UnitOfWork,
    config: MatchingConfig,
    referral_id: uuid.UUID,
    supporter: str,
    reason: OverrideReason,
    principal: Principal,
) -> Overridden:
    """A coordinator assigns a supporter of their choice. The hard rules still hold, so
    the override is refused when the supporter breaks one; a refusal for a relationship
    rule says only "conflict of interest", never which relationship. Audited."""
    row = (
        await uow.session.execute(
            sa.select(t.proposal).where(t.proposal.c.referral_id == referral_id).with_for_update()
        )
    ).first()
    if row is None:
        raise ProposalNotFound(referral_id)
    ensure_site(principal, row.site_id)
    ended = await uow.session.scalar(
        sa.select(t.ended_referral.c.ended).where(t.ended_referral.c.referral_id == referral_id)
    )
    if ended is not None:
        raise CaseEnded(f"this case has ended ({ended}): nobody can be assigned to it")
    if not row.request:
        # decided before proposals kept the referral's facts: the hard rules cannot be checked
        raise OverrideRefused("this proposal predates overrides; ask the authority to re-submit the case")
    case = await case_of(uow, row.site_id, row.request)
    now = datetime.now(UTC)
    found = await repository.candidates(
        uow,
        repository.SiteFacts(row.site_id, case.region),
        now=now,
        window_days=config.window_days,
        only=[supporter],
    )
    if not found:
        # the same answer for a ref nobody has and for another site's supporter who does
        # not serve this one: a refusal tells nothing about another site
        raise OverrideRefused("this person is not on the roster of supporters who serve this site")
    rule = first_broken_rule(case, found[0], config.policy)
    if rule is not None:
        raise OverrideRefused(_refusal(rule))
    replaces = [c["supporter"] for c in row.candidates]
    await uow.session.execute(
        sa.insert(t.override).values(
            referral_id=referral_id,
            site_id=row.site_id,
            supporter=supporter,
            replaces=replaces,
            reason=reason.value,
            decided_by=principal.subject,
            decided_by_staff_ref=principal.staff_ref,
            decided_at=now,
        )
    )
    await uow.emit(
        MatchOverridden(
            referral_id=referral_id,
            site_id=row.site_id,
            supporter=supporter,
            reason=reason,
            urgency=Urgency(row.request["urgency"]),
            crisis=bool(row.request.get("crisis")),
        )
    )
    return Overridden(referral_id=referral_id, supporter=supporter, reason=reason.value, decided_at=now)


def _refusal(rule: MatchRule) -> str:
    if rule in RELATIONSHIP_RULES:
        return "this supporter cannot take this case: a conflict of interest rule applies"
    return {
        MatchRule.ROLE: "this case needs a mental-health professional (tier 3)",
        MatchRule.SENIORITY: "this supporter is junior to the worker; a supporter is never junior",
        MatchRule.CERTIFICATION: "this supporter's required certifications are not current",
        MatchRule.PAUSED: "this supporter has paused (stepped away from supporting for now)",
        MatchRule.DEPLOYMENT_CAP: "this supporter has reached the deployment limit for the period",
    }.get(rule, "this supporter cannot take this case")


async def overrides_of(uow: UnitOfWork, referral_id: uuid.UUID) -> list[OverrideRow]:
    rows = (
        await uow.session.execute(
            sa.select(t.override)
            .where(t.override.c.referral_id == referral_id)
            .order_by(t.override.c.override_id)
        )
    ).all()
    return [OverrideRow(**r._mapping) for r in rows]


async def proposal(uow: UnitOfWork, referral_id: Any) -> sa.Row[Any] | None:
    return (
        await uow.session.execute(sa.select(t.proposal).where(t.proposal.c.referral_id == referral_id))
    ).first()
