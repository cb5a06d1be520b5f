"""The default scenario against the district's reported figures over one simulated year, and
against the published figures the calibration did not tune to (sim/reported.py)."""

import pytest

from sim.reported import DISPUTE_CALLS_SHARE, HELD_OUT, within


@pytest.mark.slow  # the first to ask for the year, so it is built early
def test_mediation_success_is_99_9_percent(default_year):
    rate = default_year.metrics["mediation_success_rate"]
    assert within("mediation_success_rate", rate), rate


def test_money_at_stake_is_466_million_yuan(default_year):
    money = default_year.metrics["money_at_stake_yuan"]
    assert within("money_at_stake_yuan", money), money


def test_dispute_calls_are_a_published_share_of_police_calls(default_year):
    lo, hi, _ = DISPUTE_CALLS_SHARE
    assert lo <= default_year.metrics["dispute_calls_share"] <= hi


@pytest.mark.parametrize("metric", list(HELD_OUT))
def test_held_out_figures(default_year, metric):
    lo, hi, source = HELD_OUT[metric]
    value = default_year.metrics[metric]
    assert lo <= value <= hi, f"{metric} = {value:.4g}, outside [{lo}, {hi}] ({source})"


def test_xiao_ma_hours_are_used_but_not_beyond_what_other_duties_leave(default_year):
    # Casework, screening visits and mentoring take a real share of a Xiao Ma's week, at most
    # the half that other community duties leave (see conf/scenario/jiangbei.yaml).
    u = default_year.metrics["utilisation_mediator_xiaoma"]
    assert 0.1 <= u <= 0.5, u


def test_calls_within_the_published_range(default_year):
    per_1000 = default_year.metrics["incidents_reported"] / 925
    assert 150 <= per_1000 <= 1000
    assert default_year.summary["calibration"]["mediation_success_rate"]["within"]
