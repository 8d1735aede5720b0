"""The unit of work on a real PostgreSQL: the entry point's block commits, and an event is
keyed by the site it names."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from contracts.events import CertificationExpired, ReferralWithdrawn, SupporterEligibilityChanged
from pss_testkit.database import round_trips
from servicekit.database import UnitOfWorkFactory
from servicekit.driver import DriverStatement
from servicekit.tables import OUTBOX


async def _keys(database) -> list[str]:
    async with database.sessions() as session:
        return list((await session.execute(sa.select(OUTBOX.c.key).order_by(OUTBOX.c.seq))).scalars())


async def test_the_block_ending_normally_commits_and_an_exception_rolls_back(scratch_database):
    uow = UnitOfWorkFactory(scratch_database, producer="test")
    withdrawn = ReferralWithdrawn(referral_id=uuid.uuid4(), site_id="north", stage="submitted")
    async with uow() as unit:
        await unit.emit(withdrawn)
    with pytest.raises(RuntimeError):
        async with uow() as unit:
            await unit.emit(withdrawn.model_copy(update={"site_id": "south"}))
            raise RuntimeError("the handler failed")
    assert await _keys(scratch_database) == ["north"]
    assert uow.committed_events.is_set()  # the relay was woken by the commit


async def test_an_event_is_keyed_by_its_site_or_home_site_and_one_naming_none_needs_one(scratch_database):
    uow = UnitOfWorkFactory(scratch_database, producer="test")
    eligibility = SupporterEligibilityChanged.model_construct(staff_ref="s1", home_site="east", eligible=True)
    expired = CertificationExpired.model_construct(staff_ref="s1", course="basic-peer-support")
    async with uow() as unit:
        await unit.emit(eligibility)
        with pytest.raises(TypeError, match="names no site"):
            await unit.emit(expired)
        await unit.emit(expired, site_id="west")
    assert await _keys(scratch_database) == ["east", "west"]


async def test_a_loops_signal_is_given_when_the_work_it_asked_for_commits_and_not_on_rollback(
    scratch_database,
):
    uow = UnitOfWorkFactory(scratch_database, producer="test")
    queued = uow.signal("notifications")
    assert uow.signal("notifications") is queued  # one event a name
    with pytest.raises(RuntimeError):
        async with uow() as unit:
            unit.signal_after_commit("notifications")
            raise RuntimeError("rolled back: nothing to deliver")
    assert not queued.is_set()
    async with uow() as unit:
        unit.signal_after_commit("notifications")
        unit.signal_after_commit("nobody waits on this")  # no loop: nothing happens
        assert not queued.is_set()  # not before the commit
    assert queued.is_set()


async def test_units_of_work_one_at_a_time_keep_one_connection_and_keep_their_transactions_apart(
    scratch_database,
):
    """A consumer opens a unit of work only after the last ended: its units run on one
    connection, checked out once (a checkout and a check-in were about 0.2 ms of CPU a
    batch, and a ping after two idle seconds). Each still commits or rolls back alone, through
    the driver or the session; one whose connection the server closed gets another."""
    units = UnitOfWorkFactory(scratch_database, producer="test").one_at_a_time()
    checkouts: list[int] = []

    @sa.event.listens_for(scratch_database.engine.sync_engine, "checkout")
    def counted(dbapi_connection, record, proxy):  # type: ignore[no-untyped-def]
        checkouts.append(dbapi_connection.driver_connection.get_server_pid())

    withdrawn = ReferralWithdrawn(referral_id=uuid.uuid4(), site_id="north", stage="submitted")
    async with units() as unit:
        await unit.emit(withdrawn)  # on the driver
    with pytest.raises(RuntimeError):
        async with units() as unit:
            await unit.emit(withdrawn.model_copy(update={"site_id": "south"}))
            raise RuntimeError("the handler failed")
    async with units() as unit:
        await unit.emit(withdrawn.model_copy(update={"site_id": "east"}))
        await unit.session.execute(sa.select(1))  # the session joins the driver's transaction
    async with units() as unit:
        await unit.session.execute(sa.select(1))  # the session alone: a connection of its own
    assert len(set(checkouts)) == 2 and checkouts.count(checkouts[0]) == 1
    kept = checkouts[0]
    async with units() as outer:  # one opened inside another: from the pool, as usual
        await outer.emit(withdrawn.model_copy(update={"site_id": "outer"}))
        async with units() as inner:
            await inner.emit(withdrawn.model_copy(update={"site_id": "inner"}))
    assert checkouts.count(kept) == 1 and len(checkouts) == 3
    assert await _keys(scratch_database) == ["north", "east", "outer", "inner"]

    checkouts.clear()
    async with scratch_database.engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": kept})
    for _ in range(50):  # the driver sees its socket closed
        try:
            async with units() as unit:
                await unit.emit(withdrawn.model_copy(update={"site_id": "west"}))
            break
        except Exception:  # closed under a statement: the next unit connects anew
            await asyncio.sleep(0.1)
    assert await _keys(scratch_database) == ["north", "east", "outer", "inner", "west"]
    assert kept not in checkouts[1:]
    await units.close()


async def test_a_unit_of_work_in_autocommit_commits_each_statement_at_once_and_sends_no_begin(
    scratch_database,
):
    """A step whose statements need not commit together (a lease, a read) runs them each as
    its own transaction: one round trip each, no BEGIN and no COMMIT around them. A row it
    writes is there for everyone before the block ends, and stays there if the block then
    fails. It has no session and emits no event: an event commits with its change."""
    add = DriverStatement(
        sa.insert(OUTBOX).values(
            event_id=sa.bindparam("event_id"),
            topic="pss.test",
            key=sa.bindparam("key"),
            event_type="Test",
            envelope=sa.bindparam("envelope", type_=OUTBOX.c.envelope.type),
        )
    )
    units = UnitOfWorkFactory(scratch_database, producer="test").one_at_a_time()
    # checked out before the count begins: what it reads is not counted
    async with scratch_database.engine.connect() as observer:
        async with round_trips(scratch_database) as sent:
            with pytest.raises(RuntimeError):
                async with units.autocommit() as unit:
                    await add.execute(unit, {"event_id": uuid.uuid4(), "key": "north", "envelope": {}})
                    seen = await observer.scalars(sa.select(OUTBOX.c.key))
                    assert list(seen) == ["north"]  # committed already
                    raise RuntimeError("the step failed after its statement")
    assert await _keys(scratch_database) == ["north"]
    assert len(sent) == 1 and sent[0].lstrip().startswith("INSERT"), sent
    async with units.autocommit() as unit:
        with pytest.raises(TypeError, match="autocommit"):
            unit.session  # noqa: B018
        with pytest.raises(TypeError, match="autocommit"):
            await unit.emit(ReferralWithdrawn(referral_id=uuid.uuid4(), site_id="north", stage="submitted"))
    # the kept connection is clean for the next unit, which has its transaction as before
    async with units() as unit:
        await add.execute(unit, {"event_id": uuid.uuid4(), "key": "south", "envelope": {}})
        assert (await unit.driver()).is_in_transaction()
    await units.close()
    assert await _keys(scratch_database) == ["north", "south"]
