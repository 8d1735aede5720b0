"""A referral is stored in three statements, on a real PostgreSQL server: the case, its
sealed contact and its event. Its site is checked by the case's own key to the site, not by
a read first (a round trip for every referral); an unknown site is still refused, with the
same words, and nothing of the case is stored."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from contracts.types import ConnectionPath, Modality, ReasonCategory, ReasonKind, Urgency
from intake import tables
from intake.domain import Contact, Referral, ReferralRejected
from intake.ways_in.handlers import CaseDetails, Idempotency, submit_case
from pss_testkit.database import scratch_schema, statements_run
from servicekit.database import Database, UnitOfWorkFactory
from servicekit.tables import OUTBOX
from servicekit.vault import PersonalDataVault

pytestmark = pytest.mark.integration

SITE = "t-submit"


@pytest.fixture
async def intake_database(infrastructure: Any) -> AsyncIterator[Database]:
    async with scratch_schema(infrastructure.admin_url, tables.metadata) as database:
        async with database.engine.begin() as conn:
            await conn.execute(sa.insert(tables.site).values(site_id=SITE, display_name="Submit General"))
        yield database


def _referral(site_id: str) -> Referral:
    return Referral(
        id=uuid.uuid4(),
        site_id=site_id,
        path=ConnectionPath.SELF,
        reason_category=ReasonCategory.PATIENT_SAFETY,
        reason_kind=ReasonKind.NEAR_MISS,
        urgency=Urgency.WITHIN_HOURS,
        modality=Modality.PHONE,
        submitted_at=datetime.now(UTC),
        worker="st-submitter",
    )


async def _submit(database: Database, referral: Referral, key: str) -> tuple[Any, list[str]]:
    with statements_run(database) as seen:
        async with UnitOfWorkFactory(database, producer="intake")() as uow:
            submission = await submit_case(
                uow,
                referral,
                Contact(name="A Worker", phone="+15555550100"),
                PersonalDataVault(PersonalDataVault.new_key()),
                CaseDetails(channel="web"),
                Idempotency(key, "digest-" + key),
            )
    return submission, seen


async def _stored(database: Database) -> tuple[int, int, int]:
    async with database.engine.connect() as conn:
        return (
            await conn.scalar(sa.select(sa.func.count()).select_from(tables.referral)),
            await conn.scalar(sa.select(sa.func.count()).select_from(tables.contact)),
            await conn.scalar(sa.select(sa.func.count()).select_from(OUTBOX)),
        )


async def test_a_referral_is_stored_in_three_statements(intake_database: Database):
    submission, statements = await _submit(intake_database, _referral(SITE), "key-1")
    assert submission.created
    assert len(statements) == 3, statements  # the case, the sealed contact, the event
    assert await _stored(intake_database) == (1, 1, 1)


async def test_a_referral_to_an_unknown_site_is_refused_and_nothing_is_stored(intake_database: Database):
    with pytest.raises(ReferralRejected, match="site_id 'no-such-hospital' is not a site of this authority"):
        await _submit(intake_database, _referral("no-such-hospital"), "key-2")
    assert await _stored(intake_database) == (0, 0, 0)
    # the same key then works for a real site: nothing of the refused request was kept
    submission, _ = await _submit(intake_database, _referral(SITE), "key-2")
    assert submission.created


async def test_every_referral_runs_the_same_three_statements_on_the_driver(intake_database: Database):
    """Through the ORM's session a statement cost about three times the CPU it costs on the
    driver (bench/transaction_cost.py). The case, its sealed contact and its event go on the
    driver, compiled once: SQLAlchemy runs none of them, and each referral sends the same
    three statements with only their values changed."""
    through_sqlalchemy: list[object] = []

    def record(_conn: Any, clauseelement: object, *_: Any) -> None:
        through_sqlalchemy.append(clauseelement)

    run = []
    sa.event.listen(intake_database.engine.sync_engine, "before_execute", record)
    try:
        for key in ("key-3", "key-4"):
            referral = _referral(SITE)
            submission, statements = await _submit(intake_database, referral, key)
            assert submission.created
            run.append(statements)
    finally:
        sa.event.remove(intake_database.engine.sync_engine, "before_execute", record)
    assert through_sqlalchemy == []
    first, second = run
    assert len(first) == 3 and first == second
    # and the values reached their columns
    async with intake_database.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(tables.referral).where(tables.referral.c.referral_id == referral.id))
        ).one()
    assert (row.site_id, row.status, row.idempotency_key, row.channel) == (SITE, "submitted", "key-4", "web")
    assert row.worker_ref == "st-submitter" and row.accepted_at == referral.submitted_at
    assert row.preferences == {"same_profession": None, "gender": None, "other_site": False, "languages": []}
