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

Every point found is a point the attacker cannot rule out, and each cell keeps the lowest
and highest value it took at one; a cell whose two are far enough apart is settled. In a
protection's rounds the withheld cells only grow, and a point stays possible when a cell is
added (at its true figure), so a cell settled stays settled (``Memory``). Then, for the
cells still undecided: two programs over the whole table (the small cells down together,
every cell up towards what it must reach); then each cell's own, first over the rows near
it alone (every other cell free: a relaxation, so what it gives away the table does too),
then over the cells tied to it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, TypeVar

import numpy as np
from scipy.sparse import coo_matrix

from metrics.programs import EPS, Program

C = TypeVar("C", bound=Hashable)
_NEAR = 200  # cells whose rows make a cell's first, local program


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
class Memory(Generic[C]):
    """What one protection's audit learned in its earlier rounds, while the withheld cells
    only grew. ``components``: what each component was found to give away, by its cells,
    rows and needs (the answer depends on nothing else). ``least``/``most``: the lowest and
    highest value each cell took at a point the attacker cannot rule out. Withholding one
    more cell keeps every such point possible (the new unknown at its true value), so a
    cell settled once stays settled; publishing a cell again does not, hence ``forget``."""

    components: dict[Hashable, dict[C, str]] = field(default_factory=dict)
    least: dict[C, float] = field(default_factory=dict)
    most: dict[C, float] = field(default_factory=dict)

    def forget(self) -> None:
        self.least.clear()
        self.most.clear()


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

    @cached_property
    def rows_of(self) -> list[list[tuple[bool, int]]]:
        """For each unknown, the rows it is in: (an equation?, which)."""
        rows: list[list[tuple[bool, int]]] = [[] for _ in self.cells]
        for is_eq, table in ((True, self.eq), (False, self.ub)):
            for r, (coefficients, _) in enumerate(table):
                for c in coefficients:
                    rows[c].append((is_eq, r))
        return rows

    def row(self, is_eq: bool, r: int) -> tuple[dict[int, int], int]:
        return (self.eq if is_eq else self.ub)[r]

    def near(self, i: int, limit: int) -> list[int]:
        """i, then the unknowns sharing a row with it, then theirs, up to ``limit``."""
        seen, order, frontier = {i}, [i], [i]
        for _ in range(2):
            further = []
            for c in frontier:
                for is_eq, r in self.rows_of[c]:
                    for other in self.row(is_eq, r)[0]:
                        if other not in seen:
                            if len(order) == limit:
                                return order
                            seen.add(other)
                            order.append(other)
                            further.append(other)
            frontier = further
        return order

    def relaxed(self, i: int, limit: int) -> tuple[Program, int]:
        """The rows near ``i`` alone, over every cell in them, and ``i``'s column in it:
        fewer constraints than the table's, so every interval it gives is at least as wide
        as the attacker's."""
        rows = sorted({row for c in self.near(i, limit) for row in self.rows_of[c]})
        columns = sorted({c for is_eq, r in rows for c in self.row(is_eq, r)[0]})
        a_eq, b_eq = self.matrices([self.row(True, r) for is_eq, r in rows if is_eq], columns)
        a_ub, b_ub = self.matrices([self.row(False, r) for is_eq, r in rows if not is_eq], columns)
        return Program(a_eq, b_eq, a_ub, b_ub, len(columns)), columns.index(i)


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
    memo: Memory[C] | None = None,
) -> dict[C, str]:
    """The withheld cells an attacker narrows too far, each with why: ``pinned``, ``not
    zero`` or ``narrow``. ``small(cell)``: k for a cell to protect as small, else None.
    ``memo``, kept by the caller across rounds (``Memory``): a cell settled or a component
    solved in an earlier round is not solved again."""
    if not withheld:
        return {}
    memory: Memory[C] = memo if memo is not None else Memory()
    cells = sorted(withheld, key=repr)
    seen = _Seen(
        [small(c) for c in cells],
        # the true figures are always a point the attacker cannot rule out
        np.array([memory.least.get(c, values.get(c, 0)) for c in cells], dtype=float),
        np.array([memory.most.get(c, values.get(c, 0)) for c in cells], dtype=float),
    )
    try:
        undecided = [i for i in range(len(cells)) if not seen.settled(i)]
        if not undecided:
            return {}
        system = _system(values, equations, bounds, withheld)
        return _by_component(system, seen, _aimed(system, seen, undecided), memory)
    finally:
        memory.least.update(zip(cells, seen.low.tolist(), strict=True))
        memory.most.update(zip(cells, seen.high.tolist(), strict=True))


