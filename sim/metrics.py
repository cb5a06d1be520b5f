"""The run's headline metrics, computed from the output tables and the agents' counters.

Every metric is a plain float in ``summary["metrics"]``; NaN where it is undefined (no
priority-1 incidents, no settled disputes, ...).  Names are part of the output contract.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

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


# The incident columns the metrics read (a long run reads only these back, batch by batch).
METRIC_COLUMNS = ("source", "priority", "overflow", "abandoned", "cross_grid", "t_reported",
                  "t_dispatched", "t_arrived", "t_abandoned")


class IncidentStats:
    """Response metrics over reported incidents, accumulated batch by batch, so a long run's
    incident table never has to be in memory at once (it keeps one float per answered call).

    Patrol finds are handled on the spot and left out.  An incident still waiting for a unit at
    the end counts with its wait so far (a lower bound), so an overloaded variant cannot look
    fast by leaving its backlog out.  One handed to the backup force, or whose caller gave up
    waiting, has no arrival time: it is left out of the response times, counted in
    `overflow_share` / `abandoned_share`, and counts as missing the priority-1 target.  The
    queue delay of an abandoned call is its wait until it was given up.
    """

    def __init__(self, p1_target_min: float, now: float):
        self.target = p1_target_min
        self.now = now
        self.n = dict.fromkeys(("total", "reported", "kept", "overflow", "abandoned",
                                "unreached", "dispatched", "cross", "p1", "p1_on_time"), 0)
        self.waited = 0.0
        self.response: dict[int, list[np.ndarray]] = {1: [], 2: [], 3: []}

    def add(self, incidents: pd.DataFrame) -> IncidentStats:
        n, now = self.n, self.now
        n["total"] += len(incidents)
        reported = incidents[incidents.source != "patrol"]
        overflow = reported.overflow.to_numpy(bool)
        abandoned = reported.abandoned.to_numpy(bool)
        t_rep = reported.t_reported.to_numpy(float)
        t_disp = reported.t_dispatched.to_numpy(float)
        t_arr = reported.t_arrived.to_numpy(float)
        priority = reported.priority.to_numpy()
        kept = ~overflow
        answered = kept & ~abandoned           # reached, on the way, or still waiting
        n["reported"] += len(reported)
        n["kept"] += int(kept.sum())
        n["overflow"] += int(overflow.sum())
        n["abandoned"] += int(abandoned.sum())
        n["unreached"] += int((np.isnan(t_arr) & answered).sum())
        dispatched = kept & ~np.isnan(t_disp)
        n["dispatched"] += int(dispatched.sum())
        n["cross"] += int((reported.cross_grid.to_numpy(bool) & dispatched).sum())
        waited_until = np.where(np.isnan(t_disp), reported.t_abandoned.to_numpy(float), t_disp)
        self.waited += float((np.nan_to_num(waited_until, nan=now) - t_rep)[kept].sum())
        response = np.nan_to_num(t_arr, nan=now) - t_rep
        for p, chunks in self.response.items():
            chunks.append(response[answered & (priority == p)])
        p1 = priority == 1
        n["p1"] += int(p1.sum())
        with np.errstate(invalid="ignore"):
            n["p1_on_time"] += int((p1 & answered & (t_arr - t_rep <= self.target)).sum())
        return self

    def result(self) -> dict[str, float]:
        n = self.n

        def share(k, of):
            return n[k] / n[of] if n[of] else math.nan

        out = {
            "incidents_total": float(n["total"]),
            "incidents_reported": float(n["reported"]),
            "mean_queue_delay_min": self.waited / n["kept"] if n["kept"] else math.nan,
            "cross_grid_share": share("cross", "dispatched"),
            "overflow_share": share("overflow", "reported"),
            "abandoned_share": share("abandoned", "reported"),
            "unreached_share": share("unreached", "kept"),
        }
        for p, chunks in self.response.items():
            r = np.concatenate(chunks) if chunks else np.zeros(0)
            # One sort for the three quantiles, in place (`r` is ours).
            qs = (np.quantile(r, [0.5, 0.9, 0.99], overwrite_input=True) if len(r)
                  else [math.nan] * 3)
            for q, name in zip(qs, ("p50", "p90", "p99"), strict=True):
                out[f"response_{name}_min_p{p}"] = float(q)
        out["p1_within_5min_share"] = share("p1_on_time", "p1")
        return out


def incident_metrics(incidents: pd.DataFrame, p1_target_min: float,
                     now: float) -> dict[str, float]:
    """Response metrics over a table of incidents (see `IncidentStats`)."""
    return IncidentStats(p1_target_min, now).add(incidents).result()


def utilisation_metrics(model) -> dict[str, float]:
    """Per unit type: the share of on-duty time a unit is not free for dispatch (calls, report
    writing and other duties: `utilisation_unit_*`) and the share spent on calls alone, from
    dispatch to report written (`calls_share_unit_*`, the "rule of 60" figure).  Per mediator
    kind: occupied share of caseload slots."""
    now = model.env.now
    out: dict[str, float] = {}
    per_type: dict[str, list[float]] = {}
    for u in model.units:
        calls, duty = u.utilisation_parts(now)
        a = per_type.setdefault(u.unit_type, [0.0, 0.0, 0.0])
        a[0] += calls
        a[1] += duty
        a[2] += u.free_part(now)
    for name in model.cfg.scenario.units:
        calls, duty, free = per_type.get(name, (0.0, 0.0, 0.0))
        out[f"utilisation_unit_{name}"] = (duty - free) / duty if duty > 0 else math.nan
        out[f"calls_share_unit_{name}"] = calls / duty if duty > 0 else math.nan
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


def summarise(model, incidents: pd.DataFrame | IncidentStats,
              disputes: pd.DataFrame) -> dict[str, float]:
    """All headline metrics of a finished (or paused) run; `incidents` may be the table or
    the stats already accumulated from it."""
    days = model.env.now / DAY
    metrics = dispute_metrics(disputes, model.residents.n, days)
    if not isinstance(incidents, IncidentStats):
        incidents = IncidentStats(model.cfg.scenario.dispatch.p1_target_min,
                                  model.env.now).add(incidents)
    metrics.update(incidents.result())
    metrics.update(utilisation_metrics(model))
    metrics["mean_satisfaction"] = model.residents.mean_satisfaction
    metrics["annual_staffing_cost_yuan"] = staffing_cost(model)
    metrics["deterred_calls"] = float(model.deterred)
    metrics["simulated_days"] = days
    return metrics
