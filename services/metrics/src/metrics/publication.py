"""The published tables of a quarter, laid out as cells and the sums that tie them
(months to the quarter, dimensions to the measure's total, sites to the authority), and
what of them may be published (metrics.disclosure): pure, no I/O."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from metrics.aggregation import GAUGES, MAGNITUDES, RETIRED, TOTAL, quantile
from metrics.aggregation import period as month_of
from metrics.audit import Bound
from metrics.disclosure import Sum, protect

AUTHORITY = "authority"  # the roll-up of every site
REGION = "region:"  # a region's scope is this and its id: a site id holds no colon

Regions = Mapping[str, str]  # site -> its region, as the directory stood when the quarter began

# breakdowns of one population share its total: referrals by reason, path and tier all
# add up to the referrals of the site and month, published once; meetings within 12 hours
# or not add up to the first encounters (the same events, so never a total of their own:
# two cells that must be equal are one cell an attacker gets twice). By profession has
# its own: it is counted when matching first decides, which can fall in the next month
SHARED_TOTAL: Mapping[str, tuple[str, str]] = {
    "referrals_by_reason": ("referrals", TOTAL),
    "referrals_by_path": ("referrals", TOTAL),
    "referrals_by_tier": ("referrals", TOTAL),
    "met_within_12_hours": ("encounters", "first"),
}

# a statistic is published only where the counts it is over are: then it tells nothing
# they do not (a median of call backs tells on which side of 30 minutes the split lies)
STATISTIC_OVER: Mapping[str, tuple[tuple[str, str], ...]] = {
    "minutes_to_callback": tuple(("callback_within_30_minutes", d) for d in ("yes", "no", TOTAL)),
    "seconds_to_acknowledge": (("acknowledged_pages", TOTAL),),
}

# supporters by deployments in the month, and the least deployments each bucket stands
# for: they bound the deployments, the pages supporters acknowledged
BUCKET_DEPLOYMENTS: Mapping[str, int] = {"1": 1, "2": 2, "3_4": 3, "5_plus": 5}
DEPLOYMENTS: tuple[str, str] = ("acknowledged_pages", "supporter")

Cell = tuple[str, str, str, str]  # scope (a site or the authority), measure, dimension, period


def quarter_of(month: str) -> str:
    """The quarter of a month, or of a month's correction (2026-08-correction-1 is 2026-Q3's:
    it is grouped by that quarter's directory, as its month is)."""
    year, m = month.split("-")[:2]
    return f"{year}-Q{(int(m) - 1) // 3 + 1}"


# distributions are published as these statistics, each only when at least k values are behind it
STATISTICS: Mapping[str, float] = {"median": 0.5, "p90": 0.9}


def is_quarter(period: str) -> bool:
    return "-Q" in period


