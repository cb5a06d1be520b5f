"""The run's headline metrics, computed from the output tables and the agents' counters.

Every metric is a plain float in ``summary["metrics"]``; NaN where it is undefined (no
priority-1 incidents, no settled disputes, ...).  Names are part of the output contract.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim import survival
from sim.clock import DAY
from sim.police_mediation import DISPUTE_CALL_KINDS


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else math.nan


def _q(values: pd.Series, q: float) -> float:
    values = values.dropna()
    return float(np.quantile(values, q)) if len(values) else math.nan


def taken_for_mediation(outcome):
    """Cases taken for mediation: all but those redirected at intake (a mask over ``outcome``,
    a Series or an array)."""
    return outcome != "redirected"


def closed_mediations(outcome):
    """Cases taken for mediation and closed: what the mediation rates are shares of."""
    return taken_for_mediation(outcome) & (outcome != "open")


def mediation_rates(outcome, escalations) -> dict[str, float]:
    """`mediation_success_rate` and `escalation_rate` from each case's outcome and number of
    escalations (Series or arrays): shares of the cases taken for mediation and closed. The
    per-group figures of ``compare --by`` call this too, so a group holding every case of a
    run shows the run's own rates."""
    closed = closed_mediations(outcome)
    return {"mediation_success_rate": _share(outcome[closed] == "settled"),
            "escalation_rate": _share(escalations[closed] > 0)}


def dispute_metrics(disputes: pd.DataFrame, population: int, days: float,
                    now: float | None = None) -> dict[str, float]:
    """Mediation outcomes.  The reported success rate counts the cases taken for mediation
    (not those redirected at intake); `disputes_resolved_share` counts every case raised.
    A case taken for mediation that left it (turned violent, went to court) before any
    session counts in the mean wait with its wait until it left.  Given the run's end `now`,
    cases still open and waiting for a first session count in the mean wait with their wait
    so far (a lower bound), and the share closed within 30 days is a Kaplan–Meier share with
    open cases censored, so a variant whose stations fall behind cannot look quick by
    leaving its slowest cases out."""
    taken = disputes[taken_for_mediation(disputes.outcome)]
    closed = disputes[closed_mediations(disputes.outcome)]
    settled = closed[closed.outcome == "settled"]
    rates = mediation_rates(disputes.outcome, disputes.escalations)
    settle_days = (settled.t_closed - settled.t_raised) / DAY
    close_days = (closed.t_closed - closed.t_raised) / DAY
    first_wait = (disputes.t_first_session - disputes.t_raised).dropna() / DAY
    left = closed[closed.t_first_session.isna()]   # left before any session: until it left
    first_wait = pd.concat([first_wait, ((left.t_closed - left.t_raised) / DAY).dropna()])
    if now is not None:
        still_open = disputes[disputes.outcome == "open"]
        open_days = (now - still_open.t_raised) / DAY
        first_wait = pd.concat([first_wait, open_days[still_open.t_first_session.isna()]])
    years = days / 365.0
    return {
        "disputes_raised": float(len(disputes)),
        "disputes_closed": float(len(closed)),
        "mediation_success_rate": rates["mediation_success_rate"],
        "disputes_resolved_share": _share(disputes.outcome == "settled"),
        "redirected_share": _share(disputes.outcome == "redirected"),
        "community_settled_share": _share((closed.outcome == "settled")
                                          & (closed.level == "community")),
        "time_to_settle_p50_days": _q(settle_days, 0.5),
        "time_to_settle_p90_days": _q(settle_days, 0.9),
        "closed_within_30_days_share": (
            survival.km_share_by(close_days, open_days, t=30.0) if now is not None
            else _share(close_days <= 30.0)),
        "mean_wait_first_session_days": float(first_wait.mean()) if len(first_wait) else math.nan,
        "escalation_rate": rates["escalation_rate"],
        "court_share": _share(closed.outcome == "court"),
        "violent_turns_per_100k": (float((disputes.outcome == "violent").sum()) / population
                                   * 1e5 / years) if population and years else math.nan,
        "money_at_stake_yuan": float(taken.amount_yuan.sum()),
    }


