"""What a proposal costs oncall in statements, on a real PostgreSQL server: each statement
is a round trip to the database, and round trips were most of oncall's CPU for a page."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from contracts.events import Candidate, MatchProposed, MatchUnmatched, PageExhausted
from contracts.types import Urgency
from oncall import tables as t
from oncall.consumers import make_subscriptions
from oncall.escalation import EpisodeStatus
from oncall.notifiers import Channel, Message
from oncall.paging.policy import PagingPolicy
from pss_testkit.database import round_trips, scratch_schema, statements_run
from servicekit.consumer import EventConsumer
from servicekit.database import Database, UnitOfWorkFactory
from servicekit.tables import OUTBOX as outbox

pytestmark = pytest.mark.integration

SITE = "t-trips"
POLICY = PagingPolicy(
    ack_timeout=timedelta(minutes=5), crisis_ack_timeout=timedelta(minutes=2), supporters_in_chain=2
)


@pytest.fixture
async def oncall_database(infrastructure: Any) -> AsyncIterator[Database]:
    async with scratch_schema(infrastructure.admin_url, t.metadata) as database:
        async with database.engine.begin() as conn:
            await conn.execute(sa.insert(t.schedule).values(site_id=SITE, time_zone="America/Toronto"))
            await conn.execute(
                sa.insert(t.site_ack_timeouts).values(site_id=SITE, default_seconds=600, by_urgency={})
            )
            await conn.execute(
                sa.insert(t.site_service_levels).values(
                    site_id=SITE, callback_within_seconds=900, meet_within_seconds=3600
                )
            )
            await conn.execute(
                sa.insert(t.duty).values(
                    site_id=SITE, layer="coordinator", staff_ref="st-tripscoord", starts_at=datetime.now(UTC)
                )
            )
        yield database


async def _deliver(database: Database, event: Any, offset: int) -> list[str]:
    """The statements oncall's consumer ran for ``event``."""
    consumer = EventConsumer(
        name="oncall",
        subscriptions=make_subscriptions(POLICY),
        uow=UnitOfWorkFactory(database, producer="oncall"),
        broker=None,  # type: ignore[arg-type]
        dead_letter_after_attempts=1,
        retry_backoff_seconds=0,
    )
    with statements_run(database) as seen:
        raw = event.envelope(site_id=SITE, producer="test").to_bytes()
        await consumer.process("pss.test", 0, offset, SITE.encode(), raw)
    return seen


async def test_a_proposal_is_paged_in_one_read_and_four_writes(oncall_database: Database):
    """The inbox's claim; the site's rules, its coordinator and whether the episode exists in
    one read; then the episode, the page with its message, the timers (two clocks and the
    page's answer, together) and the outbox. It was twelve statements: five reads, the page
    and its message apart, and three timers one at a time."""
    referral = uuid.uuid4()
    proposal = MatchProposed(
        referral_id=referral,
        site_id=SITE,
        urgency=Urgency.WITHIN_HOURS,
        crisis=False,
        candidates=[
            Candidate(supporter="st-tripsa", rank=1, score=1.0),
            Candidate(supporter="st-tripsb", rank=2, score=0.5),
        ],
    )
    started = datetime.now(UTC)
    statements = await _deliver(oncall_database, proposal, 1)
    assert len(statements) == 6, statements

    async with oncall_database.engine.connect() as conn:
        episode = (await conn.execute(sa.select(t.episode).where(t.episode.c.referral_id == referral))).one()
        page = (await conn.execute(sa.select(t.page).where(t.page.c.referral_id == referral))).one()
        kinds = dict(
            (
                await conn.execute(
                    sa.select(t.timer.c.kind, t.timer.c.due_at).where(t.timer.c.referral_id == referral)
                )
            ).all()
        )
        message = (
            await conn.execute(sa.select(t.notification).where(t.notification.c.page_id == page.page_id))
        ).one()
        sent = await conn.scalar(sa.select(sa.func.count()).select_from(outbox))
    # what was read went where it belongs: the coordinator ends the chain, the site's own
    # answer timeout, service levels and zone were used
    assert [link["recipient"] for link in episode.chain][-1] == "st-tripscoord"
    assert episode.status == EpisodeStatus.PAGING.value
    assert page.recipient == "st-tripsa"
    assert timedelta(seconds=590) < page.acknowledge_by - started < timedelta(seconds=610)
    assert set(kinds) == {"acknowledge", "callback", "meeting"}
    assert timedelta(seconds=890) < kinds["callback"] - started < timedelta(seconds=910)
    assert timedelta(seconds=3590) < kinds["meeting"] - started < timedelta(seconds=3610)
    assert message.detail["time_zone"] == "America/Toronto"
    # the message is the page's, queued for its recipient, with what the text says
    assert (message.kind, message.status, message.recipient, message.site_id) == (
        "page",
        "pending",
        "st-tripsa",
        SITE,
    )
    assert message.referral_id == referral and message.detail["role"] == "supporter"
    assert message.detail["acknowledge_by"] == page.acknowledge_by.isoformat()
    assert sent == 1  # PageSent

    # a redelivery of the same proposal under a new id: one read, and nothing else
    again = proposal.model_copy()
    statements = await _deliver(oncall_database, again, 2)
    assert len(statements) == 2, statements  # the claim, the read