def last_closed_month(now: datetime, grace: timedelta) -> str:
    """A month closes ``grace`` after it ends, so that events still in flight are counted."""
    first_open = month_of(now - grace)
    year, month = map(int, first_open.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def next_month(month: str) -> str:
    year, m = map(int, month.split("-"))
    return f"{year + 1}-01" if m == 12 else f"{year}-{m + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    out = []
    while first <= last:
        out.append(first)
        first = next_month(first)
    return out


def months_of(quarter: str) -> list[str]:
    year, q = quarter.split("-Q")
    first = (int(q) - 1) * 3 + 1
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


def region_scope(region: str) -> str:
    return f"{REGION}{region}"


def grouped(regions: Regions) -> dict[str, list[str]]:
    """Region scope -> its sites, for the regions of two sites or more: a region of one
    would only repeat its site. Laid out from the directory, not from who had events, so
    a region has the same cells in every month of its quarter."""
    members: dict[str, list[str]] = defaultdict(list)
    for site, region in sorted(regions.items()):
        members[region_scope(region)].append(site)
    return {scope: sites for scope, sites in sorted(members.items()) if len(sites) > 1}


def _scopes(groups: Mapping[str, list[str]]) -> Callable[[str], tuple[str, ...]]:
    """Every scope a site's count adds into: itself, its region if grouped, the authority."""
    region_of = {site: scope for scope, sites in groups.items() for site in sites}

    def of(site: str) -> tuple[str, ...]:
        return (site, region_of[site], AUTHORITY) if site in region_of else (site, AUTHORITY)

    return of


@dataclass
class Publication:
    values: dict[Cell, int]
    withheld: set[Cell] = field(default_factory=set)
    regions: Regions = field(default_factory=dict)  # published too: the sums are no secret

    def value(self, cell: Cell) -> int | None:
        return None if cell in self.withheld else self.values.get(cell, 0)

    def cells(self, scope: str | None = None, period: str | None = None) -> list[tuple[Cell, int | None]]:
        return [
            (c, self.value(c))
            for c in sorted(self.values)
            if (scope is None or c[0] == scope) and (period is None or c[3] == period)
        ]


def layout(
    counts: Mapping[tuple[str, str, str, str], int],
    quarter: str,
    months: Sequence[str] | None = None,
    regions: Regions | None = None,
) -> tuple[dict[Cell, int], list[Sum[Cell]]]:
    """Every published cell of the quarter and every sum between them. ``counts`` are the
    stored aggregates: (site, measure, dimension, month) -> count; a measure's own total
    is the sum of its dimensions, or, for a population several breakdowns share, counted
    under the dimension ``total``. ``months``: the months closed so far; the quarter
    itself is laid out once all three are. ``regions``: sites of a region add up to it."""
    whole = months_of(quarter)
    months = list(whole if months is None else months)
    complete = months == whole
    periods = [*months, quarter] if complete else months
    in_quarter = {key: n for key, n in counts.items() if key[3] in months and key[1] not in RETIRED}
    sites = sorted({site for site, *_ in in_quarter})
    groups = grouped(regions or {})
    scopes_of = _scopes(groups)
    scopes = (*sites, *groups, AUTHORITY)
    dimensions: dict[str, set[str]] = defaultdict(set)  # measure -> its dimensions, total aside
    totals = set()  # measures with a published total
    for _site, measure, dimension, _month in in_quarter:
        shared, shared_dimension = SHARED_TOTAL.get(measure, (measure, TOTAL))
        if shared_dimension == TOTAL:
            totals.add(shared)
        else:
            dimensions[shared].add(shared_dimension)
        if dimension != TOTAL:
            dimensions[measure].add(dimension)
    values: dict[Cell, int] = {}
    for scope in scopes:  # every cell of the grid exists: a zero is published as zero
        for period in periods:
            for measure, dims in dimensions.items():
                for d in dims:
                    values[(scope, measure, d, period)] = 0
            for measure in totals:
                values[(scope, measure, TOTAL, period)] = 0
    for (site, measure, dimension, month), n in in_quarter.items():
        own_total = measure not in SHARED_TOTAL
        targets = [dimension] if dimension == TOTAL else [dimension, TOTAL] if own_total else [dimension]
        for scope in scopes_of(site):
            for period in (month, quarter) if complete else (month,):
                for d in targets:
                    values[(scope, measure, d, period)] += n
    sums: list[Sum[Cell]] = []
    for scope in scopes:
        for measure, dims in sorted(dimensions.items()):
            ordered = sorted(dims)
            total = (scope, *SHARED_TOTAL.get(measure, (measure, TOTAL)))
            for period in periods:  # the dimensions of a measure add up to its total
                sums.append(Sum((*total, period), tuple((scope, measure, d, period) for d in ordered)))
        cells_by_measure = [(m, d) for m, dims in dimensions.items() for d in dims] + [
            (m, TOTAL) for m in totals
        ]
        for measure, d in sorted(cells_by_measure) if complete else ():  # months add up to the quarter
            sums.append(Sum((scope, measure, d, quarter), tuple((scope, measure, d, m) for m in months)))
    every = [(m, d) for m, dims in dimensions.items() for d in dims] + [(m, TOTAL) for m in totals]
    present = set(sites)
    members = {AUTHORITY: sites} | {scope: [s for s in of if s in present] for scope, of in groups.items()}
    for measure, d in sorted(every):  # the sites add up to their region and to the authority
        for period in periods:
            for scope, of in members.items():
                sums.append(
                    Sum((scope, measure, d, period), tuple((site, measure, d, period) for site in of))
                )
    return values, sums


def implied(values: Mapping[Cell, int]) -> list[Bound[Cell]]:
    """What the counting rules imply beyond the sums: each bucket of supporters by
    deployments stands for at least so many deployments (the pages supporters
    acknowledged), which bounds both.

    Not modelled, on purpose: with nobody in the open bucket, the buckets also bound the
    deployments from above, which says that some supporter was deployed whenever
    deployments were. That follows from what a deployment is, tells nothing about anyone,
    and no suppression can hide it short of hiding the deployments themselves."""
    out = []
    for scope, measure, dimension, period in values:
        if measure != "supporters_by_deployments" or dimension != TOTAL:
            continue
        deployments = (scope, *DEPLOYMENTS, period)
        buckets = [(scope, measure, b, period) for b in BUCKET_DEPLOYMENTS]
        if deployments in values and any(c in values for c in buckets):
            least = tuple((c, BUCKET_DEPLOYMENTS[c[2]]) for c in buckets if c in values)
            out.append(Bound((*least, (deployments, -1))))
    return out


def publish(
    counts: Mapping[tuple[str, str, str, str], int],
    quarter: str,
    k: int | Callable[[Cell], int],
    *,
    months: Sequence[str] | None = None,
    frozen: Iterable[Cell] = (),
    kept: Iterable[Cell] = (),
    regions: Regions | None = None,
    audit: bool = True,
) -> Publication:
    values, sums = layout(counts, quarter, months, regions)
    withheld = protect(values, sums, k, frozen=frozen, kept=kept, bounds=implied(values), audit=audit)
    return Publication(values, withheld, dict(regions or {}))


def publish_month(
    counts: Mapping[tuple[str, str, str, str], int],
    month: str,
    k: int | Callable[[Cell], int],
    *,
    earlier: Mapping[Cell, bool] | None = None,
    regions: Regions | None = None,
    audit: bool = True,
) -> Publication:
    """The cells of a month that just closed, and of its quarter when it is the quarter's
    last. ``counts`` hold the earlier months of the quarter as they were when they closed;
    ``earlier`` says which of their cells were withheld then. Those stay as they were:
    published ones frozen, withheld ones kept, so nothing published later undoes them."""
    quarter = quarter_of(month)
    months = months_of(quarter)
    months = months[: months.index(month) + 1]
    values, sums = layout(
        {c: n for c, n in counts.items() if c[1] not in MAGNITUDES}, quarter, months, regions
    )
    before = {c for c in values if c[3] != month and c[3] != quarter}
    kept = {c for c in before if (earlier or {}).get(c, False)}
    withheld = protect(values, sums, k, frozen=before - kept, kept=kept, bounds=implied(values), audit=audit)
    new = {c: v for c, v in values.items() if c not in before}
    groups = grouped(regions or {})
    magnitudes = _magnitudes(counts, month, quarter if months == months_of(quarter) else None, groups)
    for cell, n in magnitudes.items():
        # a sum is withheld exactly where the count of what it adds up is: the sums between
        # them are the same, so the count's protection is the sum's
        counted = (cell[0], MAGNITUDES[cell[1]], TOTAL, cell[3])
        new[cell] = n
        if counted in withheld or counted not in values:
            withheld.add(cell)
    return Publication(new, withheld & set(new), dict(regions or {}))


# a month's late events are published as a correction of their own, counts only: a gauge, a
# sum of minutes or a statistic of a handful of late events would tell about those events;
# supporters by deployments move between buckets (a late page takes one away from a bucket)
UNCORRECTED = frozenset({*GAUGES, *RETIRED, *MAGNITUDES, "supporters_by_deployments"})


def correction_period(month: str, number: int) -> str:
    """How the n-th correction of a month is named: 2026-08-correction-1."""
    return f"{month}-correction-{number}"


def late(
    live: Mapping[tuple[str, str, str], int], counted: Mapping[tuple[str, str, str], int]
) -> dict[tuple[str, str, str], int]:
    """What arrived for a month since it was published and corrected: (site, measure,
    dimension) -> how many more, for the measures a correction publishes."""
    out = {}
    for key, n in live.items():
        more = n - counted.get(key, 0)
        if key[1] not in UNCORRECTED and more > 0:
            out[key] = more
    return out


def publish_correction(
    more: Mapping[tuple[str, str, str], int],
    month: str,
    number: int,
    k: int | Callable[[Cell], int],
    *,
    regions: Regions | None = None,
    audit: bool = True,
) -> Publication:
    """The late events of a published month, as their own table: the month as published
    never changes, and the correction adds to it. It is protected as any month is: its
    cells are late events only, and nothing published ties them to the month's own
    withheld cells (the quarter stays as the months closed), so an attacker who holds both
    solves two systems with no unknown in common."""
    label = correction_period(month, number)
    counts = {(site, measure, d, label): n for (site, measure, d), n in more.items()}
    values, sums = layout(counts, quarter_of(month), [label], regions)
    withheld = protect(values, sums, k, audit=audit)
    return Publication(values, withheld, dict(regions or {}))


def _magnitudes(
    counts: Mapping[Cell, int], month: str, quarter: str | None, groups: Mapping[str, list[str]]
) -> dict[Cell, int]:
    """Each magnitude of the month, and of the quarter when ``quarter`` (it is complete)."""
    periods = {month: [month]} | ({quarter: months_of(quarter)} if quarter else {})
    scopes_of = _scopes(groups)
    out: Counter[Cell] = Counter()
    for (site, measure, _d, period), n in counts.items():
        for published, months in periods.items():
            if measure in MAGNITUDES and period in months:
                for scope in scopes_of(site):
                    out[(scope, measure, TOTAL, published)] += n
    return dict(out)


Published = dict[Cell, tuple[int, bool]]  # cell -> (value, withheld)


def statistics(
    distributions: Mapping[tuple[str, str, int], int],
    period: str,
    k: int | Callable[[Cell], int],
    regions: Regions | None = None,
    *,
    shown: Callable[[Cell], bool] = lambda _cell: True,
) -> Published:
    """Median and 90th percentile of each distribution, per site, region and for the
    authority. ``distributions``: (site, measure, value) -> how many times it was seen. A
    statistic of fewer than k values is withheld: the 90th percentile of three is one
    person's; so is one whose counts (STATISTIC_OVER) are not all ``shown``."""
    threshold: Callable[[Cell], int] = k if callable(k) else (lambda _cell: k)
    scopes_of = _scopes(grouped(regions or {}))
    by_scope: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for (site, measure, value), n in distributions.items():
        for scope in scopes_of(site):
            by_scope[(scope, measure)][value] += n
    out: Published = {}
    for (scope, measure), counts in by_scope.items():
        hidden = not all(shown((scope, m, d, period)) for m, d in STATISTIC_OVER.get(measure, ()))
        for name, q in STATISTICS.items():
            cell = (scope, measure, name, period)
            out[cell] = (quantile(counts, q) or 0, hidden or sum(counts.values()) < threshold(cell))
    return out


def gauges(
    changes: Mapping[tuple[str, str], int],
    period: str,
    k: int | Callable[[Cell], int],
    regions: Regions | None = None,
) -> Published:
    """Levels at the end of ``period`` from every change up to it: (site, change measure)
    -> sum. Below k is withheld like any count, and the sites add up to their region and
    to the authority."""
    groups = grouped(regions or {})
    scopes_of = _scopes(groups)
    values: Counter[Cell] = Counter()
    for (site, measure), n in changes.items():
        for scope in scopes_of(site):
            values[(scope, GAUGES[measure], TOTAL, period)] += n
    sites = {site for site, _ in changes}
    members = {AUTHORITY: sites} | {scope: set(of) for scope, of in groups.items()}
    sums = [
        Sum(total, tuple(c for c in values if c[0] in members[total[0]] and c[1] == total[1]))
        for total in values
        if total[0] in members
    ]
    withheld = protect(values, sums, k)
    return {c: (n, c in withheld) for c, n in sorted(values.items())}