def queue_waits(t_reported, t_dispatched, t_abandoned, now: float) -> np.ndarray:
    """Each call's time in the queue (minutes): until a unit was dispatched, or until the
    caller gave up, or, still waiting, until ``now``."""
    waited_until = np.where(np.isnan(t_dispatched), t_abandoned, t_dispatched)
    return np.nan_to_num(waited_until, nan=now) - t_reported


def unreached(t_arrived, overflow, abandoned) -> np.ndarray:
    """Calls no unit reached though the force kept them (not handed to the backup force) and
    the caller did not give up: `unreached_share` is their share of the kept calls."""
    return np.isnan(t_arrived) & ~overflow & ~abandoned


# The incident columns the metrics read (a long run reads only these back, batch by batch).
METRIC_COLUMNS = ("source", "kind", "priority", "overflow", "abandoned", "cross_grid",
                  "t_reported", "t_dispatched", "t_arrived", "t_abandoned")


class IncidentStats:
    """Response metrics over reported incidents, accumulated batch by batch, so a long run's
    incident table never has to be in memory at once (it keeps one float per answered call).

    Patrol finds are handled on the spot and left out, as are incidents reported in the
    warm-up.  Response quantiles are Kaplan–Meier estimates (sim/survival.py,
    `response_minutes`): an incident still waiting for a unit at the end is right-censored at
    its wait so far, and one whose caller gave up at its wait until then, so a variant cannot
    look fast by leaving its backlog, or the calls it lost, out.  One handed to the backup force
    has no arrival time: it is left out of the response times and counted in `overflow_share`.
    Both count as missing the priority-1 target.  The queue delay of an abandoned call is its
    wait until it was given up.
    """

    def __init__(self, p1_target_min: float, now: float, warmup: float = 0.0):
        self.target = p1_target_min
        self.now = now
        self.warmup = warmup
        self.n = dict.fromkeys(("total", "reported", "kept", "overflow", "abandoned",
                                "unreached", "dispatched", "cross", "p1", "p1_on_time",
                                "dispute_related"), 0)
        self.waited = 0.0
        self.response: dict[int, list[np.ndarray]] = {1: [], 2: [], 3: []}
        self.waiting: dict[int, list[np.ndarray]] = {1: [], 2: [], 3: []}

    def add(self, incidents: pd.DataFrame) -> IncidentStats:
        n, now = self.n, self.now
        if self.warmup > 0:
            incidents = incidents[incidents.t_reported >= self.warmup]
        n["total"] += len(incidents)
        reported = incidents[incidents.source != "patrol"]
        n["dispute_related"] += int((reported.kind.isin(DISPUTE_CALL_KINDS)
                                     | (reported.source == "dispute")).sum())
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
        n["unreached"] += int(unreached(t_arr, overflow, abandoned).sum())
        dispatched = kept & ~np.isnan(t_disp)
        n["dispatched"] += int(dispatched.sum())
        n["cross"] += int((reported.cross_grid.to_numpy(bool) & dispatched).sum())
        waits = queue_waits(t_rep, t_disp, reported.t_abandoned.to_numpy(float), now)
        self.waited += float(waits[kept].sum())
        for p in self.response:
            events, censored = survival.response_minutes(reported[priority == p], now)
            self.response[p].append(events)
            self.waiting[p].append(censored)
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
            "dispute_calls_share": share("dispute_related", "reported"),
        }
        for p in self.response:
            events = np.concatenate([np.zeros(0), *self.response[p]])
            censored = np.concatenate([np.zeros(0), *self.waiting[p]])
            for q, name in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
                out[f"response_{name}_min_p{p}"] = survival.km_quantile(
                    events, censored, q=q, at_least=True)
        out["p1_within_5min_share"] = share("p1_on_time", "p1")
        return out


def incident_metrics(incidents: pd.DataFrame, p1_target_min: float, now: float,
                     warmup: float = 0.0) -> dict[str, float]:
    """Response metrics over a table of incidents (see `IncidentStats`)."""
    return IncidentStats(p1_target_min, now, warmup).add(incidents).result()


