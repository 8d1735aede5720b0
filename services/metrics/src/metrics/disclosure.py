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
   further partner, until nothing is pinned.

Cells published before (a closed month, say) are ``frozen``: they stay published and
protection is found among the others; cells withheld before are ``kept`` withheld. So a
later table (the quarter) never undoes an earlier one (its months).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

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
) -> set[C]:
    """The cells to withhold."""
    threshold: Callable[[C], int] = k if callable(k) else (lambda _cell: k)

    def small(cell: C) -> bool:
        return 0 < values.get(cell, 0) < threshold(cell)

    known = set(frozen)  # published, or worked out anyway: never worth withholding
    before = set(kept)
    withheld: set[C] = {c for c in values if small(c) and c not in known} | before
    touching: dict[C, list[Sum[C]]] = defaultdict(list)
    for s in sums:
        for c in s.cells:
            touching[c].append(s)

    def partner(candidates: Iterable[C]) -> C | None:
        open_ = [c for c in candidates if c not in withheld and c not in known]
        if not open_:
            return None
        # the smallest count costs the least information; zero only when nothing else is left
        return min(open_, key=lambda c: (values.get(c, 0) == 0, values.get(c, 0), repr(c)))

    while True:
        added = False
        for s in sums:
            hidden = [c for c in s.cells if c in withheld]
            if len(hidden) == 1 and (extra := partner(s.cells)) is not None:
                withheld.add(extra)
                added = True
        if added:
            continue
        pinned = recoverable(sums, withheld)
        if not pinned:
            return withheld
        # a cell withheld in an earlier publication cannot be published now, so it is
        # protected like a small one even when it was only a partner then
        given_away = sorted((c for c in pinned if small(c) or c in before), key=repr)
        if not given_away:
            # only this publication's complementary cells can be worked out: they protect
            # nothing, so they are published (that tells nothing new), and their sums get
            # other partners
            withheld -= pinned
            known |= pinned
            continue
        for cell in given_away:
            extra = partner(c for s in touching[cell] for c in s.cells) or partner(
                _reach(cell, touching, withheld)
            )
            if extra is None:
                raise CannotProtect(f"{cell!r} can be worked out and nothing beside it can be withheld")
            withheld.add(extra)


def _reach(cell: C, touching: Mapping[C, list[Sum[C]]], withheld: set[C]) -> list[C]:
    """Every cell of the sums that tie ``cell`` to other withheld cells, however far: where
    to look for a partner when the cell's own sums have none left."""
    seen, frontier, found = {cell}, [cell], []
    while frontier:
        for s in touching[frontier.pop()]:
            for c in s.cells:
                found.append(c)
                if c in withheld and c not in seen:
                    seen.add(c)
                    frontier.append(c)
    return found


def recoverable(sums: Sequence[Sum[C]], withheld: set[C]) -> set[C]:
    """The withheld cells whose exact value follows from the published sums, by any linear
    combination of them (the strongest differencing attack, bounds aside)."""
    rows: list[dict[C, int]] = []
    for s in sums:
        row: dict[C, int] = {}
        for c, coefficient in ((s.total, -1), *((p, 1) for p in s.parts)):
            if c in withheld:
                row[c] = (row.get(c, 0) + coefficient) % _PRIME
        row = {c: v for c, v in row.items() if v}
        if row:
            rows.append(row)
    pinned: set[C] = set()
    for component in _components(rows):
        pinned |= _unit_rows(component)
    return pinned


def _components(rows: list[dict[C, int]]) -> list[list[dict[C, int]]]:
    """Equations that share no unknown are solved apart: far smaller eliminations."""
    parent: dict[C, C] = {}

    def find(c: C) -> C:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for row in rows:
        first, *rest = row
        for c in rest:
            parent[find(c)] = find(first)
    groups: dict[C, list[dict[C, int]]] = defaultdict(list)
    for row in rows:
        groups[find(next(iter(row)))].append(row)
    return list(groups.values())


def _unit_rows(rows: list[dict[C, int]]) -> set[C]:
    """Reduced row echelon form over GF(p); a cell is determined exactly when one reduced
    row is that cell alone. ``holding`` indexes which basis rows hold a cell, so a new pivot
    is eliminated from exactly those rows (scanning the basis made large tables quadratic)."""
    basis: dict[C, dict[C, int]] = {}  # pivot -> row, fully reduced against the others
    holding: dict[C, set[C]] = defaultdict(set)  # cell -> pivots of the basis rows holding it

    def put(pivot: C, row: dict[C, int]) -> None:
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
        pivot = min(row, key=repr)
        inverse = pow(row[pivot], _PRIME - 2, _PRIME)
        row = {c: v * inverse % _PRIME for c, v in row.items()}
        for other_pivot in list(holding[pivot]):
            put(other_pivot, _eliminate(basis[other_pivot], row, pivot))
        put(pivot, row)
    return {pivot for pivot, row in basis.items() if len(row) == 1}


def _eliminate(row: dict[C, int], by: dict[C, int], pivot: C) -> dict[C, int]:
    factor = row[pivot]
    out = dict(row)
    for c, v in by.items():
        out[c] = (out.get(c, 0) - factor * v) % _PRIME
    return {c: v for c, v in out.items() if v}
