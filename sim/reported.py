"""The district's reported figures (docs/sources.md), for calibration printouts
and tests.  Only the default scenario on Jiangbei's own map is compared against them."""

from sim.district_files import resolve

JIANGBEI_FOLDER = "conf/districts/jiangbei"

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


def applies(scenario) -> bool:
    """Whether a run's scenario is Jiangbei on Jiangbei's map (a scenario that keeps the name
    but loads another district folder is another district: nothing to compare with)."""
    return scenario.name == "jiangbei" and is_jiangbei_map(scenario.district.path)


def is_jiangbei_map(path: str | None) -> bool:
    """Whether a district path (``scenario.district.path``) is Jiangbei's folder."""
    return path is not None and resolve(path).resolve() == resolve(JIANGBEI_FOLDER).resolve()


def within(metric: str, value: float) -> bool:
    """Whether `value` meets the reported figure for `metric` within its tolerance."""
    target, tol, how = OUTCOMES[metric]
    if how == "abs":
        return abs(value - target) <= tol + 1e-12
    return abs(value - target) <= tol * target


# Figures the calibration did not tune to, with the range we accept and where they come from
# (docs/sources.md).  Each is (low, high, source).
HELD_OUT = {
    "cases_per_mediator_per_year": (
        3.0, 12.0, "MoJ 2022: 14.94 M cases / 3.18 M mediators = 4.7; Jiangsu 2019 about 7; "
                   "Chongqing 2022: 363,900 cases / about 63,000 mediators = 5.8"),
    "cases_per_1000_per_year": (
        5.0, 13.0, "MoJ: 6.8 per 1,000 (2018), 5.8 (2022, excl. court-entrusted); "
                   "Chongqing 2022: 363,900 cases / 32.1 M residents = 11.3"),
    "closed_within_30_days_share": (
        0.9, 1.0, "People's Mediation Law: a mediation should generally conclude within one "
                  "month"),
    "police_referred_share_of_raised": (
        0.0, 0.25, "Chongqing 2022: 71,800 of 363,900 cases (20 %) came through the court, "
                   "police and petition links together"),
}

# Calibrated, not held out: the dispute-related share of police calls (Xuzhou 2017: 164 k of
# 1.3 M valid 110 reports, 12.6 %; Jiangsu 2017: 13.9 %).
DISPUTE_CALLS_SHARE = (0.10, 0.15, "Xuzhou 2017 12.6 %, Jiangsu 2017 13.9 % of 110 reports")