def utilisation_metrics(model) -> dict[str, float]:
    """Per unit type: the share of on-duty time a unit is not free for dispatch (calls, report
    writing and other duties: `utilisation_unit_*`) and the share spent on calls alone, from
    dispatch to report written (`calls_share_unit_*`, the "rule of 60" figure).  Per mediator
    kind: share of paid hours at work."""
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


def link_metrics(model, disputes: pd.DataFrame, days: float) -> dict[str, float]:
    """Disputes at the police and the residents' side: the dispute-related share of reported
    incidents, referrals, violence from every channel, cases per mediator, satisfaction."""
    med = model.mediation
    years = days / 365.0
    n = model.residents.n
    taken = float((disputes.outcome != "redirected").sum())
    violent = float((disputes.outcome == "violent").sum()
                    + med.conflicts.counts["violent_outside"])
    counts = med.police.counts
    # First dispute calls a unit attended while the dispute was open (not those given up).
    attended = counts["settled_on_spot"] + counts["referred"] + counts["unresolved"]
    sev = med.conflicts.severity_at_intake
    return {
        "repeat_calls": float(counts["repeat_calls"]),
        "police_settled_on_spot_share": (counts["settled_on_spot"] / attended if attended
                                         else math.nan),
        "police_referred_share_of_raised": _share(disputes.source == "police"),
        "cases_per_1000_per_year": taken / n * 1000 / years if n and years else math.nan,
        "violent_turns_per_100k": violent / n * 1e5 / years if n and years else math.nan,
        "cases_per_mediator_per_year": (taken / len(med.mediators) / years
                                        if med.mediators and years else math.nan),
        "mean_severity_at_intake": float(np.mean(sev)) if sev else math.nan,
        "mean_satisfaction": model.residents.contacted_satisfaction,
        "party_satisfaction": model.residents.party_satisfaction,
        "caller_satisfaction": model.residents.caller_satisfaction,
    }


def staffing_cost(model) -> float:
    """Annual cost of the staffing the scenario deploys, from the per-role costs in its config."""
    s = model.cfg.scenario
    cost = sum(s.mediators.cost_yuan.get(m.kind, 0.0) for m in model.mediation.mediators)
    cost += sum(s.units[u.unit_type].cost_yuan for u in model.units)
    return float(cost)


def summarise(model, incidents: pd.DataFrame | IncidentStats,
              disputes: pd.DataFrame) -> dict[str, float]:
    """All headline metrics of a finished (or paused) run; `incidents` may be the table or
    the stats already accumulated from it (then with the same warm-up)."""
    # Warm-up and censoring (issue 10): records started in the warm-up are left out, and the
    # time quantiles are Kaplan–Meier estimates with open cases censored (sim/survival.py).
    warmup = model.cfg.sim.warmup_days * DAY
    disputes = disputes[disputes.t_raised >= warmup]
    days = (model.env.now - min(warmup, model.env.now)) / DAY
    metrics = dispute_metrics(disputes, model.residents.n, days, model.env.now)
    settle = survival.settle_days(disputes, model.env.now)
    metrics["time_to_settle_p50_days"] = survival.km_quantile(*settle, q=0.5, at_least=True)
    metrics["time_to_settle_p90_days"] = survival.km_quantile(*settle, q=0.9, at_least=True)
    if not isinstance(incidents, IncidentStats):
        incidents = IncidentStats(model.cfg.scenario.dispatch.p1_target_min,
                                  model.env.now, warmup).add(incidents)
    metrics.update(incidents.result())
    metrics.update(utilisation_metrics(model))
    metrics.update(link_metrics(model, disputes, days))
    metrics["annual_staffing_cost_yuan"] = staffing_cost(model)
    metrics["deterred_calls"] = float(model.deterred)
    metrics["duties_broken_per_day"] = (model.dispatcher.duties_broken / days if days > 0
                                        else math.nan)
    metrics["simulated_days"] = model.env.now / DAY
    return metrics
