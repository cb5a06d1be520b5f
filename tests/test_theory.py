"""The closed forms themselves, against the check values in docs/sources.md."""

import pytest

from sim.theory import erlang_c, hypercube_two_units_loss, mmc_mean_wait


@pytest.mark.parametrize("c, expected", [(3, 0.7022), (4, 0.3199), (5, 0.1304), (6, 0.0474)])
def test_erlang_c_check_values(c, expected):
    assert erlang_c(c, 2.5) == pytest.approx(expected, abs=5e-5)


def test_mm1_reduces_to_textbook():
    # M/M/1: Wq = rho / (mu - lambda)
    assert mmc_mean_wait(1, 0.8, 1.0) == pytest.approx(0.8 / 0.2)


def test_hypercube_check_values():
    h = hypercube_two_units_loss(0.3, 0.2, 1.0)
    assert h["p00"] == pytest.approx(0.6154, abs=1e-4)
    assert h["p11"] == pytest.approx(0.0769, abs=1e-4)
    assert h["workload_1"] == pytest.approx(0.2513, abs=1e-4)
    assert h["workload_2"] == pytest.approx(0.2103, abs=1e-4)
    assert h["cross_share_of_all"] == pytest.approx(0.158, abs=1e-3)
    assert h["cross_share_of_served"] == pytest.approx(0.171, abs=1e-3)
