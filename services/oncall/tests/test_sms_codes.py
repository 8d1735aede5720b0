"""A page's reply code: four digits no other page of the same phone holds this month. Drawn
at random while most codes are free, listed once half are taken; on a real PostgreSQL server,
the same page keeps its code and the last free code is found."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from oncall import tables as t
from oncall.sms.handlers import CODES, code_for, free_code
from pss_testkit.database import scratch_schema
from servicekit.database import Database, UnitOfWorkFactory

PHONE = b"digest-of-a-phone"


def test_a_drawn_code_is_never_one_taken_and_has_four_digits():
    taken = {f"{n:04d}" for n in range(0, CODES, 2)[: CODES // 2 - 1]}  # just under half: drawn
    drawn = {free_code(taken) for _ in range(500)}
    assert drawn and not drawn & taken
    assert all(code is not None and len(code) == 4 and code.isdigit() for code in drawn)


def test_the_last_free_code_is_found_and_none_once_all_are_taken():
    every = {f"{n:04d}" for n in range(CODES)}
    assert free_code(every - {"0412"}) == "0412"
    assert free_code(every) is None


def test_codes_are_spread_over_all_ten_thousand():
    # drawn at random, not handed out in order: a code does not say how many pages came before
    drawn = {free_code(set()) for _ in range(200)}
    assert len(drawn) > 150 and max(drawn) > "5000" > min(drawn)  # type: ignore[operator]


@pytest.fixture
async def codes(infrastructure: Any) -> AsyncIterator[Database]:
    async with scratch_schema(infrastructure.admin_url, t.metadata) as database:
        yield database


@pytest.mark.integration
async def test_a_page_keeps_its_code_another_gets_another_and_the_last_free_one_is_found(codes: Database):
    units = UnitOfWorkFactory(codes, producer="oncall")
    first, second = uuid.uuid4(), uuid.uuid4()
    async with units() as uow:
        code = await code_for(uow, first, "st-1", PHONE)
    async with units() as uow:
        again = await code_for(uow, first, "st-1", PHONE)
        other = await code_for(uow, second, "st-1", PHONE)
    assert code is not None and again == code and other not in (None, code)
    # every other code of the phone taken this month, but one
    left = next(c for c in ("0412", "0413", "0414") if c not in (code, other))
    now, kept = datetime.now(UTC), {code, other, left}
    rows = [
        {"phone_digest": PHONE, "code": c, "page_id": uuid.uuid4(), "recipient": "st-2", "created_at": now}
        for n in range(CODES)
        if (c := f"{n:04d}") not in kept
    ]
    async with codes.engine.begin() as conn:
        await conn.execute(sa.insert(t.sms_code), rows)
    async with units() as uow:
        assert await code_for(uow, uuid.uuid4(), "st-3", PHONE) == left
        assert await code_for(uow, uuid.uuid4(), "st-3", PHONE) is None
