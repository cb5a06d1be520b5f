"""The default scenario against the district's reported figures over one simulated year."""

from sim.reported import within


def test_mediation_success_is_99_9_percent(default_year):
    rate = default_year.metrics["mediation_success_rate"]
    assert within("mediation_success_rate", rate), rate


def test_money_at_stake_is_466_million_yuan(default_year):
    money = default_year.metrics["money_at_stake_yuan"]
    assert within("money_at_stake_yuan", money), money


def test_dispute_volume_follows_the_cited_rate(default_year):
    # 7 per 1,000 residents a year (MoJ: 5.8-6.8); Poisson, so +-5 % is > 4 sigma.
    raised = default_year.metrics["disputes_raised"]
    assert abs(raised - 925 * 7) < 0.05 * 925 * 7


def test_calls_within_the_published_range(default_year):
    per_1000 = default_year.metrics["incidents_reported"] / 925
    assert 150 <= per_1000 <= 1000
    assert default_year.summary["calibration"]["mediation_success_rate"]["within"]
