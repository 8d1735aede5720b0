"""matching's use cases, as plain functions over a unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    Candidate as ProposedCandidate,
)
from contracts.events import (
    DutyChanged,
    MatchProposed,
    MatchUnmatched,
    PageAcknowledged,
    ReferralSubmitted,
    SupporterEligibilityChanged,
)
from contracts.types import RecipientRole
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from matching import repository
from matching import tables as t
from matching.rules import Case, Policy, decide, team_size


class MatchingConfig:
    def __init__(self, *, deployment_cap: int, window_days: int, max_candidates: int) -> None:
        self.policy = Policy(deployment_cap=deployment_cap)
        self.window_days = window_days
        self.max_candidates = max_candidates


def on_referral_submitted(config: MatchingConfig):  # type: ignore[no-untyped-def]
    async def handle(event: ReferralSubmitted, uow: UnitOfWork, _envelope: Envelope) -> None:
        session = uow.session
        worker = await repository.person(session, event.worker) if event.worker else None
        case = Case(
            site_id=event.site_id,
            worker=worker,
            evaluators=await repository.evaluators(session, event.worker) if event.worker else frozenset(),
            crisis=event.crisis,
            excluded_by_worker=frozenset(event.excluded_supporters),
            involved=frozenset(event.involved_staff),
            prefers_same_profession=event.prefers_same_profession,
            languages=frozenset(event.languages),
            preferred_gender=event.preferred_gender.value if event.preferred_gender else None,
            prefers_other_site=event.prefers_other_site,
        )
        team = team_size(event.group_size, config.policy)
        now = datetime.now(UTC)
        pool = await repository.candidates(session, event.site_id, now=now, window_days=config.window_days)
        # a group case offers spares, so oncall can staff the team when some do not answer
        decision = decide(case, pool, config.policy, limit=max(config.max_candidates, 2 * team))
        excluded = {rule.value: n for rule, n in decision.excluded.items()}
        proposed = [
            ProposedCandidate(
                supporter=r.candidate.person.staff_ref, rank=i, score=r.score, on_duty=r.candidate.on_duty
            )
            for i, r in enumerate(decision.ranked, start=1)
        ]
        await session.execute(
            insert(t.proposal)
            .values(
                referral_id=event.referral_id,
                site_id=event.site_id,
                matched=decision.matched,
                candidates=[c.model_dump(mode="json") for c in proposed],
                excluded=excluded,
                decided_at=now,
            )
            .on_conflict_do_nothing()
        )
        if decision.matched:
            await uow.emit(
                MatchProposed(
                    referral_id=event.referral_id,
                    site_id=event.site_id,
                    urgency=event.urgency,
                    crisis=event.crisis,
                    tier=event.tier,
                    candidates=proposed,
                    excluded_by_rule=decision.excluded,
                    team_size=team,
                ),
                site_id=event.site_id,
            )
        else:
            await uow.emit(
                MatchUnmatched(
                    referral_id=event.referral_id,
                    site_id=event.site_id,
                    urgency=event.urgency,
                    crisis=event.crisis,
                    excluded_by_rule=decision.excluded,
                ),
                site_id=event.site_id,
            )

    return handle


async def on_eligibility_changed(event: SupporterEligibilityChanged, uow: UnitOfWork, _e: Envelope) -> None:
    stmt = insert(t.eligibility).values(
        staff_ref=event.supporter, eligible=event.eligible, version=event.version
    )
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["staff_ref"],
            set_={"eligible": stmt.excluded.eligible, "version": stmt.excluded.version},
            where=t.eligibility.c.version < stmt.excluded.version,  # an older fact never wins
        )
    )


async def on_duty_changed(event: DutyChanged, uow: UnitOfWork, _e: Envelope) -> None:
    stmt = insert(t.duty).values(
        site_id=event.site_id, layer=event.layer.value, staff_ref=event.supporter, starts_at=event.starts_at
    )
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["site_id", "layer"],
            set_={"staff_ref": stmt.excluded.staff_ref, "starts_at": stmt.excluded.starts_at},
            where=t.duty.c.starts_at <= stmt.excluded.starts_at,
        )
    )


async def on_page_acknowledged(event: PageAcknowledged, uow: UnitOfWork, envelope: Envelope) -> None:
    """A supporter who takes a page is deployed: it counts towards their cap."""
    if event.recipient_role is not RecipientRole.SUPPORTER:
        return
    await uow.session.execute(
        insert(t.deployment)
        .values(referral_id=event.referral_id, staff_ref=event.recipient, deployed_at=envelope.occurred_at)
        .on_conflict_do_nothing()
    )


# --- directory and roster, kept current through the API -----------------------------


async def upsert_people(uow: UnitOfWork, people: list[dict[str, Any]]) -> int:
    if people:
        stmt = insert(t.person).values(people)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["staff_ref"],
                set_={
                    c: getattr(stmt.excluded, c)
                    for c in (
                        "site_id",
                        "profession",
                        "seniority",
                        "years_experience",
                        "languages",
                        "reports_to",
                        "gender",
                    )
                },
            )
        )
    await uow.commit()
    return len(people)


async def upsert_evaluators(uow: UnitOfWork, relations: list[dict[str, Any]]) -> int:
    if relations:
        stmt = insert(t.evaluator).values(relations)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["evaluator_ref", "evaluatee_ref"], set_={"kind": stmt.excluded.kind}
            )
        )
    await uow.commit()
    return len(relations)


async def upsert_supporter(uow: UnitOfWork, staff_ref: str, values: dict[str, Any]) -> None:
    stmt = insert(t.supporter).values(staff_ref=staff_ref, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["staff_ref"], set_=values))
    await uow.commit()


async def proposal(uow: UnitOfWork, referral_id: Any) -> sa.Row[Any] | None:
    return (
        await uow.session.execute(sa.select(t.proposal).where(t.proposal.c.referral_id == referral_id))
    ).first()
