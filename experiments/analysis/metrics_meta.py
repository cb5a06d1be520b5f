"""Metric metadata: which way is "better" and how to label each metric.

The simulator's summary.json carries bare metric names; the analysis tools need to know
whether a rise is good news (+1), bad news (-1) or neither (0) before they can turn a
confidence interval into a verdict. Unknown names are treated as neutral so that a new
metric added to the core never crashes the analysis, it is just reported as higher/lower.
"""

from __future__ import annotations

HIGHER_IS_BETTER = 1
LOWER_IS_BETTER = -1
NEUTRAL = 0

# (direction, human label with unit)
_META: dict[str, tuple[int, str]] = {
    "mediation_success_rate": (1, "Mediation success rate"),
    "community_settled_share": (1, "Share settled at community level"),
    "time_to_settle_p50_days": (-1, "Time to settle, median (days)"),
    "time_to_settle_p90_days": (-1, "Time to settle, p90 (days)"),
    "escalation_rate": (-1, "Escalation rate"),
    "violent_turns_per_100k": (-1, "Violent turns per 100k residents"),
    "response_p50_min_p1": (-1, "Response time P1, median (min)"),
    "response_p50_min_p2": (-1, "Response time P2, median (min)"),
    "response_p50_min_p3": (-1, "Response time P3, median (min)"),
    "response_p90_min_p1": (-1, "Response time P1, p90 (min)"),
    "response_p90_min_p2": (-1, "Response time P2, p90 (min)"),
    "response_p90_min_p3": (-1, "Response time P3, p90 (min)"),
    "p1_within_5min_share": (1, "P1 reached within 5 min (share)"),
    "mean_queue_delay_min": (-1, "Mean queue delay (min)"),
    "cross_grid_share": (0, "Cross-grid dispatch share"),
    "utilisation_unit_police": (0, "Utilisation: police units"),
    "utilisation_unit_armed_patrol": (0, "Utilisation: armed patrol units"),
    "utilisation_unit_rapid_response": (0, "Utilisation: rapid-response units"),
    "utilisation_unit_guard": (0, "Utilisation: guards"),
    "utilisation_mediator_xiaoma": (0, "Utilisation: Xiaoma mediators"),
    "utilisation_mediator_full_time": (0, "Utilisation: full-time mediators"),
    "utilisation_mediator_part_time": (0, "Utilisation: part-time mediators"),
    "utilisation_mediator_senior": (0, "Utilisation: senior mediators (Lao Ma)"),
    "utilisation_mediator_hours": (0, "Utilisation: all mediators (paid hours)"),
    "disputes_resolved_share": (1, "Disputes resolved (share of raised)"),
    "redirected_share": (-1, "Redirected at intake (share)"),
    "closed_within_30_days_share": (1, "Mediations closed within 30 days"),
    "dispute_calls_share": (-1, "Dispute-related share of calls"),
    "mean_severity_at_intake": (-1, "Mean severity at intake"),
    "cases_per_mediator_per_year": (0, "Cases per mediator a year"),
    "party_satisfaction": (1, "Satisfaction of dispute parties"),
    "mean_satisfaction": (1, "Mean satisfaction"),
    "mean_wait_first_session_days": (-1, "Wait for first mediation session (days)"),
    "disputes_raised": (0, "Disputes raised"),
    "incidents_total": (0, "Incidents"),
    "overflow_share": (-1, "Overflow share"),
    "unreached_share": (-1, "Incidents still waiting at the end"),
    "court_share": (-1, "Share of disputes ending in court"),
    "money_at_stake_yuan": (0, "Money at stake (yuan)"),
    "annual_staffing_cost_yuan": (-1, "Annual staffing cost (yuan)"),
}

KNOWN_METRICS: tuple[str, ...] = tuple(_META)


def direction(metric: str) -> int:
    """Return +1 if higher is better, -1 if lower is better, 0 if neutral or unknown."""
    return _META.get(metric, (NEUTRAL, metric))[0]


def label(metric: str) -> str:
    """Return a human-readable label for plots and reports (the raw name if unknown)."""
    return _META.get(metric, (NEUTRAL, metric))[1]


def direction_symbol(metric: str) -> str:
    """Return '+', '-' or '0' for compact tables."""
    return {HIGHER_IS_BETTER: "+", LOWER_IS_BETTER: "-"}.get(direction(metric), "0")
