"""Import an authority's directory into matching from CSV files, in batches, with progress
and a report of the rows matching refused (``pss directory import``)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

KINDS = ("people", "evaluators", "supporters")


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, problem)


def _batches(path: Path, size: int) -> Iterator[list[dict[str, object]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        batch: list[dict[str, object]] = []
        for row in reader:
            # the reader's line number is where the row ends: right for one-line rows,
            # and still the place to look for a quoted multi-line one
            fields = {k: v for k, v in row.items() if k is not None and v is not None}
            batch.append({"line": reader.line_num, "fields": fields})
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def import_csv(
    path: Path,
    kind: str,
    *,
    matching_url: str,
    token: str,
    batch_size: int = 1000,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """Sends the file in batches; matching validates each row and stores the good ones.
    A batch refused as a whole (authorisation, a broken request) stops the import."""
    if kind not in KINDS:
        raise ValueError(f"cannot import {kind!r}: choose one of {', '.join(KINDS)}")
    report = ImportReport()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=matching_url, headers=headers, timeout=120) as client:
        for batch in _batches(path, batch_size):
            response = client.post(f"/directory/import/{kind}", json={"rows": batch})
            if response.status_code >= 400:
                raise RuntimeError(f"matching refused the batch ({response.status_code}): {response.text}")
            answer = response.json()
            report.rows += len(batch)
            report.imported += int(answer["imported"])
            report.rejected += [(int(r["line"]), str(r["problem"])) for r in answer["rejected"]]
            progress(len(batch))
    report.rejected.sort()
    return report
