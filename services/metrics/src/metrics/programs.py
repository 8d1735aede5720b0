"""The linear programs of the interval audit (audit.py): pure, no I/O.

A fresh program goes through SciPy's HiGHS (``solve``, ``solve_capped``, ``interval``);
``Program`` loads one set of constraints into HiGHS once and re-solves it from its last
optimal basis as the objective or a bound changes, with SciPy's fresh program as the
fallback for any answer that is not optimal or unbounded.
"""

from __future__ import annotations

import math
from typing import Any

import highspy
import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, hstack, identity, vstack

EPS = 1e-6


def _linprog(objective, **problem):  # type: ignore[no-untyped-def]
    """HiGHS, asked again without presolve when presolve calls the program infeasible: the
    published figures are true, so it is feasible, and presolve was seen to call an unbounded
    maximisation infeasible."""
    result = linprog(objective, **problem)
    if result.status == 2:
        result = linprog(objective, **problem, options={"presolve": False})
    return result


def solve(objective, a_eq, b_eq, a_ub, b_ub, n: int):  # type: ignore[no-untyped-def]
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


def solve_capped(cap, a_eq, b_eq, a_ub, b_ub, n: int):  # type: ignore[no-untyped-def]
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


class Program:
    """One component's constraints, loaded once into HiGHS; each cell's least and largest
    value is then a change of objective and one bound, re-solved from the last optimal basis
    (a few simplex iterations, where a fresh program through SciPy took the whole solve and
    its input checks again: most of a quarter's publication, issue 24). Any answer HiGHS does
    not give as optimal or unbounded is asked again of SciPy, fresh."""

    def __init__(self, a_eq, b_eq, a_ub, b_ub, n: int, *, capped: bool = False) -> None:  # type: ignore[no-untyped-def]
        """``capped``: the program of ``solve_capped``, x then y with y <= x and y <= cap."""
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
        return solve(objective, *self.problem)

    def highest(self, cap: Any) -> Any:
        """A point that maximises Σ min(x_i, cap_i) (``solve_capped``; built ``capped``)."""
        if self.loaded:
            y = np.arange(self.n, 2 * self.n, dtype=np.int32)
            self.highs.changeColsBounds(self.n, y, np.zeros(self.n), np.asarray(cap, float))
            if self._run() == highspy.HighsModelStatus.kOptimal:
                return np.array(self.highs.getSolution().col_value)[: self.n]
        return solve_capped(cap, *self.problem)

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

    def interval(
        self, j: int, cap: float | str | None, enough: float | None = None
    ) -> tuple[float, float, list[Any]]:
        """As ``interval``: the least and largest value of cell ``j``, and the points found.
        ``enough``: a least value above it is answer enough (the largest is not asked, and
        given as the least)."""
        if not self.loaded:
            return interval(j, *self.problem, cap)
        self._aim(j, highspy.ObjSense.kMinimize)
        if self._run() != highspy.HighsModelStatus.kOptimal:
            return interval(j, *self.problem, cap)
        least = np.array(self.highs.getSolution().col_value)
        lo = float(least[j])
        if enough is not None and lo > enough:
            return lo, lo, [least]
        top = math.ceil(lo - EPS) + 1 if cap == "next" else cap
        self._aim(j, highspy.ObjSense.kMaximize)
        if top is not None:
            self.highs.changeColBounds(j, 0.0, float(top))  # how high is only asked up to the need
        status = self._run()
        if top is not None:
            self.highs.changeColBounds(j, 0.0, highspy.kHighsInf)
        if status == highspy.HighsModelStatus.kUnbounded and top is None:
            return lo, math.inf, [least]
        if status != highspy.HighsModelStatus.kOptimal:
            return interval(j, *self.problem, cap)
        highest = np.array(self.highs.getSolution().col_value)
        return lo, float(highest[j]), [least, highest]


def interval(  # type: ignore[no-untyped-def]
    j: int, a_eq, b_eq, a_ub, b_ub, n: int, cap: float | str | None
) -> tuple[float, float, list[Any]]:
    """The least and largest value of cell ``j``, and the solutions found on the way.
    ``cap``: how high to look (None: as high as it goes; "next": to the whole number after
    the least, enough to tell pinned from not)."""
    objective = np.zeros(n)
    objective[j] = 1.0
    least = solve(objective, a_eq, b_eq, a_ub, b_ub, n)
    lo = float(least[j])
    top = math.ceil(lo - EPS) + 1 if cap == "next" else cap
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