class _Seen:
    """Each withheld cell's need, and the lowest and highest value it took at a point the
    attacker cannot rule out: a cell whose two are far enough apart is settled."""

    def __init__(self, need: list[int | None], low: np.ndarray, high: np.ndarray) -> None:
        self.need, self.low, self.high = need, low, high
        self.sensitive = np.array([k is not None for k in need])
        self.cap = np.array(
            [(k - 1) if k is not None else math.ceil(low[i] - EPS) + 1 for i, k in enumerate(need)],
            dtype=float,
        )

    def settled(self, i: int) -> bool:
        if self.sensitive[i]:
            return bool(self.low[i] <= EPS and self.high[i] >= self.cap[i] - EPS)
        return bool(self.high[i] >= math.ceil(self.low[i] - EPS) + 1 - EPS)

    def point(self, members: np.ndarray, x: np.ndarray) -> None:
        self.low[members] = np.minimum(self.low[members], x)
        self.high[members] = np.maximum(self.high[members], x)

    def aim(self, i: int) -> float | str:
        return float(self.cap[i]) if self.sensitive[i] else "next"

    def enough(self, i: int) -> float | None:
        return EPS if self.sensitive[i] else None  # a small cell told from zero: no need to go on

    def verdict(self, i: int, lo: float, hi: float) -> str | None:
        return _verdict(bool(self.sensitive[i]), float(self.cap[i]), lo, hi)


def _aimed(system: _System, seen: _Seen, undecided: list[int]) -> list[int]:
    """A few programs over the whole table, each aimed at the cells still undecided: the
    small ones down together, every one up towards what it must reach (y_i <= x_i,
    y_i <= cap_i, maximise Σ y). Every solution is a point the attacker cannot rule out;
    far cheaper than two programs a cell on a large table. The cells still undecided."""
    n = len(system.cells)
    everything = list(range(n))
    a_eq, b_eq = system.matrices(system.eq, everything)
    a_ub, b_ub = system.matrices(system.ub, everything)
    # the table's two programs, each re-solved from its last basis as its aim changes
    table = Program(a_eq, b_eq, a_ub, b_ub, n)
    towards = Program(a_eq, b_eq, a_ub, b_ub, n, capped=True)
    for _ in range(3):
        if not undecided:
            break
        down = np.zeros(n)
        down[[i for i in undecided if seen.sensitive[i] and seen.low[i] > EPS]] = 1.0
        if down.any():
            np.minimum(seen.low, table.lowest(down), out=seen.low)
        aim = np.zeros(n)
        aim[undecided] = seen.cap[undecided]
        np.maximum(seen.high, towards.highest(aim), out=seen.high)
        before = len(undecided)
        undecided = [i for i in undecided if not seen.settled(i)]
        if len(undecided) == before:
            break
    return undecided


def _by_component(system: _System, seen: _Seen, undecided: list[int], memory: Memory[C]) -> dict[C, str]:
    """Programs of each undecided cell's own, over the cells tied to it and nothing else."""
    out: dict[C, str] = {}
    for component, rows in _components(system, undecided):
        eq_rows = [system.eq[r] for r in rows["eq"]]
        ub_rows = [system.ub[r] for r in rows["ub"]]
        key = _signature(system, component, seen.need, eq_rows, ub_rows)
        if key in memory.components:
            out |= memory.components[key]
            continue
        found: dict[C, str] = {}
        where = {c: j for j, c in enumerate(component)}
        members = np.array(component)
        program = None
        for i in sorted(set(undecided) & set(component)):
            if seen.settled(i):  # a neighbour's programs already found points wide enough apart
                continue
            # first over the rows near it alone, every other cell free: a far smaller
            # program, and an attacker's at least as wide, so a cell it shows told from zero,
            # or pinned, is so (its points are not the table's: they widen nothing)
            relaxed, j = system.relaxed(i, _NEAR)
            lo, hi, _ = relaxed.interval(j, seen.aim(i), enough=seen.enough(i))
            verdict = seen.verdict(i, lo, hi)
            # narrow in the relaxation is narrow in the table once a point of the table
            # put the cell at zero: told from zero it is not
            if verdict in ("not zero", "pinned") or (verdict == "narrow" and seen.low[i] <= EPS):
                found[system.cells[i]] = verdict  # type: ignore[index]
                continue
            if program is None:
                ae, be = system.matrices(eq_rows, component)
                au, bu = system.matrices(ub_rows, component)
                program = Program(ae, be, au, bu, len(component))
            lo, hi, points = program.interval(where[i], seen.aim(i), enough=seen.enough(i))
            # every solution is a point the attacker cannot rule out, for every cell of the
            # component: it may settle the cells still to come, sparing their programs
            for x in points:
                seen.point(members, x)
            if verdict := seen.verdict(i, lo, hi):
                found[system.cells[i]] = verdict  # type: ignore[index]
        out |= found
        memory.components[key] = found
    return out


def _verdict(sensitive: bool, cap: float, lo: float, hi: float) -> str | None:
    """What a cell's least and largest value give away, if anything."""
    if sensitive:
        if lo > EPS:
            return "not zero"
        if hi < cap - EPS:
            return "pinned" if hi < 1 - EPS else "narrow"
    elif math.floor(hi + EPS) <= math.ceil(lo - EPS):
        return "pinned"
    return None


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
