"""The interval audit: how far an attacker can narrow each withheld cell (issue 24): pure.

The attacker knows every published number, every sum between them, every identity and
bound the open counting rules create, and that no count is negative. For a withheld cell
the smallest and largest values consistent with all of that are two linear programs
(τ-ARGUS and sdcTable audit this way). They are solved with SciPy's HiGHS: an exact,
maintained simplex and interior-point solver that ships as a wheel, with nothing to
license or build (OR-Tools would add a large native package for the same LPs).

What a withheld cell must keep (``weak`` names the cells that do not):
- a **small** one (0 < n < k, or withheld in an earlier publication): the attacker cannot
  tell it from zero (its least value is 0) nor narrow it below k possible values (its
  largest is k - 1 or more);
- any other: it is not pinned to one whole number (then withholding it protects nothing).

Two programs over the whole table usually settle every cell at once: one pushes the small
cells down as far as they go together, one pushes every cell up towards what it must
reach. Only the cells they leave undecided get programs of their own, over the cells tied
to them and nothing else.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from scipy.sparse import coo_matrix

from metrics.programs import EPS, Program

C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class Bound(Generic[C]):
    """Σ coefficient * cell ≤ limit: what a counting rule implies beyond the sums (the
    supporters in each deployment bucket, say, bound the deployments)."""

    terms: tuple[tuple[C, int], ...]
    limit: int = 0

    @property
    def cells(self) -> tuple[C, ...]:
        return tuple(c for c, _ in self.terms)


@dataclass(frozen=True)
class Equation(Generic[C]):
    """Σ coefficient * cell = constant: a sum, with the total on the left as -1."""

    terms: tuple[tuple[C, int], ...]
    constant: int = 0


@dataclass
class _System:
    """The withheld cells as variables 0..n-1, published ones folded into the constants."""

    cells: Sequence[Hashable]
    eq: list[tuple[dict[int, int], int]]
    ub: list[tuple[dict[int, int], int]]

    def matrices(self, rows: Sequence[tuple[dict[int, int], int]], columns: Sequence[int]) -> tuple:
        where = {c: j for j, c in enumerate(columns)}
        r, c, v = [], [], []
        for i, (coefficients, _) in enumerate(rows):
            for cell, a in coefficients.items():
                r.append(i)
                c.append(where[cell])
                v.append(a)
        matrix = coo_matrix((v, (r, c)), shape=(len(rows), len(columns))).tocsr()
        return matrix, np.array([b for _, b in rows], dtype=float)


def _system(
    values: Mapping[C, int], equations: Iterable[Equation[C]], bounds: Iterable[Bound[C]], withheld: set[C]
) -> _System:
    cells = sorted(withheld, key=repr)
    index = {c: i for i, c in enumerate(cells)}

    def fold(terms: tuple[tuple[C, int], ...], constant: int) -> tuple[dict[int, int], int]:
        row: dict[int, int] = defaultdict(int)
        for cell, a in terms:
            if cell in index:
                row[index[cell]] += a
            else:
                constant -= a * values.get(cell, 0)
        return {i: a for i, a in row.items() if a}, constant

    eq = [r for e in equations if (r := fold(e.terms, e.constant))[0]]
    ub = [r for b in bounds if (r := fold(b.terms, b.limit))[0]]
    return _System(cells, eq, ub)


def equations_of(sums: Iterable[object]) -> list[Equation]:  # type: ignore[type-arg]
    """A sum (``total``, ``parts``) as the equation parts - total = 0."""
    return [Equation(((s.total, -1), *((p, 1) for p in s.parts))) for s in sums]  # type: ignore[attr-defined]


def weak(
    values: Mapping[C, int],
    equations: Sequence[Equation[C]],
    bounds: Sequence[Bound[C]],
    withheld: set[C],
    small: Callable[[C], int | None],
    memo: dict[Hashable, dict[C, str]] | None = None,
) -> dict[C, str]:
    """The withheld cells an attacker narrows too far, each with why: ``pinned``, ``not
    zero`` or ``narrow``. ``small(cell)``: k for a cell to protect as small, else None.
    ``memo``, kept by the caller across rounds: what each component was found to give away,
    by the component's cells, rows and needs; a component no new partner touched is not
    solved again (its answer depends on nothing else)."""
    if not withheld:
        return {}
    system = _system(values, equations, bounds, withheld)
    n = len(system.cells)
    need = [small(c) for c in system.cells]  # type: ignore[arg-type]
    sensitive = np.array([k is not None for k in need])
    everything = list(range(n))
    a_eq, b_eq = system.matrices(system.eq, everything)
    a_ub, b_ub = system.matrices(system.ub, everything)
    # the table's two programs, each re-solved from its last basis as its aim changes
    table = Program(a_eq, b_eq, a_ub, b_ub, n)
    towards = Program(a_eq, b_eq, a_ub, b_ub, n, capped=True)
    # 1. the small cells as low as they go together
    low = table.lowest(sensitive.astype(float))
    # 2. every cell up towards what it must reach: y_i <= x_i, y_i <= cap_i, maximise Σ y
    cap = np.array(
        [(k - 1) if k is not None else math.ceil(low[i] - EPS) + 1 for i, k in enumerate(need)], dtype=float
    )
    high = towards.highest(cap)

    def settled(i: int) -> bool:
        if sensitive[i]:
            return bool(low[i] <= EPS and high[i] >= cap[i] - EPS)
        return bool(high[i] >= math.ceil(low[i] - EPS) + 1 - EPS)

    undecided = [i for i in range(n) if not settled(i)]
    # a few more programs over the whole table, each aimed at the cells still undecided:
    # every solution is a point the attacker cannot rule out, so each cell keeps the lowest
    # and highest value seen; far cheaper than two programs a cell on a large table
    for _ in range(3):
        if not undecided:
            break
        down = np.zeros(n)
        down[[i for i in undecided if sensitive[i] and low[i] > EPS]] = 1.0
        if down.any():
            low = np.minimum(low, table.lowest(down))
        aim = np.zeros(n)
        aim[undecided] = cap[undecided]
        high = np.maximum(high, towards.highest(aim))
        before = len(undecided)
        undecided = [i for i in undecided if not settled(i)]
        if len(undecided) == before:
            break
    out: dict[C, str] = {}
    for component, rows in _components(system, undecided):
        eq_rows = [system.eq[r] for r in rows["eq"]]
        ub_rows = [system.ub[r] for r in rows["ub"]]
        key = _signature(system, component, need, eq_rows, ub_rows) if memo is not None else None
        if memo is not None and key in memo:
            out |= memo[key]
            continue
        found: dict[C, str] = {}
        ae, be = system.matrices(eq_rows, component)
        au, bu = system.matrices(ub_rows, component)
        where = {c: j for j, c in enumerate(component)}
        members = np.array(component)
        program = Program(ae, be, au, bu, len(component))
        for i in sorted(set(undecided) & set(component)):
            if settled(i):  # a neighbour's programs already found points wide enough apart
                continue
            lo, hi, points = program.interval(where[i], cap[i] if sensitive[i] else "next")
            # every solution is a point the attacker cannot rule out, for every cell of the
            # component: it may settle the cells still to come, sparing their programs
            for x in points:
                low[members] = np.minimum(low[members], x)
                high[members] = np.maximum(high[members], x)
            if sensitive[i]:
                if lo > EPS:
                    found[system.cells[i]] = "not zero"  # type: ignore[index]
                elif hi < cap[i] - EPS:
                    found[system.cells[i]] = "pinned" if hi < 1 - EPS else "narrow"  # type: ignore[index]
            elif math.floor(hi + EPS) <= math.ceil(lo - EPS):
                found[system.cells[i]] = "pinned"  # type: ignore[index]
        out |= found
        if memo is not None:
            memo[key] = found
    return out


def _signature(
    system: _System,
    component: Sequence[int],
    need: Sequence[int | None],
    eq_rows: Sequence[tuple[dict[int, int], int]],
    ub_rows: Sequence[tuple[dict[int, int], int]],
) -> Hashable:
    """A component by what decides its answer, in the cells' own names (indices change
    from round to round): its cells with their needs, and its rows."""

    def named(rows: Sequence[tuple[dict[int, int], int]]) -> frozenset[Hashable]:
        return frozenset(
            (frozenset((system.cells[c], a) for c, a in coefficients.items()), b) for coefficients, b in rows
        )

    return (
        frozenset((system.cells[i], need[i]) for i in component),
        named(eq_rows),
        named(ub_rows),
    )


def _components(system: _System, wanted: Sequence[int]) -> list[tuple[list[int], dict[str, list[int]]]]:
    """The variables tied to each wanted one through any row, and those rows."""
    parent = list(range(len(system.cells)))

    def find(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for coefficients, _ in (*system.eq, *system.ub):
        first, *rest = coefficients
        for c in rest:
            parent[find(c)] = find(first)
    roots = {find(i) for i in wanted}
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(system.cells)):
        if (root := find(i)) in roots:
            members[root].append(i)
    rows: dict[int, dict[str, list[int]]] = defaultdict(lambda: {"eq": [], "ub": []})
    for kind, table in (("eq", system.eq), ("ub", system.ub)):
        for r, (coefficients, _) in enumerate(table):
            if (root := find(next(iter(coefficients)))) in roots:
                rows[root][kind].append(r)
    return [(members[root], rows[root]) for root in sorted(roots)]