async def test_nobody_to_page_ends_the_episode_as_it_starts(oncall_database: Database):
    """No candidate and no coordinator: the episode is exhausted at once, its clocks run, and
    PageExhausted goes out; no page, no message."""
    async with oncall_database.engine.begin() as conn:
        await conn.execute(sa.delete(t.duty))
    referral = uuid.uuid4()
    await _deliver(
        oncall_database, MatchUnmatched(referral_id=referral, site_id=SITE, urgency=Urgency.WITHIN_HOURS), 1
    )
    async with oncall_database.engine.connect() as conn:
        episode = (await conn.execute(sa.select(t.episode).where(t.episode.c.referral_id == referral))).one()
        pages = await conn.scalar(sa.select(sa.func.count()).select_from(t.page))
        kinds = set(
            (await conn.scalars(sa.select(t.timer.c.kind).where(t.timer.c.referral_id == referral))).all()
        )
        types = (await conn.scalars(sa.select(outbox.c.event_type))).all()
    assert episode.status == EpisodeStatus.EXHAUSTED.value and episode.closed_at is not None
    assert pages == 0
    assert kinds == {"callback", "meeting"}
    assert list(types) == [PageExhausted.TYPE]


def _delivery(vault: Any, recording: Any) -> Any:
    """Delivery to a route that records what it is given; a recipient with no route is
    recorded too (development)."""
    from oncall.delivery import Delivery
    from oncall.links import LinkSigner
    from oncall.notifiers import Channel

    return Delivery(
        notifiers={Channel.RECORDING: recording},
        vault=vault,
        signer=LinkSigner("x" * 32, valid_for=timedelta(hours=1)),
        public_base_url="https://example.org",
        record_unrouted=True,
    )


