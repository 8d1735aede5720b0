"""Imports from CSV files, in batches, with progress and a report of the rows the service
refused: the directory into matching (``pss directory import``, or from a FHIR R4 bundle
``pss directory import-fhir``), training records into training (``pss training import``)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

KINDS = ("people", "evaluators", "supporters")


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_recorded: int = 0
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


def send_csv(
    path: Path,
    endpoint: str,
    *,
    token: str,
    batch_size: int = 1000,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """Sends the file in batches to a service's import endpoint; the service validates each
    row and stores the good ones."""
    return send_rows(_batches(path, batch_size), endpoint, token=token, progress=progress)


def send_rows(
    batches: Iterable[list[dict[str, object]]],
    endpoint: str,
    *,
    token: str,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """Each batch of rows (``line``, ``fields``) to a service's import endpoint. A batch
    refused as a whole (authorisation, a broken request) stops the import."""
    report = ImportReport()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=120) as client:
        for batch in batches:
            response = client.post(endpoint, json={"rows": batch})
            if response.status_code >= 400:
                raise RuntimeError(f"{endpoint} refused the batch ({response.status_code}): {response.text}")
            answer = response.json()
            report.rows += len(batch)
            report.imported += int(answer["imported"])
            report.already_recorded += int(answer.get("already_recorded", 0))
            report.rejected += [(int(r["line"]), str(r["problem"])) for r in answer["rejected"]]
            progress(len(batch))
    report.rejected.sort()
    return report


def import_directory(
    path: Path,
    kind: str,
    *,
    matching_url: str,
    token: str,
    batch_size: int = 1000,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """The authority's directory (people, evaluators, supporters) into matching."""
    if kind not in KINDS:
        raise ValueError(f"cannot import {kind!r}: choose one of {', '.join(KINDS)}")
    endpoint = f"{matching_url.rstrip('/')}/directory/import/{kind}"
    return send_csv(path, endpoint, token=token, batch_size=batch_size, progress=progress)


def import_completions(
    path: Path,
    *,
    training_url: str,
    token: str,
    batch_size: int = 1000,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """Training records (staff_ref, course, completed_on or completed_at) into training."""
    endpoint = f"{training_url.rstrip('/')}/completions/import"
    return send_csv(path, endpoint, token=token, batch_size=batch_size, progress=progress)


def import_fhir(
    path: Path,
    *,
    matching_url: str,
    token: str,
    declare_sites: bool = False,
    staff_system: str | None = None,
    site_system: str | None = None,
    batch_size: int = 1000,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """A FHIR R4 Bundle (Practitioner, PractitionerRole, Organization, Location) into
    matching's directory: entries the bundle itself cannot give are reported by number, the
    people are sent as import rows and matching reports the rows it refuses the same way.
    With ``declare_sites`` the bundle's sites are declared first, each with its region (an
    authority that declares its sites by hand keeps their settings without it)."""
    import json

    from pss_cli import fhir

    bundle = json.loads(path.read_text(encoding="utf-8-sig"))
    directory = fhir.read_bundle(
        bundle, staff_system=staff_system or fhir.STAFF_SYSTEM, site_system=site_system or fhir.SITE_SYSTEM
    )
    base = matching_url.rstrip("/")
    if declare_sites:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for site_id, region in sorted(directory.sites.items()):
                answer = client.put(f"{base}/directory/sites/{site_id}", json={"region": region})
                if answer.status_code >= 400:
                    raise RuntimeError(
                        f"matching refused site {site_id} ({answer.status_code}): {answer.text}"
                    )
    people = directory.people
    batches = (people[i : i + batch_size] for i in range(0, len(people), batch_size))
    report = send_rows(batches, f"{base}/directory/import/people", token=token, progress=progress)
    report.rows = directory.entries
    report.rejected = sorted(report.rejected + directory.rejected)
    return report
