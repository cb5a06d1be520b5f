"""Censoring-aware time metrics (sim/survival.py) and the warm-up (sim.warmup_days)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import ConfigError, Simulation
from sim.clock import DAY
from sim.survival import km_quantile, response_minutes, settle_days

# Events at 1, 2, 3, 5; censored at 2.5, 4, 6 (seven cases). By hand, Kaplan–Meier:
#   t=1: 7 at risk, S = 6/7            F = 1/7   = 0.143
#   t=2: 6 at risk, S = 6/7 * 5/6      F = 2/7   = 0.286
#   t=3: 4 at risk (2.5 censored), S = 5/7 * 3/4 = 15/28, F = 13/28 = 0.464
#   t=5: 2 at risk (4 censored),   S = 15/28 * 1/2 = 15/56, F = 41/56 = 0.732
# and the last case (6) is censored, so F never reaches 0.75.
EVENTS, CENSORED = [1.0, 2.0, 3.0, 5.0], [2.5, 4.0, 6.0]


@pytest.mark.parametrize(("q", "expected"), [
    (0.10, 1.0), (1 / 7, 1.0), (0.15, 2.0), (0.25, 2.0), (0.30, 3.0), (0.464, 3.0),
    (0.5, 5.0), (41 / 56, 5.0), (0.75, math.nan), (0.9, math.nan)])
def test_km_quantile_of_a_hand_made_sample(q, expected):
    got = km_quantile(EVENTS, CENSORED, q)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_a_quantile_never_reached_is_at_least_the_longest_time_seen():
    assert km_quantile(EVENTS, CENSORED, 0.9, at_least=True) == 6.0
    assert km_quantile(EVENTS, CENSORED, 0.5, at_least=True) == 5.0
    assert km_quantile([], [3.0, 8.0], 0.5, at_least=True) == 8.0


def test_censoring_moves_the_median_later_than_closed_only():
    # Dropping the three open cases would give the median of 1, 2, 3, 5: 2.
    assert float(np.quantile(EVENTS, 0.5, method="inverted_cdf")) == 2.0
    assert km_quantile(EVENTS, CENSORED, 0.5) == 5.0


def test_without_censoring_it_is_the_empirical_quantile():
    x = np.random.default_rng(1).exponential(3.0, 101)
    for q in (0.1, 0.5, 0.9):
        assert km_quantile(x, [], q) == float(np.quantile(x, q, method="inverted_cdf"))
    assert math.isnan(km_quantile([], [1.0, 2.0], 0.5))
    with pytest.raises(ValueError):
        km_quantile(x, [], 1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 100.0), min_size=1, max_size=40),
       st.lists(st.floats(0.01, 100.0), max_size=40),
       st.sampled_from([0.25, 0.5, 0.9]))
def test_km_quantile_is_never_below_the_closed_only_quantile(events, censored, q):
    km = km_quantile(events, censored, q)
    closed_only = float(np.quantile(events, q, method="inverted_cdf"))
    assert math.isnan(km) or km >= closed_only - 1e-9


def test_what_counts_as_event_and_what_is_censored():
    now = 10 * DAY
    disputes = pd.DataFrame({
        "outcome": ["settled", "settled", "open", "court", "violent"],
        "t_raised": [0.0, DAY, 4 * DAY, 0.0, 0.0],
        "t_closed": [2 * DAY, 4 * DAY, np.nan, 3 * DAY, 5 * DAY]})
    events, censored = settle_days(disputes, now)
    assert events.tolist() == [2.0, 3.0] and censored.tolist() == [6.0]
    incidents = pd.DataFrame({
        "source": ["call", "call", "patrol", "call"],
        "overflow": [False, False, False, True],
        "t_reported": [0.0, now - 7.0, 5.0, 5.0],
        "t_arrived": [4.0, np.nan, 5.0, np.nan]})
    events, censored = response_minutes(incidents, now)
    assert events.tolist() == [4.0] and censored.tolist() == [7.0]
    # A caller who gave up after 30 minutes: no unit came within 30 minutes (censored there,
    # not left out: a variant that loses its slowest calls must not look faster).
    incidents["abandoned"] = [False, False, False, False]
    incidents["t_abandoned"] = np.nan
    gave_up = pd.DataFrame({"source": ["call"], "overflow": [False], "t_reported": [100.0],
                            "t_arrived": [np.nan], "abandoned": [True], "t_abandoned": [130.0]})
    events, censored = response_minutes(pd.concat([incidents, gave_up]), now)
    assert events.tolist() == [4.0] and censored.tolist() == [7.0, 30.0]


@pytest.fixture(scope="module")
def small_run():
    return Simulation.from_overrides(["scenario=small_district", "sim.days=20", "seed=3",
                                      "sim.progress=false"]).run(progress=False)


def test_run_metrics_are_the_censoring_aware_estimates(small_run):
    now = 20 * DAY
    m = small_run.metrics
    events, censored = settle_days(small_run.disputes, now)
    assert len(censored) > 0, "a 20-day run must leave some disputes open"
    assert m["time_to_settle_p90_days"] == km_quantile(events, censored, 0.9, at_least=True)
    assert m["time_to_settle_p50_days"] == km_quantile(events, censored, 0.5, at_least=True)
    closed_only = float(np.quantile(events, 0.5, method="inverted_cdf"))
    assert m["time_to_settle_p50_days"] >= closed_only
    p1 = small_run.incidents[small_run.incidents.priority == 1]
    assert m["response_p90_min_p1"] == km_quantile(*response_minutes(p1, now), q=0.9,
                                                   at_least=True)


def test_warmup_leaves_early_records_out_of_the_metrics(small_run):
    warm = Simulation.from_overrides(["scenario=small_district", "sim.days=20", "seed=3",
                                      "sim.progress=false", "sim.warmup_days=5"]
                                     ).run(progress=False)
    # Same seed, same run: only what the metrics read differs.
    pd.testing.assert_frame_equal(warm.incidents, small_run.incidents)
    later = small_run.incidents[small_run.incidents.t_reported >= 5 * DAY]
    assert warm.metrics["incidents_total"] == len(later) < small_run.metrics["incidents_total"]
    raised = small_run.disputes[small_run.disputes.t_raised >= 5 * DAY]
    assert warm.metrics["disputes_raised"] == len(raised)
    assert warm.metrics["simulated_days"] == 20.0
    # The counts kept beside the tables start again after the warm-up too.
    repeats = small_run.incidents.kind == "dispute_repeat"
    assert repeats[small_run.incidents.t_reported < 5 * DAY].any()
    assert warm.metrics["repeat_calls"] == (repeats & (small_run.incidents.t_reported
                                                       >= 5 * DAY)).sum()
    assert warm.metrics["mean_severity_at_intake"] != small_run.metrics["mean_severity_at_intake"]
    events, censored = settle_days(raised, 20 * DAY)
    assert warm.metrics["time_to_settle_p50_days"] == km_quantile(events, censored, 0.5,
                                                                  at_least=True)


def test_warmup_must_be_shorter_than_the_run():
    with pytest.raises(ConfigError, match=r"^sim\.warmup_days: must be a number in \[0, 10\)"):
        Simulation.from_overrides(["scenario=small_district", "sim.days=10",
                                   "sim.warmup_days=10"])
    with pytest.raises(ConfigError, match="sim.warmup_days"):
        Simulation.from_overrides(["scenario=small_district", "sim.warmup_days=-1"])


def test_cases_still_waiting_for_a_first_session_count_with_their_wait_so_far():
    from sim.metrics import dispute_metrics

    d = pd.DataFrame({"outcome": ["settled", "open", "open", "redirected"],
                      "t_raised": [0.0, 1 * DAY, 2 * DAY, 0.0],
                      "t_first_session": [2 * DAY, np.nan, 3 * DAY, np.nan],
                      "t_closed": [3 * DAY, np.nan, np.nan, 0.0],
                      "escalations": [0, 0, 0, 0], "amount_yuan": [1.0] * 4,
                      "level": ["community"] * 4})
    # Held: 2 and 1 days; still waiting at day 5: 4 days so far (the redirected case none).
    assert dispute_metrics(d, 1000, 5.0, 5 * DAY)["mean_wait_first_session_days"] == \
        pytest.approx((2 + 1 + 4) / 3)
    assert dispute_metrics(d, 1000, 5.0)["mean_wait_first_session_days"] == pytest.approx(1.5)


def test_cases_that_left_mediation_before_any_session_count_with_their_wait_until_then():
    from sim.metrics import dispute_metrics

    # Reviewer's R6: nine cases served after a day; the tenth waits 20 days and either gets
    # its session (A) or turns violent before any (B). B must not look quicker than A.
    rows = {"outcome": ["settled"] * 9, "t_raised": [0.0] * 9,
            "t_first_session": [1 * DAY] * 9, "t_closed": [3 * DAY] * 9,
            "escalations": [0] * 9, "amount_yuan": [1e4] * 9, "level": ["community"] * 9}

    def run(outcome: str, first: float) -> float:
        d = pd.DataFrame({k: [*v, {"outcome": outcome, "t_raised": 0.0,
                                   "t_first_session": first, "t_closed": 20 * DAY,
                                   "escalations": 0, "amount_yuan": 1e4,
                                   "level": "community"}[k]] for k, v in rows.items()})
        return dispute_metrics(d, 100_000, 30.0, 30 * DAY)["mean_wait_first_session_days"]

    served = run("settled", 20 * DAY)
    assert served == pytest.approx((9 + 20) / 10)
    assert run("violent", np.nan) == pytest.approx(served)      # was 1.0: the case left out
    assert run("court", np.nan) == pytest.approx(served)


def test_share_closed_within_a_month_is_a_kaplan_meier_share_with_open_cases_censored():
    from sim.survival import km_share_by

    # By hand: closes at 1, 2 and 40 days, one open at 10: S = 3/4 after day 1, 1/2 after
    # day 2, so half close within 30 days (leaving the open case out would say 2/3).
    assert km_share_by([1, 2, 40], [10], 30) == pytest.approx(0.5)
    assert km_share_by([1, 2, 40], [], 30) == pytest.approx(2 / 3)
    # Followed for less than 30 days: the share closed so far, a lower bound.
    assert km_share_by([1], [5, 5], 30) == pytest.approx(1 / 3)
    assert km_share_by([], [3], 30) == 0.0 and math.isnan(km_share_by([], [], 30))


def test_a_run_shorter_than_a_month_does_not_claim_every_mediation_closed_within_it():
    from sim.survival import km_share_by

    # It used to be the share among the cases closed, 1.0 by construction in a 20-day run.
    # Kaplan-Meier says 1.0 too when every open case was followed for less time than the
    # slowest closed one took (nothing then speaks against "all close by then"); this seed
    # has an open case followed longer, which must keep the share below 1.
    run = Simulation.from_overrides(["scenario=small_district", "sim.days=20", "seed=7",
                                     "sim.progress=false"]).run(progress=False)
    d = run.disputes
    mediations = d[d.outcome != "redirected"]
    closed = mediations[mediations.outcome != "open"]
    still_open = mediations[mediations.outcome == "open"]
    took = (closed.t_closed - closed.t_raised) / DAY
    followed = (20 * DAY - still_open.t_raised) / DAY
    assert len(followed) and followed.max() > took.max()      # the case the test is about
    share = run.metrics["closed_within_30_days_share"]
    assert share < 1.0
    assert share == km_share_by(took, followed, 30)
