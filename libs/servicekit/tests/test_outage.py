"""Which failures are outages to wait out (never counted towards dead-lettering an event)
and which are the handler's own."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy.exc
from servicekit.consumer import is_outage


def wrapped(orig: BaseException) -> sqlalchemy.exc.DBAPIError:
    return sqlalchemy.exc.DBAPIError("SELECT 1", None, orig)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.CrashShutdownError("terminating connection because of crash of another process"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionRefusedError(111, "Connect call failed"),
        wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        sqlalchemy.exc.OperationalError("SELECT 1", None, Exception("server closed the connection")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_database_that_is_down_or_restarting_is_an_outage(error):
    assert is_outage(error)


def test_an_outage_raised_from_inside_a_handler_error_is_still_an_outage():
    try:
        try:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        except asyncpg.exceptions.CannotConnectNowError as inner:
            raise RuntimeError("while paging") from inner
    except RuntimeError as outer:
        assert is_outage(outer)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad payload"),
        KeyError("supporter"),
        asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
        wrapped(asyncpg.exceptions.UndefinedColumnError('column "x" does not exist')),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_handler_or_schema_error_is_not_an_outage(error):
    assert not is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        wrapped(asyncpg.exceptions.SerializationError("could not serialize access")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_transaction_that_lost_a_race_is_retried_without_counting_against_the_event(error):
    assert is_outage(error)
