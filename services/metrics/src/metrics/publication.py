"""The published tables of a quarter, laid out as cells and the sums that tie them
(months to the quarter, dimensions to the measure's total, sites to the authority), and
what of them may be published (metrics.disclosure): pure, no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from metrics.disclosure import Sum, protect

AUTHORITY = "authority"  # the roll-up of every site
TOTAL = "total"

# breakdowns of one population share its total: referrals by reason, path and profession
# all add up to the referrals of the site and month, published once
SHARED_TOTAL: Mapping[str, str] = {
    "referrals_by_reason": "referrals",
    "referrals_by_path": "referrals",
    "referrals_by_profession": "referrals",
    "referrals_by_tier": "referrals",
}

Cell = tuple[str, str, str, str]  # scope (a site or the authority), measure, dimension, period


def quarter_of(month: str) -> str:
    year, m = month.split("-")
    return f"{year}-Q{(int(m) - 1) // 3 + 1}"


def months_of(quarter: str) -> list[str]:
    year, q = quarter.split("-Q")
    first = (int(q) - 1) * 3 + 1
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


@dataclass
class Publication:
    values: dict[Cell, int]
    withheld: set[Cell] = field(default_factory=set)

    def value(self, cell: Cell) -> int | None:
        return None if cell in self.withheld else self.values.get(cell, 0)

    def cells(self, scope: str | None = None, period: str | None = None) -> list[tuple[Cell, int | None]]:
        return [
            (c, self.value(c))
            for c in sorted(self.values)
            if (scope is None or c[0] == scope) and (period is None or c[3] == period)
        ]


def layout(
    counts: Mapping[tuple[str, str, str, str], int], quarter: str
) -> tuple[dict[Cell, int], list[Sum[Cell]]]:
    """Every published cell of the quarter and every sum between them. ``counts`` are the
    stored aggregates: (site, measure, dimension, month) -> count; a measure's own total
    is the sum of its dimensions, or, for a population several breakdowns share, counted
    under the dimension ``total``."""
    months = months_of(quarter)
    periods = [*months, quarter]
    in_quarter = {key: n for key, n in counts.items() if key[3] in months}
    sites = sorted({site for site, *_ in in_quarter})
    dimensions: dict[str, set[str]] = defaultdict(set)  # measure -> its dimensions, total aside
    totals = set()  # measures with a published total
    for _site, measure, dimension, _month in in_quarter:
        totals.add(SHARED_TOTAL.get(measure, measure))
        if dimension != TOTAL:
            dimensions[measure].add(dimension)
    values: dict[Cell, int] = {}
    for scope in (*sites, AUTHORITY):  # every cell of the grid exists: a zero is published as zero
        for period in periods:
            for measure, dims in dimensions.items():
                for d in dims:
                    values[(scope, measure, d, period)] = 0
            for measure in totals:
                values[(scope, measure, TOTAL, period)] = 0
    for (site, measure, dimension, month), n in in_quarter.items():
        own_total = SHARED_TOTAL.get(measure, measure) == measure
        targets = [dimension] if dimension == TOTAL else [dimension, TOTAL] if own_total else [dimension]
        for scope in (site, AUTHORITY):
            for period in (month, quarter):
                for d in targets:
                    values[(scope, measure, d, period)] += n
    sums: list[Sum[Cell]] = []
    for scope in (*sites, AUTHORITY):
        for measure, dims in sorted(dimensions.items()):
            ordered = sorted(dims)
            total = (scope, SHARED_TOTAL.get(measure, measure), TOTAL)
            for period in periods:  # the dimensions of a measure add up to its total
                sums.append(Sum((*total, period), tuple((scope, measure, d, period) for d in ordered)))
        cells_by_measure = [(m, d) for m, dims in dimensions.items() for d in dims] + [
            (m, TOTAL) for m in totals
        ]
        for measure, d in sorted(cells_by_measure):  # the months add up to the quarter
            sums.append(Sum((scope, measure, d, quarter), tuple((scope, measure, d, m) for m in months)))
    every = [(m, d) for m, dims in dimensions.items() for d in dims] + [(m, TOTAL) for m in totals]
    for measure, d in sorted(every):  # the sites add up to the authority
        for period in periods:
            sums.append(
                Sum((AUTHORITY, measure, d, period), tuple((site, measure, d, period) for site in sites))
            )
    return values, sums


def publish(
    counts: Mapping[tuple[str, str, str, str], int],
    quarter: str,
    k: int | Callable[[Cell], int],
    *,
    frozen: Iterable[Cell] = (),
) -> Publication:
    values, sums = layout(counts, quarter)
    return Publication(values, protect(values, sums, k, frozen=frozen))
