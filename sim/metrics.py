"""The run's headline metrics, computed from the output tables and the agents' counters.

Every metric is a plain float in ``summary["metrics"]``; NaN where it is undefined (no
priority-1 incidents, no settled disputes, ...).  Names are part of the output contract.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim import survival

DAY = 1440.0


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else math.nan


def _q(values: pd.Series, q: float) -> float:
    values = values.dropna()
    return float(np.quantile(values, q)) if len(values) else math.nan


def dispute_metrics(disputes: pd.DataFrame, population: int, days: float) -> dict[str, float]:
    """Mediation outcomes.  The reported success rate counts the cases taken for mediation
    (not those redirected at intake); `disputes_resolved_share` counts every case raised."""
    taken = disputes[disputes.outcome != "redirected"]
    closed = taken[taken.outcome != "open"]
    settled = closed[closed.outcome == "settled"]
    settle_days = (settled.t_closed - settled.t_raised) / DAY
    close_days = (closed.t_closed - closed.t_raised) / DAY
    first_wait = (disputes.t_first_session - disputes.t_raised).dropna() / DAY
    years = days / 365.0
    return {
        "disputes_raised": float(len(disputes)),
        "disputes_closed": float(len(closed)),
        "mediation_success_rate": _share(closed.outcome == "settled"),
        "disputes_resolved_share": _share(disputes.outcome == "settled"),
        "redirected_share": _share(disputes.outcome == "redirected"),
        "community_settled_share": _share((closed.outcome == "settled")
                                          & (closed.level == "community")),
        "time_to_settle_p50_days": _q(settle_days, 0.5),
        "time_to_settle_p90_days": _q(settle_days, 0.9),
        "closed_within_30_days_share": _share(close_days <= 30.0),
        "mean_wait_first_session_days": float(first_wait.mean()) if len(first_wait) else math.nan,
        "escalation_rate": _share(closed.escalations > 0),
        "court_share": _share(closed.outcome == "court"),
        "violent_turns_per_100k": (float((disputes.outcome == "violent").sum()) / population
                                   * 1e5 / years) if population and years else math.nan,
        "money_at_stake_yuan": float(taken.amount_yuan.sum()),
    }


def incident_metrics(incidents: pd.DataFrame, p1_target_min: float,
                     now: float) -> dict[str, float]:
    """Response metrics over reported incidents (patrol finds are handled on the spot).

    An incident still waiting for a unit at the end counts with its wait so far (a lower
    bound), so an overloaded variant cannot look fast by leaving its backlog out; one handed to
    the backup force has no arrival time here and counts as missing the priority-1 target.
    """
    reported = incidents[incidents.source != "patrol"]
    kept = reported[~reported.overflow]
    response = (kept.t_arrived.fillna(now) - kept.t_reported)
    waited = (kept.t_dispatched.fillna(now) - kept.t_reported)
    out = {
        "incidents_total": float(len(incidents)),
        "incidents_reported": float(len(reported)),
        "mean_queue_delay_min": float(waited.mean()) if len(waited) else math.nan,
        "cross_grid_share": _share(kept.cross_grid[kept.t_dispatched.notna()].astype(bool)),
        "overflow_share": _share(reported.overflow.astype(bool)),
        "unreached_share": _share(kept.t_arrived.isna()),
    }
    for p in (1, 2, 3):
        r = response[kept.priority == p]
        out[f"response_p50_min_p{p}"] = _q(r, 0.5)
        out[f"response_p90_min_p{p}"] = _q(r, 0.9)
    p1 = reported.priority == 1
    on_time = (reported.t_arrived - reported.t_reported <= p1_target_min) & ~reported.overflow
    out["p1_within_5min_share"] = _share(on_time[p1])
    return out


def utilisation_metrics(model) -> dict[str, float]:
    """Busy share of on-duty time per unit type; share of paid hours at work per mediator
    kind."""
    now = model.env.now
    out: dict[str, float] = {}
    busy: dict[str, list[float]] = {}
    for u in model.units:
        b, d = u.utilisation_parts(now)
        acc = busy.setdefault(u.unit_type, [0.0, 0.0])
        acc[0] += b
        acc[1] += d
    for name in model.cfg.scenario.units:
        b, d = busy.get(name, (0.0, 0.0))
        out[f"utilisation_unit_{name}"] = b / d if d > 0 else math.nan
    out.update(mediator_hours_utilisation(model))
    return out


def mediator_hours_utilisation(model) -> dict[str, float]:
    """Share of paid hours spent on casework, screening visits and mentoring, per kind of
    mediator (the street studios' seniors apart from the other full-timers)."""
    from agents.mediator import HOUR_KINDS

    now = model.env.now
    weeks = now / (7 * DAY)
    acc = {k: [0.0, 0.0] for k in HOUR_KINDS}
    for m in model.mediation.mediators:
        a = acc[m.hour_kind]
        a[0] += m.work_done(now) / 60.0 + m.screening_hours * weeks
        a[1] += m.paid_hours * weeks
    out = {f"utilisation_mediator_{k}": (used / paid if paid > 0 else math.nan)
           for k, (used, paid) in acc.items()}
    used, paid = (sum(a[i] for a in acc.values()) for i in (0, 1))
    out["utilisation_mediator_hours"] = used / paid if paid > 0 else math.nan
    return out


def link_metrics(model, incidents: pd.DataFrame, disputes: pd.DataFrame,
                 days: float) -> dict[str, float]:
    """Disputes at the police and the residents' side: the dispute-related share of reported
    incidents, referrals, violence from every channel, cases per mediator, satisfaction."""
    from sim.police_mediation import DISPUTE_CALL_KINDS

    med = model.mediation
    reported = incidents[incidents.source != "patrol"]
    dispute_related = reported.kind.isin(DISPUTE_CALL_KINDS) | (reported.source == "dispute")
    years = days / 365.0
    n = model.residents.n
    taken = float((disputes.outcome != "redirected").sum())
    violent = float((disputes.outcome == "violent").sum()
                    + med.conflicts.counts["violent_outside"])
    counts = med.police.counts
    calls = counts["first_calls"]
    sev = med.conflicts.severity_at_intake
    return {
        "dispute_calls_share": _share(dispute_related),
        "repeat_calls": float(counts["repeat_calls"]),
        "police_settled_on_spot_share": (counts["settled_on_spot"] / calls if calls
                                         else math.nan),
        "police_referred_share_of_raised": _share(disputes.source == "police"),
        "cases_per_1000_per_year": taken / n * 1000 / years if n and years else math.nan,
        "violent_turns_per_100k": violent / n * 1e5 / years if n and years else math.nan,
        "cases_per_mediator_per_year": (taken / len(med.mediators) / years
                                        if med.mediators and years else math.nan),
        "mean_severity_at_intake": float(np.mean(sev)) if sev else math.nan,
        "mean_satisfaction": model.residents.contacted_satisfaction,
        "party_satisfaction": model.residents.party_satisfaction,
    }


def staffing_cost(model) -> float:
    """Annual cost of the staffing the scenario deploys, from the per-role costs in its config."""
    s = model.cfg.scenario
    cost = sum(s.mediators.cost_yuan.get(m.kind, 0.0) for m in model.mediation.mediators)
    cost += sum(s.units[u.unit_type].cost_yuan for u in model.units)
    return float(cost)


def summarise(model, incidents: pd.DataFrame, disputes: pd.DataFrame) -> dict[str, float]:
    """All headline metrics of a finished (or paused) run."""
    # Warm-up and censoring (issue 10): records started in the warm-up are left out, and the
    # time quantiles are Kaplan–Meier estimates with open cases censored (sim/survival.py).
    warmup = model.cfg.sim.warmup_days * DAY
    incidents = incidents[incidents.t_reported >= warmup]
    disputes = disputes[disputes.t_raised >= warmup]
    days = (model.env.now - min(warmup, model.env.now)) / DAY
    metrics = dispute_metrics(disputes, model.residents.n, days)
    metrics.update(incident_metrics(incidents, model.cfg.scenario.dispatch.p1_target_min,
                                    model.env.now))
    metrics.update(survival.time_quantiles(incidents, disputes, model.env.now))
    metrics.update(utilisation_metrics(model))
    metrics.update(link_metrics(model, incidents, disputes, days))
    metrics["annual_staffing_cost_yuan"] = staffing_cost(model)
    metrics["deterred_calls"] = float(model.deterred)
    metrics["simulated_days"] = model.env.now / DAY
    return metrics
