"""Closed forms the simulator is validated against (see docs/sources.md)."""

from __future__ import annotations

import math


def erlang_b(c: int, a: float) -> float:
    """Erlang-B blocking probability for c servers and offered load a, by recursion."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu."""
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue Wq of an M/M/c queue (same time unit as 1/lam)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def hypercube_two_units_loss(lam1: float, lam2: float, mu: float) -> dict[str, float]:
    """Larson's hypercube model for two atoms, one unit each, own unit first, else the other,
    else lost (Larson & Odoni, Urban Operations Research, sec. 5.3)."""
    lam = lam1 + lam2
    rho = lam / mu
    p00 = 1.0 / (1.0 + rho + rho**2 / 2.0)
    p11 = p00 * rho**2 / 2.0
    p10 = p00 * (rho / 2.0 + (lam1 - lam2) / (2.0 * (lam + mu)))  # only unit 1 busy
    p01 = p00 * (rho / 2.0 - (lam1 - lam2) / (2.0 * (lam + mu)))  # only unit 2 busy
    # A call of atom 1 crosses when only unit 1 is busy, and likewise for atom 2.
    cross_all = (lam1 * p10 + lam2 * p01) / lam
    return {
        "p00": p00,
        "p11": p11,
        "workload_1": p10 + p11,
        "workload_2": p01 + p11,
        "cross_share_of_all": cross_all,
        "cross_share_of_served": cross_all / (1.0 - p11),
    }


def manhattan_mean_distance_square(area: float) -> float:
    """Mean street-grid distance between two uniform points in a square of this area."""
    return 2.0 / 3.0 * math.sqrt(area)
