"""The audit's warm-started programs give the intervals a fresh program gives, and print
nothing (``pss-metrics publish`` answers in JSON on stdout)."""

import numpy as np
from metrics.programs import Program, interval
from scipy.sparse import csr_matrix


def test_a_warm_program_gives_each_cell_the_interval_a_fresh_one_gives_and_prints_nothing(capfd):
    # x0 + x1 + x2 = 7, x0 - x1 = 1 (a difference published), x2 <= 2
    a_eq = csr_matrix(np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 0.0]]))
    b_eq = np.array([7.0, 1.0])
    a_ub = csr_matrix(np.array([[0.0, 0.0, 1.0]]))
    b_ub = np.array([2.0])
    program = Program(a_eq, b_eq, a_ub, b_ub, 3)
    for j in range(3):
        for cap in (None, "next", 5.0):
            warm = program.interval(j, cap)
            fresh = interval(j, a_eq, b_eq, a_ub, b_ub, 3, cap)
            assert np.isclose(warm[0], fresh[0]) and np.isclose(warm[1], fresh[1]), (j, cap, warm, fresh)
    assert program.interval(0, None)[:2] == (3.0, 4.0)  # x0 = (8 - x2) / 2, x2 from 2 down to 0
    table = Program(a_eq, b_eq, a_ub, b_ub, 3)
    assert np.isclose(table.lowest(np.array([0.0, 0.0, -1.0]))[2], 2.0)
    assert capfd.readouterr().out == ""
