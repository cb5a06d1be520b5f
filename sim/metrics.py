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
    closed = disputes[disputes.outcome != "open"]
    settled = closed[closed.outcome == "settled"]
    settle_days = (settled.t_closed - settled.t_raised) / DAY
    first_wait = (disputes.t_first_session - disputes.t_raised).dropna() / DAY
    years = days / 365.0
    return {
        "disputes_raised": float(len(disputes)),
        "disputes_closed": float(len(closed)),
        "mediation_success_rate": _share(closed.outcome == "settled"),
        "community_settled_share": _share((closed.outcome == "settled")
                                          & (closed.level == "community")),
        "time_to_settle_p50_days": _q(settle_days, 0.5),
        "time_to_settle_p90_days": _q(settle_days, 0.9),
        "mean_wait_first_session_days": float(first_wait.mean()) if len(first_wait) else math.nan,
        "escalation_rate": _share(closed.escalations > 0),
        "court_share": _share(closed.outcome == "court"),
        "violent_turns_per_100k": (float((disputes.outcome == "violent").sum()) / population
                                   * 1e5 / years) if population and years else math.nan,
        "money_at_stake_yuan": float(disputes.amount_yuan.sum()),
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
    """Busy share of on-duty time per unit type; occupied share of caseload slots per
    mediator kind."""
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
    slots: dict[str, list[float]] = {}
    for m in model.mediation.mediators:
        acc = slots.setdefault(m.kind, [0.0, 0.0])
        acc[0] += m.slot_minutes(now)
        acc[1] += m.caseload * now
    for kind in ("xiaoma", "full_time", "part_time"):
        used, cap = slots.get(kind, (0.0, 0.0))
        out[f"utilisation_mediator_{kind}"] = used / cap if cap > 0 else math.nan
    return out


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
    metrics["mean_satisfaction"] = model.residents.mean_satisfaction
    metrics["annual_staffing_cost_yuan"] = staffing_cost(model)
    metrics["deterred_calls"] = float(model.deterred)
    metrics["simulated_days"] = model.env.now / DAY
    return metrics
