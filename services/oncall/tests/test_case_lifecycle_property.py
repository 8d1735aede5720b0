"""The case lifecycle as a property, on a real PostgreSQL server: whatever order proposals,
overrides, answers, timers firing, endings (closed, withdrawn, an offer declined) and
redelivered events arrive in, once a case has ended no page is open, no timer is pending
and no message waits to be sent; and nothing a later event does opens one again.

Events go through the consumer's own path (inbox included), as Kafka would deliver them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from contracts.events import (
    Candidate,
    Event,
    MatchOverridden,
    MatchProposed,
    MatchUnmatched,
    ReferralClosed,
    ReferralDeclined,
    ReferralWithdrawn,
)
from contracts.types import CaseOutcome, ConnectionPath, OfferEnd, OverrideReason, Urgency, WithdrawalStage
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from oncall import tables as t
from oncall.consumers import make_subscriptions
from oncall.escalation import ENDED, EpisodeStatus
from oncall.paging import answers, timers
from oncall.paging.policy import PageClosed, PageNotFound, PagingPolicy
from servicekit.auth import Principal, Role
from servicekit.consumer import EventConsumer
from servicekit.database import Database, UnitOfWorkFactory
from servicekit.tables import PLUMBING

pytestmark = pytest.mark.integration

SITE = "t-lifecycle"
SUPPORTERS = ("st-lifea", "st-lifeb", "st-lifec")
COORDINATOR = "st-lifecoord"
POLICY = PagingPolicy(
    ack_timeout=timedelta(minutes=5), crisis_ack_timeout=timedelta(minutes=2), supporters_in_chain=2
)


class World:
    """One scratch schema and one event loop for every example the machine runs."""

    def __init__(self, admin_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.schema = f"scratch_{uuid.uuid4().hex[:8]}"
        self.database = Database(
            admin_url.replace("postgresql://", "postgresql+asyncpg://"), schema=self.schema
        )
        self.uow = UnitOfWorkFactory(self.database, producer="oncall")
        self.consumer = EventConsumer(
            name="oncall",
            subscriptions=make_subscriptions(POLICY),
            uow=self.uow,
            broker=None,  # type: ignore[arg-type]  # dead letters are not part of this property
            dead_letter_after_attempts=1,
            retry_backoff_seconds=0,
        )
        self.offset = 0
        self.run(self._create())

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _create(self) -> None:
        async with self.database.engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            await conn.run_sync(PLUMBING.create_all)
            await conn.run_sync(t.metadata.create_all)
            await conn.execute(
                sa.insert(t.duty).values(
                    site_id=SITE, layer="coordinator", staff_ref=COORDINATOR, starts_at=datetime.now(UTC)
                )
            )

    def deliver(self, raw: bytes) -> None:
        self.offset += 1
        self.run(self.consumer.process("pss.test", 0, self.offset, SITE.encode(), raw))

    def close(self) -> None:
        async def drop() -> None:
            async with self.database.engine.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            await self.database.dispose()

        self.run(drop())
        self.loop.close()


WORLD: World | None = None


def _raw(event: Event) -> bytes:
    return event.envelope(site_id=SITE, producer="test").to_bytes()


class Lifecycle(RuleBasedStateMachine):
    referrals = Bundle("referrals")
    delivered = Bundle("delivered")

    def __init__(self) -> None:
        super().__init__()
        assert WORLD is not None
        self.world = WORLD
        self.mine: list[uuid.UUID] = []
        self.ended: set[uuid.UUID] = set()

    @initialize(target=referrals)
    def a_case(self) -> uuid.UUID:
        referral_id = uuid.uuid4()
        self.mine.append(referral_id)
        return referral_id

    @rule(target=referrals)
    def another_case(self) -> uuid.UUID:
        return self.a_case()

    def _send(self, event: Event) -> bytes:
        raw = _raw(event)
        self.world.deliver(raw)
        return raw

    @rule(target=delivered, referral=referrals, crisis=st.booleans(), ranked=st.permutations(SUPPORTERS))
    def proposed(self, referral: uuid.UUID, crisis: bool, ranked: list[str]) -> bytes:
        candidates = [Candidate(supporter=s, rank=i, score=1.0 / i) for i, s in enumerate(ranked, start=1)]
        return self._send(
            MatchProposed(
                referral_id=referral,
                site_id=SITE,
                urgency=Urgency.WITHIN_HOURS,
                crisis=crisis,
                candidates=candidates,
            )
        )

    @rule(target=delivered, referral=referrals)
    def unmatched(self, referral: uuid.UUID) -> bytes:
        return self._send(MatchUnmatched(referral_id=referral, site_id=SITE, urgency=Urgency.WITHIN_HOURS))

    @rule(target=delivered, referral=referrals, supporter=st.sampled_from(SUPPORTERS))
    def overridden(self, referral: uuid.UUID, supporter: str) -> bytes:
        return self._send(
            MatchOverridden(
                referral_id=referral,
                site_id=SITE,
                supporter=supporter,
                reason=OverrideReason.AVAILABILITY,
                urgency=Urgency.WITHIN_HOURS,
            )
        )

    @rule(target=delivered, referral=referrals, how=st.sampled_from(["closed", "withdrawn", "declined"]))
    def ended_case(self, referral: uuid.UUID, how: str) -> bytes:
        event: Event
        if how == "closed":
            event = ReferralClosed(
                referral_id=referral, site_id=SITE, contact_made=False, outcome=CaseOutcome.NO_CONTACT
            )
        elif how == "withdrawn":
            event = ReferralWithdrawn(referral_id=referral, site_id=SITE, stage=WithdrawalStage.MATCHED)
        else:
            event = ReferralDeclined(
                referral_id=referral, site_id=SITE, path=ConnectionPath.MANAGER, ended=OfferEnd.DECLINED
            )
        self.ended.add(referral)
        return self._send(event)

    @rule(raw=delivered)
    def redelivered(self, raw: bytes) -> None:
        """Kafka delivers at least once: the same event again, at a later offset."""
        self.world.deliver(raw)

    @rule(referral=referrals, accept=st.booleans(), pick=st.integers(min_value=0, max_value=20))
    def answered(self, referral: uuid.UUID, accept: bool, pick: int) -> None:
        """Someone answers one of the case's pages, open or not (a late tap on a link). The
        page is picked by position, not drawn from what the database holds: a replayed
        example draws the same data whatever the rows are."""

        async def answer() -> None:
            async with self.world.uow() as uow:
                pages = (
                    await uow.session.execute(
                        sa.select(t.page.c.page_id, t.page.c.recipient).where(
                            t.page.c.referral_id == referral
                        )
                    )
                ).all()
            if not pages:
                return
            page_id, recipient = sorted(pages, key=lambda p: (str(p.page_id), p.recipient))[pick % len(pages)]
            role = Role.SITE_COORDINATOR if recipient == COORDINATOR else Role.PEER_SUPPORTER
            principal = Principal(recipient, frozenset({role}), frozenset({SITE}), staff_ref=recipient)
            async with self.world.uow() as uow:
                try:
                    if accept:
                        await answers.acknowledge(uow, page_id, principal)
                    else:
                        await answers.decline(uow, page_id, principal, POLICY)
                except (PageClosed, PageNotFound):
                    pass

        self.world.run(answer())

    @rule()
    def time_passes(self) -> None:
        """Every timer comes due, and the timer loop runs."""

        async def fire() -> None:
            async with self.world.uow() as uow:
                await uow.session.execute(
                    sa.update(t.timer)
                    .where(t.timer.c.fired_at.is_(None), t.timer.c.cancelled_at.is_(None))
                    .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
                )
                await uow.commit()
            async with self.world.uow() as uow:
                await timers.fire_due_timers(uow, POLICY)

        self.world.run(fire())

    @invariant()
    def nothing_outlives_an_ended_case(self) -> None:
        if not self.ended:
            return
        ended = list(self.ended)

        async def look() -> tuple[list[Any], ...]:
            async with self.world.uow() as uow:
                s = uow.session
                episodes = (
                    await s.execute(sa.select(t.episode.c.status).where(t.episode.c.referral_id.in_(ended)))
                ).all()
                pages = (
                    await s.execute(
                        sa.select(t.page.c.referral_id).where(
                            t.page.c.referral_id.in_(ended), t.page.c.status == "sent"
                        )
                    )
                ).all()
                timers = (
                    await s.execute(
                        sa.select(t.timer.c.referral_id, t.timer.c.kind).where(
                            t.timer.c.referral_id.in_(ended),
                            t.timer.c.fired_at.is_(None),
                            t.timer.c.cancelled_at.is_(None),
                        )
                    )
                ).all()
                messages = (
                    await s.execute(
                        sa.select(t.notification.c.referral_id).where(
                            t.notification.c.referral_id.in_(ended),
                            t.notification.c.status.in_(["pending", "sending"]),
                        )
                    )
                ).all()
            return episodes, pages, timers, messages

        episodes, pages, timers, messages = self.world.run(look())
        assert len(episodes) == len(ended), "an ending that came first is recorded as an ended episode"
        assert all(EpisodeStatus(e.status) in ENDED for e in episodes), episodes
        assert pages == [], f"open pages of ended cases: {pages}"
        assert timers == [], f"pending timers of ended cases: {timers}"
        assert messages == [], f"messages still to send for ended cases: {messages}"


@pytest.fixture
def world(infrastructure):  # type: ignore[no-untyped-def]
    global WORLD
    WORLD = World(infrastructure.admin_url)
    yield WORLD
    WORLD.close()
    WORLD = None


def test_no_page_timer_or_message_outlives_an_ended_case_whatever_the_order(world) -> None:  # type: ignore[no-untyped-def]
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