async def test_a_delivery_step_is_four_statements_whatever_it_sends(oncall_database: Database):
    """The delivery loop's step: the due messages read and leased in one statement (it was a
    read and an update), every recipient's routes in one read (it was one a recipient), and
    the outcomes in one statement for each kind of outcome (it was one a message), with no
    transaction around them: the lease commits at once, the routes are a read, and each
    outcome stands alone (a BEGIN and a COMMIT around each part were four round trips more
    for every page). The oldest goes first, a message not yet due is left, a route that
    failed waits for its retry."""
    from oncall.delivery import deliver_due
    from oncall.notifiers import RecordingNotifier
    from servicekit.vault import PersonalDataVault

    vault = PersonalDataVault(PersonalDataVault.new_key())
    now = datetime.now(UTC)
    async with oncall_database.engine.begin() as conn:
        # a: a route that records; b: no route (recorded in development); d: e-mail, which
        # this deployment cannot send
        for ref, channel in (("st-tripsa", "recording"), ("st-tripsd", "email")):
            address = vault.seal(f"{ref}@example.org")
            await conn.execute(
                sa.insert(t.contact_route).values(staff_ref=ref, position=0, channel=channel, address=address)
            )
    await _due_reminders(
        oncall_database, [("st-tripsb", -30), ("st-tripsa", -60), ("st-tripsd", -10), ("st-tripsc", 600)]
    )
    recording = RecordingNotifier()
    delivery = _delivery(vault, recording)
    units = UnitOfWorkFactory(oncall_database, producer="oncall").one_at_a_time()
    async with round_trips(oncall_database) as sent_to_server:
        with statements_run(oncall_database) as seen:
            sent = await deliver_due(units, delivery)
    await units.close()
    assert sent == 3
    assert [m.recipient for m in recording.sent] == ["st-tripsa", "st-tripsb"]
    assert len(seen) == 4, seen  # the lease, the routes, two kinds of outcome
    assert len(sent_to_server) == 4, sent_to_server  # and nothing else: no BEGIN, no COMMIT
    assert seen[0].lstrip().startswith("WITH") and "FOR UPDATE SKIP LOCKED" in seen[0]
    async with oncall_database.engine.connect() as conn:
        rows = (await conn.execute(sa.select(t.notification))).all()
    statuses = {row.recipient: (row.status, row.attempts) for row in rows}
    assert statuses == {
        "st-tripsa": ("delivered", 1),
        "st-tripsb": ("delivered", 1),
        "st-tripsc": ("pending", 0),
        "st-tripsd": ("pending", 1),  # again after its backoff
    }
    retry = next(row for row in rows if row.recipient == "st-tripsd")
    assert retry.next_attempt_at > now and retry.last_error == "email: channel not configured"


async def test_a_delivery_step_runs_on_the_driver_and_with_nothing_due_is_its_claim_alone(
    oncall_database: Database,
):
    """The delivery loop looks every second: at rest its claim, through the session, was
    oncall's largest cost with nothing happening. The claim, the routes' read and the
    outcomes all run on the driver: a step never builds a session."""
    from oncall.delivery import deliver_due
    from oncall.notifiers import RecordingNotifier
    from servicekit.vault import PersonalDataVault

    through_sqlalchemy: list[str] = []

    @sa.event.listens_for(oncall_database.engine.sync_engine, "before_cursor_execute")
    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        through_sqlalchemy.append(statement)

    vault = PersonalDataVault(PersonalDataVault.new_key())
    recording = RecordingNotifier()
    delivery = _delivery(vault, recording)
    units = UnitOfWorkFactory(oncall_database, producer="oncall")
    with statements_run(oncall_database) as seen:
        assert await deliver_due(units, delivery) == 0
    assert len(seen) == 1 and through_sqlalchemy == []

    async with oncall_database.engine.begin() as conn:
        await conn.execute(
            sa.insert(t.contact_route).values(
                staff_ref="st-tripsa", position=0, channel="recording", address=vault.seal("a@example.org")
            )
        )
        await conn.execute(
            sa.insert(t.notification).values(
                kind="reminder",
                recipient="st-tripsa",
                channel="pending",
                status="pending",
                detail={"site_id": SITE},
            )
        )
    through_sqlalchemy.clear()
    assert await deliver_due(units, delivery) == 1
    assert [m.recipient for m in recording.sent] == ["st-tripsa"]
    assert through_sqlalchemy == []


