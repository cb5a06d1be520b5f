"""The district's reported figures (../shared/district-facts.md), for calibration printouts
and tests.  Only the default scenario is compared against them."""

# Structure the default scenario must reproduce exactly.
STRUCTURE = {
    "streets": 12,
    "communities": 126,
    "grids": 33,
    "committees": 146,
    "committee_mediators": 802,
    "committee_full_time": 85,
    "committee_part_time": 717,
    "xiaoma_full_time": 150,
    "working_groups": 12,
}

# Outcomes over one simulated year, with the tolerance the calibration aims at.
OUTCOMES = {
    "mediation_success_rate": (0.999, 0.001, "abs"),   # 99.9 % +- 0.1 pt
    "money_at_stake_yuan": (466e6, 0.10, "rel"),       # 466 M yuan +- 10 %
}


def within(metric: str, value: float) -> bool:
    """Whether `value` meets the reported figure for `metric` within its tolerance."""
    target, tol, how = OUTCOMES[metric]
    if how == "abs":
        return abs(value - target) <= tol + 1e-12
    return abs(value - target) <= tol * target
