"""Key rotation on a real PostgreSQL server: after `reseal`, the old key can be dropped and
every stored value still opens."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from servicekit.vault import PersonalDataVault, reseal

pytestmark = pytest.mark.integration

metadata = sa.MetaData()
routes = sa.Table(
    "route",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("address", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.LargeBinary),
)


async def test_after_a_reseal_the_old_key_can_go(scratch_database):
    async with scratch_database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    old_key, new_key = PersonalDataVault.new_key(), PersonalDataVault.new_key()
    before = PersonalDataVault(old_key)
    # more rows than one batch, a composite key, and a column that is sometimes empty
    stored = {(f"st-{n:03}", n % 3): f"+1 555 {n:04}" for n in range(23)}
    async with scratch_database.sessions() as session, session.begin():
        for (staff_ref, position), address in stored.items():
            await session.execute(
                sa.insert(routes).values(
                    staff_ref=staff_ref,
                    position=position,
                    address=before.seal(address),
                    note=before.seal("night") if position == 0 else None,
                )
            )
    during = PersonalDataVault(f"{new_key},{old_key}")  # the new key first, the old one still there
    assert await reseal(scratch_database.sessions, during, routes, ["address", "note"], batch=5) == 23

    after = PersonalDataVault(new_key)  # the old key is gone
    async with scratch_database.sessions() as session:
        rows = (await session.execute(sa.select(routes))).all()
    assert {(r.staff_ref, r.position): after.open(r.address) for r in rows} == stored
    assert {after.open(r.note) for r in rows} == {"night", None}
    with pytest.raises(ValueError, match="could not be decrypted"):
        PersonalDataVault(old_key).open(rows[0].address)
