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
from typing import Any, Generic, TypeVar

import highspy
import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, hstack, identity, vstack

C = TypeVar("C", bound=Hashable)
_EPS = 1e-6


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
    table = _Program(a_eq, b_eq, a_ub, b_ub, n)
    towards = _Program(a_eq, b_eq, a_ub, b_ub, n, capped=True)
    # 1. the small cells as low as they go together
    low = table.lowest(sensitive.astype(float))
    # 2. every cell up towards what it must reach: y_i <= x_i, y_i <= cap_i, maximise Σ y
    cap = np.array(
        [(k - 1) if k is not None else math.ceil(low[i] - _EPS) + 1 for i, k in enumerate(need)], dtype=float
    )
    high = towards.highest(cap)

    def settled(i: int) -> bool:
        if sensitive[i]:
            return bool(low[i] <= _EPS and high[i] >= cap[i] - _EPS)
        return bool(high[i] >= math.ceil(low[i] - _EPS) + 1 - _EPS)

    undecided = [i for i in range(n) if not settled(i)]
    # a few more programs over the whole table, each aimed at the cells still undecided:
    # every solution is a point the attacker cannot rule out, so each cell keeps the lowest
    # and highest value seen; far cheaper than two programs a cell on a large table
    for _ in range(3):
        if not undecided:
            break
        down = np.zeros(n)
        down[[i for i in undecided if sensitive[i] and low[i] > _EPS]] = 1.0
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
        program = _Program(ae, be, au, bu, len(component))
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
                if lo > _EPS:
                    found[system.cells[i]] = "not zero"  # type: ignore[index]
                elif hi < cap[i] - _EPS:
                    found[system.cells[i]] = "pinned" if hi < 1 - _EPS else "narrow"  # type: ignore[index]
            elif math.floor(hi + _EPS) <= math.ceil(lo - _EPS):
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


def _linprog(objective, **problem):  # type: ignore[no-untyped-def]
    """HiGHS, asked again without presolve when presolve calls the program infeasible: the
    published figures are true, so it is feasible, and presolve was seen to call an unbounded
    maximisation infeasible."""
    result = linprog(objective, **problem)
    if result.status == 2:
        result = linprog(objective, **problem, options={"presolve": False})
    return result


