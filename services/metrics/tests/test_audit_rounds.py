"""The audit across a protection's rounds gives each cell the verdict a fresh audit gives:
what it remembers from earlier rounds (cells settled, components solved) and the small
relaxed programs it asks first never change an answer, only spare programs."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metrics import audit
from metrics.audit import Bound, Equation, Memory, weak
from scipy.optimize import linprog

K = 5


def table(seed: int) -> tuple[dict[int, int], list[Equation[int]], list[Bound[int]]]:
    """Cells 0.. with counts, totals over random parts (some totals of totals), and bounds
    that the true counts keep."""
    rng = random.Random(seed)
    values = {c: rng.choice([0, 0, 1, 2, 3, 4, 6, 9]) for c in range(rng.randint(8, 16))}
    equations = []
    for _ in range(rng.randint(4, 9)):
        parts = rng.sample(sorted(values), rng.randint(2, 4))
        total = len(values)
        values[total] = sum(values[p] for p in parts)
        equations.append(Equation(((total, -1), *((p, 1) for p in parts))))
    bounds = []
    for _ in range(rng.randint(0, 3)):
        terms = tuple((c, rng.choice([1, 2])) for c in rng.sample(sorted(values), 2))
        bounds.append(Bound(terms, sum(values[c] * a for c, a in terms) + rng.randint(0, 2)))
    return values, equations, bounds


def fresh_verdicts(values, equations, bounds, withheld, small):  # type: ignore[no-untyped-def]
    """Two programs a cell over the whole table, from nothing: the attacker's own intervals."""
    cells = sorted(withheld)
    where = {c: j for j, c in enumerate(cells)}

    def rows(terms_and_constants):  # type: ignore[no-untyped-def]
        matrix, rhs = [], []
        for terms, constant in terms_and_constants:
            row = np.zeros(len(cells))
            for c, a in terms:
                if c in where:
                    row[where[c]] += a
                else:
                    constant -= a * values[c]
            if row.any():
                matrix.append(row)
                rhs.append(constant)
        return (np.array(matrix), np.array(rhs, dtype=float)) if matrix else (None, None)

    a_eq, b_eq = rows([(e.terms, e.constant) for e in equations])
    a_ub, b_ub = rows([(b.terms, b.limit) for b in bounds])
    out = {}
    for c in cells:
        objective = np.zeros(len(cells))
        objective[where[c]] = 1
        lo = linprog(objective, A_eq=a_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub, bounds=(0, None)).fun
        top = linprog(-objective, A_eq=a_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub, bounds=(0, None))
        hi = math.inf if top.status == 3 else -top.fun
        if small(c) is not None:
            if lo > 1e-6:
                out[c] = "not zero"
            elif hi < small(c) - 1 - 1e-6:
                out[c] = "pinned" if hi < 1 - 1e-6 else "narrow"
        elif hi < math.inf and math.floor(hi + 1e-6) <= math.ceil(lo - 1e-6):
            out[c] = "pinned"
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), near=st.sampled_from([1, 3, 200]))
def test_every_round_gives_the_verdicts_a_fresh_audit_gives(seed: int, near: int) -> None:
    values, equations, bounds = table(seed)
    rng = random.Random(seed + 1)

    def small(c: int) -> int | None:
        return K if 0 < values[c] < K else None

    # a protection's rounds: the withheld cells only grow, as partners are added
    order = rng.sample(sorted(values), len(values))
    memory: Memory[int] = Memory()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "_NEAR", near)  # 1 and 3: relaxed programs far smaller than the table
        for size in sorted({rng.randint(1, len(order)) for _ in range(3)}):
            withheld = set(order[:size])
            remembered = weak(values, equations, bounds, withheld, small, memory)
            assert remembered == fresh_verdicts(values, equations, bounds, withheld, small), size
