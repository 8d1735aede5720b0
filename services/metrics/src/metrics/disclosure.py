"""Which published counts must be withheld so that none below k can be read or worked out
(DOMAIN.md, "Evaluation"; issue 6): pure, no I/O.

Published tables are cells tied by sums: the dimensions of a measure add up to its total,
the months add up to the quarter, the sites add up to the authority. Withholding a small
cell is not enough when the sums are published: the one cell missing from a sum is the
total minus the rest. So:

1. **primary**: every cell with 0 < count < k is withheld (a zero points at nobody);
2. **complementary**: every sum with exactly one withheld cell gets a second one, the
   smallest non-zero cell left in it;
3. **verified**: what any linear combination of all published sums can pin down is
   computed exactly (elimination over a prime field), and every cell it pins gets a
   further partner, until nothing is pinned;
4. **audited**: with non-negativity and the bounds of the counting rules, an attacker's
   linear programs narrow cells that no equation pins (metrics.audit): a small cell told
   from zero or narrowed below k values gets a partner with room, until none is.

Cells published before (a closed month, say) are ``frozen``: they stay published and
protection is found among the others; cells withheld before are ``kept`` withheld. So a
later table (the quarter) never undoes an earlier one (its months).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from metrics.audit import Bound, Memory, equations_of, weak

C = TypeVar("C", bound=Hashable)  # a cell: anything that names one published count
_PRIME = 2_147_483_647  # a field large enough that ranks over it equal ranks over the rationals here


@dataclass(frozen=True)
class Sum(Generic[C]):
    """``total`` = the sum of ``parts``, and both sides are published cells."""

    total: C
    parts: tuple[C, ...]

    @property
    def cells(self) -> tuple[C, ...]:
        return (self.total, *self.parts)


class CannotProtect(RuntimeError):
    """No cell is left to withhold beside one that would otherwise be worked out."""


def protect(
    values: Mapping[C, int],
    sums: Sequence[Sum[C]],
    k: int | Callable[[C], int],
    *,
    frozen: Iterable[C] = (),
    kept: Iterable[C] = (),
    bounds: Sequence[Bound[C]] = (),
    audit: bool = True,
) -> set[C]:
    """The cells to withhold. ``bounds``: what the counting rules imply beyond the sums.
    ``audit=False`` stops after the exact check over the sums (what this engine did before
    the interval audit; kept to show in the tests what that let an attacker narrow)."""
    threshold: Callable[[C], int] = k if callable(k) else (lambda _cell: k)
    # cells become small integers: a quarter of 300 sites is some 20,000 cells and the
    # checks below touch them millions of times
    cells = sorted(
        {*values, *(c for s in sums for c in s.cells), *(c for b in bounds for c in b.cells)}, key=repr
    )
    index = {c: i for i, c in enumerate(cells)}
    count = [values.get(c, 0) for c in cells]
    small = [0 < n < threshold(c) for c, n in zip(cells, count, strict=True)]
    # the smallest count costs the least information; zero only when nothing else is left
    order = sorted(range(len(cells)), key=lambda i: (count[i] == 0, count[i], i))
    preference = [0] * len(cells)
    for rank, i in enumerate(order):
        preference[i] = rank
    rows = [tuple(index[c] for c in s.cells) for s in sums]
    touching: list[list[int]] = [[] for _ in cells]
    for r, row in enumerate(rows):
        for i in row:
            touching[i].append(r)
    bound_rows = [tuple(index[c] for c in b.cells) for b in bounds]
    bounded: list[list[int]] = [[] for _ in cells]
    for r, row in enumerate(bound_rows):
        for i in row:
            bounded[i].append(r)

    known = {index[c] for c in frozen}  # published before: never withheld
    before = {index[c] for c in kept}
    withheld: set[int] = set()
    hidden = [0] * len(rows)  # withheld cells per sum
    alone: set[int] = set()  # sums with exactly one withheld cell

    def withhold(i: int) -> None:
        withheld.add(i)
        for r in touching[i]:
            hidden[r] += 1
            (alone.add if hidden[r] == 1 else alone.discard)(r)

    def release(i: int) -> None:
        withheld.discard(i)
        for r in touching[i]:
            hidden[r] -= 1
            (alone.add if hidden[r] == 1 else alone.discard)(r)

    def free(i: int) -> bool:
        return i not in withheld and i not in known

    def partner(candidates: Iterable[int]) -> int | None:
        return min((i for i in candidates if free(i)), key=preference.__getitem__, default=None)

    def partners(candidates: Iterable[int], n: int) -> list[int]:
        return sorted({i for i in candidates if free(i)}, key=preference.__getitem__)[:n]

    # rounds each cell was found given away: a cell found again gets that many partners at
    # once, since every round checks the whole table again and rounds cost more than a partner
    strikes: dict[int, int] = defaultdict(int)

    def line_rule() -> None:  # no sum with a single withheld cell
        while alone:
            r = alone.pop()
            if (extra := partner(rows[r])) is not None:
                withhold(extra)

    for i in sorted(before | {i for i, is_small in enumerate(small) if is_small and i not in known}):
        withhold(i)
    while True:
        line_rule()
        pinned = _pinned(rows, withheld)
        if not pinned:
            break
        # a cell withheld in an earlier publication cannot be published now, so it is
        # protected like a small one even when it was only a partner then
        given_away = sorted(i for i in pinned if small[i] or i in before)
        if not given_away:
            # only this publication's complementary cells can be worked out: they protect
            # nothing and are published (that tells nothing new). With the audit to come,
            # at its end: withheld till then, they still count for the room the others need
            if audit:
                break
            for i in pinned:
                release(i)
            continue
        progressed = False
        for i in given_away:
            strikes[i] += 1
            for extra in partners((j for r in touching[i] for j in rows[r]), strikes[i]) or partners(
                _nearest(i, rows, touching, withheld, known), 1
            ):
                withhold(extra)
                progressed = True
        if not progressed:
            if audit:
                break  # the audit looks further, through the bounds too
            raise CannotProtect(
                f"{cells[given_away[0]]!r} can be worked out and nothing beside it can be withheld"
            )
    if not audit:
        return {cells[i] for i in withheld}

    # the interval audit: sums, bounds and non-negativity together, as an attacker uses them
    equations = equations_of(sums)

    def protected_as_small(cell: C) -> int | None:
        i = index[cell]
        # a partner withheld before (not small) must not be pinned: it is not published now
        return threshold(cell) if small[i] else None

    def roomy(i: int, need: int) -> Callable[[int], tuple[int, ...]]:
        # a partner must be able to take the cell's place: the smallest with room enough,
        # else the largest there is
        return lambda j: (count[j] == 0, count[j] < need, count[j] if count[j] >= need else -count[j], j)

    # sums and bounds alike tie a cell to the cells that can give it room
    every_row = [*rows, *bound_rows]
    ties = [[*touching[i], *(len(rows) + r for r in bounded[i])] for i in range(len(cells))]
    strikes.clear()  # the audit's rounds count afresh
    widest: set[C] = set()  # narrow by what they count, with nothing left to withhold
    learned: Memory[C] = Memory()  # cells settled and components solved in earlier rounds
    while found := {
        c: why
        for c, why in weak(
            values, equations, bounds, {cells[i] for i in withheld}, protected_as_small, learned
        ).items()
        if c not in widest
    }:
        exposed = [c for c in found if small[index[c]] or index[c] in before]
        if not exposed:
            # what is left are partners an attacker works out anyway: published, they tell
            # nothing more (the same values stay feasible), and the audit runs again to see
            for cell in found:
                release(index[cell])
            learned.forget()
            continue
        stuck = []
        for cell in exposed:
            i = index[cell]
            near = [j for r in ties[i] for j in every_row[r]]
            open_ = [j for j in near if free(j)] or [
                j for j in _nearest(i, every_row, ties, withheld, known) if free(j)
            ]
            if open_:
                strikes[i] += 1
                for j in sorted(set(open_), key=roomy(i, threshold(cell)))[: strikes[i]]:
                    withhold(j)
            else:
                stuck.append(cell)  # another's partner this round may be its room too
        if len(stuck) == len(exposed):
            for cell in stuck:
                if found[cell] != "narrow":
                    raise CannotProtect(f"{cell!r} can be narrowed and nothing beside it can be withheld")
                # a bound of the counting rules themselves (n supporters deployed twice
                # are 2n deployments, and those are published): as wide as it can be
                widest.add(cell)
        line_rule()
    return {cells[i] for i in withheld}


def _nearest(
    cell: int,
    rows: Sequence[tuple[int, ...]],
    touching: Sequence[list[int]],
    withheld: set[int],
    known: set[int],
) -> list[int]:
    """The open cells nearest to ``cell`` through sums that tie it to other withheld cells:
    where to look for a partner when the cell's own sums have none left. Nearest first,
    because a partner far away may leave the cell pinned."""
    seen, frontier = {cell}, [cell]
    while frontier:
        found, further = [], []
        for c in frontier:
            for r in touching[c]:
                for j in rows[r]:
                    if j in withheld:
                        if j not in seen:
                            seen.add(j)
                            further.append(j)
                    elif j not in known:
                        found.append(j)
        if found:
            return found
        frontier = further
    return []


def recoverable(sums: Sequence[Sum[C]], withheld: set[C]) -> set[C]:
    """The withheld cells whose exact value follows from the published sums, by any linear
    combination of them (the strongest differencing attack, bounds aside)."""
    cells = sorted({c for s in sums for c in s.cells if c in withheld}, key=repr)
    index = {c: i for i, c in enumerate(cells)}
    rows = [tuple(index.get(c, -1) for c in s.cells) for s in sums]
    return {cells[i] for i in _pinned(rows, set(index.values()))}


def _pinned(rows: Sequence[tuple[int, ...]], withheld: set[int]) -> set[int]:
    """``rows``: each sum as its total then its parts. Every equation keeps its withheld
    cells only (the rest are published constants); cells are solved apart by component."""
    equations: list[dict[int, int]] = []
    for total, *parts in rows:
        equation: dict[int, int] = {}
        for i, coefficient in ((total, -1), *((p, 1) for p in parts)):
            if i in withheld:
                equation[i] = (equation.get(i, 0) + coefficient) % _PRIME
        equation = {i: v for i, v in equation.items() if v}
        if equation:
            equations.append(equation)
    pinned: set[int] = set()
    for component in _components(equations):
        pinned |= _unit_rows(component)
    return pinned


def _components(rows: list[dict[int, int]]) -> list[list[dict[int, int]]]:
    """Equations that share no unknown are solved apart: far smaller eliminations."""
    parent: dict[int, int] = {}

    def find(c: int) -> int:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for row in rows:
        first, *rest = row
        for c in rest:
            parent[find(c)] = find(first)
    groups: dict[int, list[dict[int, int]]] = defaultdict(list)
    for row in rows:
        groups[find(next(iter(row)))].append(row)
    return list(groups.values())


def _unit_rows(rows: list[dict[int, int]]) -> set[int]:
    """Reduced row echelon form over GF(p); a cell is determined exactly when one reduced
    row is that cell alone. ``holding`` indexes which basis rows hold a cell, so a new pivot
    is eliminated from exactly those rows (scanning the basis made large tables quadratic).
    The pivot is the row's cell in the fewest equations, which keeps fill-in low."""
    occurrences: dict[int, int] = defaultdict(int)
    for row in rows:
        for c in row:
            occurrences[c] += 1
    # sparse rows first: they reduce the dense ones (an authority's sum over its sites) cheaply
    rows = sorted(rows, key=len)
    basis: dict[int, dict[int, int]] = {}  # pivot -> row, fully reduced against the others
    holding: dict[int, set[int]] = defaultdict(set)  # cell -> pivots of the basis rows holding it

    def put(pivot: int, row: dict[int, int]) -> None:
        for c in basis.get(pivot, ()):
            holding[c].discard(pivot)
        basis[pivot] = row
        for c in row:
            holding[c].add(pivot)

    for original in rows:
        row = dict(original)
        # basis rows hold no other pivot, so one pass over the pivots in the row suffices
        for pivot in [c for c in row if c in basis]:
            if pivot in row:
                row = _eliminate(row, basis[pivot], pivot)
        if not row:
            continue
        pivot = min(row, key=lambda c: (occurrences[c], c))
        inverse = pow(row[pivot], _PRIME - 2, _PRIME)
        row = {c: v * inverse % _PRIME for c, v in row.items()}
        for other_pivot in list(holding[pivot]):
            put(other_pivot, _eliminate(basis[other_pivot], row, pivot))
        put(pivot, row)
    return {pivot for pivot, row in basis.items() if len(row) == 1}


def _eliminate(row: dict[int, int], by: dict[int, int], pivot: int) -> dict[int, int]:
    factor = row[pivot]
    out = dict(row)
    for c, v in by.items():
        if value := (out.get(c, 0) - factor * v) % _PRIME:
            out[c] = value
        else:
            out.pop(c, None)
    return out