async def test_the_duty_loop_reads_every_site_in_four_statements(oncall_database: Database):
    """Every few seconds the duty loop brings each site's duty in line with its schedule: it
    read five statements a site (60 sites: 20 statements a second at rest). Now every
    schedule, rotation, override and duty is read in four statements, whatever the number of
    sites, and only a change is written (with its DutyChanged)."""
    from oncall.schedules.upkeep import publish_duty

    sites = [f"t-duty{n}" for n in range(6)]
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    async with oncall_database.engine.begin() as conn:
        for site in sites:
            await conn.execute(sa.insert(t.schedule).values(site_id=site, time_zone="America/Toronto"))
            for layer, members in (
                ("primary", ["st-dutya", "st-dutyb"]),
                ("backup", ["st-dutyb", "st-dutya"]),
            ):
                await conn.execute(
                    sa.insert(t.rotation).values(
                        site_id=site,
                        layer=layer,
                        position=0,
                        members=members,
                        starts_local=datetime(2026, 11, 30, 8, 0),
                        shift_hours=24,
                    )
                )
        # an override wins over the rotation while it lasts
        await conn.execute(
            sa.insert(t.duty_override).values(
                site_id=sites[0],
                layer="primary",
                staff_ref="st-dutyover",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
                created_by="st-tripscoord",
                created_at=now - timedelta(days=1),
            )
        )
    units = UnitOfWorkFactory(oncall_database, producer="oncall")
    with statements_run(oncall_database) as first:
        async with units() as uow:
            changed = await publish_duty(uow, now)
    # seven schedules (the fixture's site has one with no rotation), two layers each
    assert changed == 14
    assert len(first) == 4 + 2 * changed, first  # the reads; an upsert and an event a change
    with statements_run(oncall_database) as again:
        async with units() as uow:
            assert await publish_duty(uow, now) == 0
    assert len(again) == 4, again

    async with oncall_database.engine.connect() as conn:
        duty = {
            (row.site_id, row.layer): row.staff_ref
            for row in await conn.execute(sa.select(t.duty).where(t.duty.c.layer != "coordinator"))
        }
    # 2026-12-02 10:00 in Toronto: the third 24-hour shift from 2026-11-30 08:00, a's again
    assert duty[(sites[0], "primary")] == "st-dutyover"
    assert all(duty[(site, "primary")] == "st-dutya" for site in sites[1:])
    assert all(duty[(site, "backup")] == "st-dutyb" for site in sites)


async def test_every_proposal_runs_the_same_statements_on_the_driver(oncall_database: Database):
    """A statement built anew with its values for every proposal cost SQLAlchemy a build and
    a cache key derived from the whole statement, values included (the episode's insert was
    about a tenth of oncall's CPU for a proposal); through the session each statement cost
    about three times the CPU it costs on the driver. Every statement of a proposal now runs
    on the driver, built once: the same six each time, none through SQLAlchemy."""
    through_sqlalchemy: list[object] = []

    def record(_conn: Any, clauseelement: object, *_: Any) -> None:
        through_sqlalchemy.append(clauseelement)

    run = []
    referrals = [uuid.uuid4(), uuid.uuid4()]
    sa.event.listen(oncall_database.engine.sync_engine, "before_execute", record)
    try:
        for offset, referral in enumerate(referrals, start=1):
            proposal = MatchProposed(
                referral_id=referral,
                site_id=SITE,
                urgency=Urgency.WITHIN_HOURS,
                crisis=offset == 2,
                candidates=[Candidate(supporter="st-tripsa", rank=1, score=1.0)],
            )
            run.append(await _deliver(oncall_database, proposal, offset))
    finally:
        sa.event.remove(oncall_database.engine.sync_engine, "before_execute", record)
    assert through_sqlalchemy == []
    first, second = run
    assert len(first) == 6 and first == second
    # and the values reached their columns
    async with oncall_database.engine.connect() as conn:
        episodes = (
            await conn.execute(sa.select(t.episode).where(t.episode.c.referral_id.in_(referrals)))
        ).all()
    by_referral = {row.referral_id: row for row in episodes}
    assert [by_referral[r].crisis for r in referrals] == [False, True]
    episode = by_referral[referrals[1]]
    assert (episode.site_id, episode.status, episode.step, episode.team_size) == (SITE, "paging", 0, 1)
    assert [link["recipient"] for link in episode.chain] == ["st-tripsa", "st-tripscoord"]
    assert episode.urgency == Urgency.WITHIN_HOURS.value and episode.closed_at is None
    assert episode.started_at is not None and episode.worker_unchecked is False


