"""CSV imports, the way every service takes them: ``pss`` sends the rows of a file in
batches, the service validates each row on its own, stores the good ones and reports
the bad ones by line, so a 50,000-line file is not refused for one typo."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from servicekit.api import describe_problem

M = TypeVar("M", bound=BaseModel)

_LIST_SPLIT = re.compile(r"[;|\s]+")


class ImportRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(ge=1, description="The row's line in the file, for the report")
    fields: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=400)]]


class ImportBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[ImportRow] = Field(min_length=1, max_length=2000)


class Rejected(BaseModel):
    line: int
    problem: str


class ImportReport(BaseModel):
    imported: int
    rejected: list[Rejected]
    already_recorded: int = Field(default=0, description="Rows the service holds already (a re-import)")


def csv_fields(fields: dict[str, str], lists: Iterable[str] = ()) -> dict[str, Any]:
    """CSV cells are text: an empty cell is absent, and list cells split on ';', '|' or spaces."""
    list_columns = set(lists)
    out: dict[str, Any] = {}
    for key, raw in fields.items():
        value = raw.strip()
        if value == "":
            continue
        out[key] = [v for v in _LIST_SPLIT.split(value) if v] if key in list_columns else value
    return out


def validate_rows(
    rows: Iterable[ImportRow],
    model: type[M],
    key_of: Callable[[M], str],
    lists: Iterable[str] = (),
) -> tuple[list[tuple[int, M]], list[Rejected]]:
    """Each row parsed on its own. Of two rows with the same key the later one is used and
    the earlier one reported, so nobody wonders which of the two went in."""
    rejected: list[Rejected] = []
    accepted: dict[str, tuple[int, M]] = {}
    lists = tuple(lists)
    for row in rows:
        try:
            parsed = model.model_validate(csv_fields(row.fields, lists))
        except (ValidationError, ValueError) as exc:
            rejected.append(Rejected(line=row.line, problem=describe_problem(exc)))
            continue
        key = key_of(parsed)
        if key in accepted:
            earlier = accepted[key][0]
            rejected.append(Rejected(line=earlier, problem=f"repeated on line {row.line}, which was used"))
        accepted[key] = (row.line, parsed)
    return list(accepted.values()), rejected
