"""Statements run on the driver's own connection, inside a unit of work's transaction.

A statement through the ORM's session costs the service about three times the CPU the same
statement costs on asyncpg's own connection (``bench/transaction_cost.py``), and the hot
path of a referral is about thirty statements across the services. The statements on that
path are declared as usual, with SQLAlchemy Core, and compiled once for the driver: the text
in the service's schema, with ``$n`` placeholders, and the order the named values go in.
They run in the same transaction as anything the handler does through ``uow.session``.

Each is counted on its step's span and, when slow, given a span of its own, as the session's
are (``sql_spans``). An error is asyncpg's own, not SQLAlchemy's: ``consumer.is_outage``
reads its SQLSTATE.
"""

from __future__ import annotations

import functools
import time
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    from servicekit.database import UnitOfWork


# told of each statement once it ran: its engine, its text, when it began (ns since the
# epoch) and how long it took (ns). SQLAlchemy's events do not see these statements, so the
# SQL spans (servicekit.sql_spans) and a test counting round trips
# (pss_testkit.database.statements_run) are told here.
observers: list[Callable[[AsyncEngine, str, int, int], None]] = []


Conversions = dict[str, Callable[[Any], Any]]


def named_values(table: sa.Table, columns: Iterable[str]) -> dict[str, sa.BindParameter[Any]]:
    """For ``insert(table).values(...)``: each of ``columns`` given as a value of its own name
    and of the column's type (an insert a driver statement runs names what it writes)."""
    return {name: sa.bindparam(name, type_=table.c[name].type) for name in columns}


class DriverStatement:
    """A Core statement compiled once for an engine (the engine gives the dialect and the
    schema), then run with ``execute``, ``fetch``, ``fetchrow`` or ``fetchval`` and its values by
    name. Values go through the column types' own conversions (JSON to text, for one), None
    too, as the session would (a JSON column's None is JSON's null unless it says otherwise)."""

    def __init__(self, statement: sa.ClauseElement, *, as_given: Sequence[str] = ()) -> None:
        self.statement = statement
        # values the caller gives in the driver's own form (a JSON document already as text)
        self.as_given = frozenset(as_given)
        self._compiled: tuple[AsyncEngine, str, tuple[str, ...], dict[str, Any], Conversions] | None = None
        self._readers: tuple[AsyncEngine, dict[int, Callable[[Any], Any]]] | None = None

    def compiled(self, engine: AsyncEngine) -> tuple[str, tuple[str, ...], dict[str, Any], Conversions]:
        """The text, the names of its values in order, the values written in the statement
        itself (a literal in a WHERE, say), and each type's conversion."""
        if self._compiled is None or self._compiled[0] is not engine:
            dialect = engine.dialect
            schemas = engine.sync_engine.get_execution_options().get("schema_translate_map")
            compiled = cast(
                SQLCompiler,
                self.statement.compile(
                    dialect=dialect, schema_translate_map=schemas, render_schema_translate=schemas is not None
                ),
            )
            if compiled.post_compile_params:
                # an IN list expanded at each run (bindparam(expanding=True)) has no one text
                raise ValueError("a statement with values expanded at each run cannot go on the driver")
            names = tuple(compiled.positiontup or ())
            # a value the caller must give is not among these: missing, it is a KeyError
            written = {n: v for n, v in compiled.params.items() if not compiled.binds[n].required}
            conversions: Conversions = {}
            for name in set(names) - self.as_given:
                convert = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                if convert is not None:
                    conversions[name] = convert
            self._compiled = (engine, str(compiled), names, written, conversions)
        return self._compiled[1:]

    def arguments(self, engine: AsyncEngine, values: Mapping[str, Any]) -> list[Any]:
        """The values in the text's order, converted; for a caller that runs the text itself."""
        _text, names, written, conversions = self.compiled(engine)
        args = []
        for name in names:
            value = values[name] if name in values else written[name]
            convert = conversions.get(name)
            args.append(value if convert is None else convert(value))
        return args

    async def _run(self, uow: UnitOfWork, method: str, *args: Any) -> Any:
        driver = await uow.driver()
        text = self.compiled(uow.engine)[0]
        wall, began = time.time_ns(), time.perf_counter_ns()
        try:
            return await getattr(driver, method)(text, *args)
        finally:
            elapsed = time.perf_counter_ns() - began
            for observe in observers:
                observe(uow.engine, text, wall, elapsed)

    async def execute(self, uow: UnitOfWork, values: Mapping[str, Any]) -> None:
        # fetch, as the others: one prepared statement whatever it is given (asyncpg's execute
        # without values sends the text as a simple query, parsed and planned each time)
        await self._run(uow, "fetch", *self.arguments(uow.engine, values))

    async def executemany(self, uow: UnitOfWork, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once for each of ``rows``, sent together (one round trip)."""
        await self._run(uow, "executemany", [self.arguments(uow.engine, row) for row in rows])

    async def fetch(self, uow: UnitOfWork, values: Mapping[str, Any]) -> Sequence[Any]:
        return await self._run(uow, "fetch", *self.arguments(uow.engine, values))  # type: ignore[no-any-return]

    def _result_conversions(self, engine: AsyncEngine) -> dict[int, Callable[[Any], Any]]:
        """Each returned column's conversion by position, as the session applies it: none for
        the dialect's own types (it decodes JSON on the connection), a type of our own's."""
        if self._readers is None or self._readers[0] is not engine:
            dialect = engine.dialect
            columns = list(getattr(self.statement, "exported_columns", ()))
            readers = {}
            for position, column in enumerate(columns):
                read = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if read is not None:
                    readers[position] = read
            self._readers = (engine, readers)
        return self._readers[1]

    async def rows(self, uow: UnitOfWork, values: Mapping[str, Any]) -> list[Any]:
        """As ``fetch``, each row read by attribute as the session's rows are (``row.kind``),
        with the same values, for code written against those."""
        found = await self.fetch(uow, values)
        if not found:
            return []
        shape = _row_type(tuple(found[0].keys()))
        readers = self._result_conversions(uow.engine)
        if not readers:
            return [shape._make(record.values()) for record in found]
        converted = []
        for record in found:
            row = list(record.values())
            for position, read in readers.items():
                row[position] = read(row[position])
            converted.append(shape._make(row))
        return converted

    async def fetchrow(self, uow: UnitOfWork, values: Mapping[str, Any]) -> Any:
        return await self._run(uow, "fetchrow", *self.arguments(uow.engine, values))

    async def fetchval(self, uow: UnitOfWork, values: Mapping[str, Any]) -> Any:
        return await self._run(uow, "fetchval", *self.arguments(uow.engine, values))


@functools.cache
def _row_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names, rename=True)  # type: ignore[misc]