class SlowPhone:
    """Records what it sends, taking a moment for each, as a gateway's API does; notes how
    many messages were in flight at once, in all and to one person."""

    channel = Channel.RECORDING

    def __init__(self, refuse: str | None = None) -> None:
        self.sent: list[tuple[str, int]] = []
        self.in_flight: dict[str, int] = {}
        self.most_at_once = self.most_to_one = 0
        self.refuse = refuse

    async def deliver(self, message: Message, address: str) -> None:
        who = message.recipient
        self.in_flight[who] = self.in_flight.get(who, 0) + 1
        self.most_at_once = max(self.most_at_once, sum(self.in_flight.values()))
        self.most_to_one = max(self.most_to_one, self.in_flight[who])
        try:
            await asyncio.sleep(0.05)
            if who == self.refuse:
                raise RuntimeError("a notifier's bug")
            self.sent.append((who, message.notification_id))
        finally:
            self.in_flight[who] -= 1


async def _due_reminders(database: Database, due: list[tuple[str, int]]) -> None:
    now = datetime.now(UTC)
    async with database.engine.begin() as conn:
        for recipient, seconds in due:
            await conn.execute(
                sa.insert(t.notification).values(
                    kind="reminder",
                    recipient=recipient,
                    channel="pending",
                    status="pending",
                    next_attempt_at=now + timedelta(seconds=seconds),
                    detail={"site_id": SITE},
                )
            )


async def test_a_step_sends_to_different_people_at_once_and_to_each_person_in_turn(oncall_database: Database):
    """One message after the other, a gateway's answer time (a tenth of a second or more)
    bounded how many pages a second went out. A person's own messages still go in order."""
    from oncall.delivery import deliver_due
    from servicekit.vault import PersonalDataVault

    await _due_reminders(
        oncall_database,
        [("st-tripsa", -60), ("st-tripsb", -55), ("st-tripsa", -50), ("st-tripsc", -45), ("st-tripsa", -40)],
    )
    phone = SlowPhone()
    units = UnitOfWorkFactory(oncall_database, producer="oncall").one_at_a_time()
    assert await deliver_due(units, _delivery(PersonalDataVault(PersonalDataVault.new_key()), phone)) == 5
    await units.close()
    assert phone.most_at_once == 3 and phone.most_to_one == 1
    to_a = [n for who, n in phone.sent if who == "st-tripsa"]
    assert len(to_a) == 3 and to_a == sorted(to_a)  # in the order they came due


async def test_a_notifier_failing_unexpectedly_leaves_the_others_outcomes_recorded(oncall_database: Database):
    """Sent at the same time, the others' messages have gone out when one fails: recorded,
    they are not sent again when the failed one's lease runs out; the failure is raised after
    (the loop logs and counts it), and the failed one comes due again with its lease."""
    from oncall.delivery import deliver_due
    from servicekit.vault import PersonalDataVault

    await _due_reminders(oncall_database, [("st-tripsa", -60), ("st-tripsb", -50), ("st-tripsc", -40)])
    phone = SlowPhone(refuse="st-tripsb")
    units = UnitOfWorkFactory(oncall_database, producer="oncall").one_at_a_time()
    with pytest.raises(RuntimeError, match="a notifier's bug"):
        await deliver_due(units, _delivery(PersonalDataVault(PersonalDataVault.new_key()), phone))
    await units.close()
    async with oncall_database.engine.connect() as conn:
        rows = (await conn.execute(sa.select(t.notification.c.recipient, t.notification.c.status))).all()
    assert dict(rows) == {"st-tripsa": "delivered", "st-tripsb": "sending", "st-tripsc": "delivered"}
