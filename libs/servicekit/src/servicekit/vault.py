"""Encryption of personal data at rest, with key rotation (MultiFernet).

Rotating a key: put the new key first in PERSONAL_DATA_KEYS (the old one after it) and
restart, so new data is sealed under it and old data still opens; run the service's
``reseal`` command, which re-seals every stored value under the new key; then drop the old
key from the list.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.ext.asyncio import async_sessionmaker


class PersonalDataVault:
    def __init__(self, keys: str) -> None:
        parsed = [k.strip() for k in keys.split(",") if k.strip()]
        if not parsed:
            raise ValueError(
                "PERSONAL_DATA_KEYS is empty: the service refuses to store personal data unencrypted"
            )
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parsed])

    def seal(self, value: str | None) -> bytes | None:
        return None if value is None else self._fernet.encrypt(value.encode())

    def open(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise ValueError("personal data could not be decrypted with the configured keys") from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(bytes(token))

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()


async def reseal(
    sessions: async_sessionmaker,  # type: ignore[type-arg]
    vault: PersonalDataVault,
    table: sa.Table,
    sealed: Sequence[str],
    *,
    batch: int = 500,
) -> int:
    """Re-seal every value of the ``sealed`` columns of ``table`` under the vault's newest
    key, a batch per transaction in primary-key order: a large table is never locked for
    long, and a run that stops half-way can simply be started again. Returns the rows seen."""
    keys = list(table.primary_key.columns)
    done: int = 0
    after: tuple[object, ...] | None = None
    while True:
        async with sessions() as session, session.begin():
            query = sa.select(*keys, *(table.c[name] for name in sealed)).order_by(*keys).limit(batch)
            if after is not None:
                query = query.where(sa.tuple_(*keys) > sa.tuple_(*(sa.literal(v) for v in after)))
            rows = (await session.execute(query.with_for_update())).all()
            for row in rows:
                values = {
                    name: vault.rotate(row._mapping[table.c[name]])
                    for name in sealed
                    if row._mapping[table.c[name]] is not None
                }
                if values:
                    where = [key == row._mapping[key] for key in keys]
                    await session.execute(sa.update(table).where(*where).values(**values))
        if not rows:
            return done
        done += len(rows)
        after = tuple(rows[-1][: len(keys)])