def _solve(objective, a_eq, b_eq, a_ub, b_ub, n: int):  # type: ignore[no-untyped-def]
    result = _linprog(
        objective,
        A_eq=a_eq if a_eq.shape[0] else None,
        b_eq=b_eq if a_eq.shape[0] else None,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:  # the published figures are true, so the system has a solution
        raise ArithmeticError(f"the audit's program failed: {result.message}")
    return result.x


def _solve_capped(cap, a_eq, b_eq, a_ub, b_ub, n: int):  # type: ignore[no-untyped-def]
    """Maximise Σ min(x_i, cap_i): x then y, with y - x <= 0 and 0 <= y <= cap."""
    zeros = csr_matrix((a_eq.shape[0], n))
    big_eq = hstack([a_eq, zeros]).tocsr()
    big_ub = vstack(
        [hstack([a_ub, csr_matrix((a_ub.shape[0], n))]), hstack([-identity(n), identity(n)])]
    ).tocsr()
    b_big_ub = np.concatenate([b_ub, np.zeros(n)])
    result = _linprog(
        np.concatenate([np.zeros(n), -np.ones(n)]),
        A_eq=big_eq if big_eq.shape[0] else None,
        b_eq=b_eq if big_eq.shape[0] else None,
        A_ub=big_ub,
        b_ub=b_big_ub,
        bounds=[(0, None)] * n + [(0, c) for c in cap],
        method="highs",
    )
    if result.status != 0:
        raise ArithmeticError(f"the audit's program failed: {result.message}")
    return result.x[:n]


def _quiet_highs() -> Any:
    """HiGHS that prints nothing: highspy's wrapper class prints HiGHS's banner on the
    process's stdout (at the C level) when it is made, and ``pss-metrics publish`` answers in
    JSON on stdout. Its core class is the same solver without the wrapper's callbacks."""
    highs = highspy._core._Highs()
    highs.setOptionValue("output_flag", False)
    return highs


class _Program:
    """One component's constraints, loaded once into HiGHS; each cell's least and largest
    value is then a change of objective and one bound, re-solved from the last optimal basis
    (a few simplex iterations, where a fresh program through SciPy took the whole solve and
    its input checks again: most of a quarter's publication, issue 24). Any answer HiGHS does
    not give as optimal or unbounded is asked again of SciPy, fresh."""

    def __init__(self, a_eq, b_eq, a_ub, b_ub, n: int, *, capped: bool = False) -> None:  # type: ignore[no-untyped-def]
        """``capped``: the program of ``_solve_capped``, x then y with y <= x and y <= cap."""
        self.problem = (a_eq, b_eq, a_ub, b_ub, n)
        self.n = n
        self.highs = _quiet_highs()
        # a warm start needs the model as given; presolve was also seen to call a feasible
        # program infeasible (see _linprog)
        self.highs.setOptionValue("presolve", "off")
        b_ub_all = b_ub
        if capped:
            zeros_eq, zeros_ub = csr_matrix((a_eq.shape[0], n)), csr_matrix((a_ub.shape[0], n))
            a_eq = hstack([a_eq, zeros_eq]).tocsr()
            a_ub = vstack([hstack([a_ub, zeros_ub]), hstack([-identity(n), identity(n)])]).tocsr()
            b_ub_all = np.concatenate([b_ub, np.zeros(n)])
        columns = 2 * n if capped else n
        matrix = vstack([a_eq, a_ub]).tocsc() if a_ub.shape[0] else a_eq.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = columns, matrix.shape[0]
        lp.col_cost_ = np.concatenate([np.zeros(n), -np.ones(n)]) if capped else np.zeros(n)
        lp.col_lower_ = np.zeros(columns)
        lp.col_upper_ = (
            np.concatenate([np.full(n, highspy.kHighsInf), np.zeros(n)])
            if capped
            else np.full(n, highspy.kHighsInf)
        )
        lp.row_lower_ = np.concatenate([b_eq, np.full(a_ub.shape[0], -highspy.kHighsInf)])
        lp.row_upper_ = np.concatenate([b_eq, b_ub_all])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = columns, matrix.shape[0]
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data.astype(float)
        self.loaded = self.highs.passModel(lp) == highspy.HighsStatus.kOk
        self.costed: int | None = None

    def lowest(self, objective: Any) -> Any:
        """A point that minimises ``objective`` over the table (``_solve``)."""
        if self.loaded:
            self.costed = None
            self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.asarray(objective, float))
            self.highs.changeObjectiveSense(highspy.ObjSense.kMinimize)
            if self._run() == highspy.HighsModelStatus.kOptimal:
                return np.array(self.highs.getSolution().col_value)
        return _solve(objective, *self.problem)

    def highest(self, cap: Any) -> Any:
        """A point that maximises Σ min(x_i, cap_i) (``_solve_capped``; built ``capped``)."""
        if self.loaded:
            y = np.arange(self.n, 2 * self.n, dtype=np.int32)
            self.highs.changeColsBounds(self.n, y, np.zeros(self.n), np.asarray(cap, float))
            if self._run() == highspy.HighsModelStatus.kOptimal:
                return np.array(self.highs.getSolution().col_value)[: self.n]
        return _solve_capped(cap, *self.problem)

    def _aim(self, j: int, sense: Any) -> None:
        if self.costed is None:  # the costs may be a whole objective's (lowest): none but j
            self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.zeros(self.n))
        elif self.costed != j:
            self.highs.changeColCost(self.costed, 0.0)
        self.highs.changeColCost(j, 1.0)
        self.costed = j
        self.highs.changeObjectiveSense(sense)

    def _run(self) -> Any:
        self.highs.run()
        return self.highs.getModelStatus()

    def interval(self, j: int, cap: float | str | None) -> tuple[float, float, list[Any]]:
        """As ``_interval``: the least and largest value of cell ``j``, and the points found."""
        if not self.loaded:
            return _interval(j, *self.problem, cap)
        self._aim(j, highspy.ObjSense.kMinimize)
        if self._run() != highspy.HighsModelStatus.kOptimal:
            return _interval(j, *self.problem, cap)
        least = np.array(self.highs.getSolution().col_value)
        lo = float(least[j])
        top = math.ceil(lo - _EPS) + 1 if cap == "next" else cap
        self._aim(j, highspy.ObjSense.kMaximize)
        if top is not None:
            self.highs.changeColBounds(j, 0.0, float(top))  # how high is only asked up to the need
        status = self._run()
        if top is not None:
            self.highs.changeColBounds(j, 0.0, highspy.kHighsInf)
        if status == highspy.HighsModelStatus.kUnbounded and top is None:
            return lo, math.inf, [least]
        if status != highspy.HighsModelStatus.kOptimal:
            return _interval(j, *self.problem, cap)
        highest = np.array(self.highs.getSolution().col_value)
        return lo, float(highest[j]), [least, highest]


def _interval(  # type: ignore[no-untyped-def]
    j: int, a_eq, b_eq, a_ub, b_ub, n: int, cap: float | str | None
) -> tuple[float, float, list[Any]]:
    """The least and largest value of cell ``j``, and the solutions found on the way.
    ``cap``: how high to look (None: as high as it goes; "next": to the whole number after
    the least, enough to tell pinned from not)."""
    objective = np.zeros(n)
    objective[j] = 1.0
    least = _solve(objective, a_eq, b_eq, a_ub, b_ub, n)
    lo = float(least[j])
    top = math.ceil(lo - _EPS) + 1 if cap == "next" else cap
    bounds: list[tuple[float, float | str | None]] = [(0, None)] * n
    bounds[j] = (0, top)  # how high is only asked up to what the cell must reach
    result = _linprog(
        -objective,
        A_eq=a_eq if a_eq.shape[0] else None,
        b_eq=b_eq if a_eq.shape[0] else None,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        bounds=bounds,
        method="highs",
    )
    if result.status == 3:  # unbounded: nothing caps this cell
        return lo, math.inf, [least]
    if result.status != 0:
        raise ArithmeticError(f"the audit's program failed: {result.message}")
    return lo, float(result.x[j]), [least, result.x]
