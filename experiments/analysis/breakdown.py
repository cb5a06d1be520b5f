"""Metrics per place, hour, priority or category, per run: the input of ``compare --by``.

From the sweep's stacked ``incidents`` and ``disputes`` tables, each run's records are split
by one key and the run's metrics are computed per group, the same way the run computes them
district-wide (records started in the warm-up left out, times censoring-aware through
``sim.survival``). The result has one row per (run, group), so the comparison that follows
pairs seeds within each group exactly as it does for the whole district.

Keys: ``grid``, ``community``, ``street`` (numbered from 1, as on the map), ``hour`` (0-23,
of reporting or raising), ``weekday`` (Mon-Sun; day 1 of a run is a Monday, as the call
profile has it), ``priority`` (1-3) and ``category`` (dispute category). Incidents have grid,
community, hour, weekday and priority; disputes street, community, hour, weekday and
category.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.collect import (
    DISPUTES_FILE,
    INCIDENTS_FILE,
    SUMMARY_FILE,
    InputError,
    load_long_table,
)
from sim.clock import DAY
from sim.metrics import mediation_rates, queue_waits, unreached
from sim.survival import km_quantile, response_minutes, settle_days

BY_CHOICES = ("grid", "street", "community", "hour", "weekday", "priority", "category")
INCIDENT_KEYS = ("grid", "community", "hour", "weekday", "priority")
DISPUTE_KEYS = ("street", "community", "hour", "weekday", "category")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
INCIDENT_METRICS = ("incidents", "response_p50_min", "response_p90_min",
                    "p1_within_5min_share", "mean_queue_delay_min", "unreached_share")
DISPUTE_METRICS = ("disputes_raised", "mediation_success_rate", "time_to_settle_p50_days",
                   "time_to_settle_p90_days", "escalation_rate", "violent_turns")


def run_context(sweep: Path, jobs) -> dict[str, dict]:
    """Per job: the run's end and warm-up (minutes), P1 target and grid count, from its
    summary.json (defaults where a field is missing)."""
    out = {}
    for job in jobs:
        try:
            summary = json.loads((sweep / str(job) / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = {}
        cfg = summary.get("config") or {}
        sim = cfg.get("sim") or {}
        metrics = summary.get("metrics") or {}
        days = metrics.get("simulated_days") or sim.get("days")
        dispatch = (cfg.get("scenario") or {}).get("dispatch") or {}
        out[str(job)] = {
            "now": float(days) * DAY if days is not None else math.nan,
            "warmup": float(sim.get("warmup_days") or 0.0) * DAY,
            "p1_target": float(dispatch.get("p1_target_min", 5.0)),
            "grids": (summary.get("structure") or {}).get("grids"),
        }
    return out


def _keys(table: pd.DataFrame, by: str, time_col: str) -> pd.Series:
    if by in ("grid", "community", "street"):
        return table[by].astype("int64") + 1
    if by == "hour":
        return (np.floor(table[time_col] / 60.0) % 24).astype("int64")
    if by == "weekday":
        day = (np.floor(table[time_col] / DAY) % 7).astype("int64")
        return pd.Categorical.from_codes(day, categories=list(WEEKDAYS), ordered=True)
    if by == "priority":
        return table["priority"].astype("int64")
    return table[by].astype(str)


def _share(mask) -> float:
    return float(np.mean(mask)) if len(mask) else math.nan


def _incident_arrays(inc: pd.DataFrame) -> dict[str, np.ndarray]:
    # Tables written before callers could give up have no abandoned columns: nobody gave up.
    n = len(inc)
    return {"source": inc["source"].astype(str).to_numpy(),
            "overflow": inc["overflow"].to_numpy(bool), "priority": inc["priority"].to_numpy(),
            "abandoned": (inc["abandoned"].to_numpy(bool) if "abandoned" in inc
                          else np.zeros(n, bool)),
            "t_reported": inc["t_reported"].to_numpy(float),
            "t_dispatched": inc["t_dispatched"].to_numpy(float),
            "t_abandoned": (inc["t_abandoned"].to_numpy(float) if "t_abandoned" in inc
                            else np.full(n, math.nan)),
            "t_arrived": inc["t_arrived"].to_numpy(float)}


def _incident_values(a: dict[str, np.ndarray], now: float, p1_target: float) -> dict:
    reported = a["source"] != "patrol"
    kept = reported & ~a["overflow"]
    t_rep = a["t_reported"]
    response = response_minutes(a, now)
    waited = queue_waits(t_rep, a["t_dispatched"], a["t_abandoned"], now)[kept]
    p1 = reported & (a["priority"] == 1)
    with np.errstate(invalid="ignore"):
        on_time = ((a["t_arrived"] - t_rep) <= p1_target) & ~a["overflow"]
    return {
        "incidents": float(reported.sum()),
        "response_p50_min": km_quantile(*response, q=0.5, at_least=True),
        "response_p90_min": km_quantile(*response, q=0.9, at_least=True),
        "p1_within_5min_share": _share(on_time[p1]),
        "mean_queue_delay_min": float(waited.mean()) if len(waited) else math.nan,
        "unreached_share": _share(unreached(a["t_arrived"], a["overflow"], a["abandoned"])[kept]),
    }


def incident_metrics(inc: pd.DataFrame, now: float, p1_target: float) -> dict[str, float]:
    """The incident metrics of one group of one run (see the module docstring)."""
    return _incident_values(_incident_arrays(inc), now, p1_target)


def _dispute_arrays(dis: pd.DataFrame) -> dict[str, np.ndarray]:
    return {"outcome": dis["outcome"].astype(str).to_numpy(),
            "t_raised": dis["t_raised"].to_numpy(float),
            "t_closed": dis["t_closed"].to_numpy(float),
            "escalations": dis["escalations"].to_numpy(float)}


def _dispute_values(a: dict[str, np.ndarray], now: float) -> dict:
    outcome = a["outcome"]
    settle = settle_days(a, now)
    rates = mediation_rates(outcome, a["escalations"])
    return {
        "disputes_raised": float(len(outcome)),
        "mediation_success_rate": rates["mediation_success_rate"],
        "time_to_settle_p50_days": km_quantile(*settle, q=0.5, at_least=True),
        "time_to_settle_p90_days": km_quantile(*settle, q=0.9, at_least=True),
        "escalation_rate": rates["escalation_rate"],
        "violent_turns": float((outcome == "violent").sum()),
    }


def dispute_metrics(dis: pd.DataFrame, now: float) -> dict[str, float]:
    """The dispute metrics of one group of one run."""
    return _dispute_values(_dispute_arrays(dis), now)


def _per_group(table: pd.DataFrame, by: str, time_col: str, context: dict,
               arrays, values) -> pd.DataFrame:
    rows = []
    times = [c for c in table.columns if c.startswith("t_")]
    for job, run in table.groupby("job", sort=False, observed=True):
        if str(job) not in context:
            continue   # a run the comparison leaves out (its seed is not in every variant)
        ctx = context[str(job)]
        now = ctx.get("now", math.nan)
        if math.isnan(now):
            now = float(np.nanmax(run[times].to_numpy(float)))
        run = run[run[time_col] >= ctx.get("warmup", 0.0)]
        if run.empty:
            continue
        codes, groups = pd.factorize(pd.Series(_keys(run, by, time_col)), sort=True)
        order = np.argsort(codes, kind="stable")
        starts = np.searchsorted(codes[order], np.arange(len(groups) + 1))
        data = arrays(run)
        for i, group in enumerate(groups):
            idx = order[starts[i]:starts[i + 1]]
            rows.append({"job": str(job), "group": group,
                         **values({k: v[idx] for k, v in data.items()}, now, ctx)})
    return pd.DataFrame(rows)


def group_metrics(sweep: Path, runs: pd.DataFrame, by: str) -> pd.DataFrame:
    """One row per (run, group): variant, seed, job, group and the group's metrics.

    Raises InputError for an unknown key, a missing table, or grid numbers that name
    different areas in different variants.
    """
    if by not in BY_CHOICES:
        raise InputError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")
    context = run_context(sweep, runs["job"].astype(str))
    if by == "grid":
        counts = {v: {context[str(j)]["grids"] for j in runs.loc[runs["variant"] == v, "job"]}
                  for v in runs["variant"].unique()}
        distinct = {c for cs in counts.values() for c in cs}
        if len(distinct) > 1:
            raise InputError(f"--by grid: the variants have different patrol grids "
                             f"({', '.join(map(str, sorted(distinct, key=str)))}), so a grid "
                             "number names a different area in each; use --by community or "
                             "--by street")
    parts = []
    if by in INCIDENT_KEYS:
        incidents = load_long_table(sweep, INCIDENTS_FILE)
        if incidents is None:
            raise InputError(f"--by {by}: no {INCIDENTS_FILE} in {sweep} (run collect)")
        parts.append(_per_group(incidents, by, "t_reported", context, _incident_arrays,
                                lambda a, now, ctx: _incident_values(
                                    a, now, ctx.get("p1_target", 5.0))))
    if by in DISPUTE_KEYS:
        disputes = load_long_table(sweep, DISPUTES_FILE)
        if disputes is None:
            raise InputError(f"--by {by}: no {DISPUTES_FILE} in {sweep} (run collect)")
        parts.append(_per_group(disputes, by, "t_raised", context, _dispute_arrays,
                                lambda a, now, ctx: _dispute_values(a, now)))
    parts = [p for p in parts if not p.empty]
    if not parts:
        raise InputError(f"--by {by}: the sweep's tables hold no records")
    table = parts[0]
    for other in parts[1:]:
        table = table.merge(other, on=["job", "group"], how="outer")
    # A group absent from a run had no records there: zero counts, undefined everything else.
    groups = pd.Series(table["group"].unique())
    every = (runs[["variant", "seed", "job"]].astype({"variant": str, "job": str})
             .merge(pd.DataFrame({"group": groups}), how="cross"))
    table = every.merge(table, on=["job", "group"], how="left")
    for count in ("incidents", "disputes_raised", "violent_turns"):
        if count in table:
            table[count] = table[count].fillna(0.0)
    if by == "weekday":
        table["group"] = pd.Categorical(table["group"].astype(str), categories=list(WEEKDAYS),
                                        ordered=True)
    return table.sort_values(["group", "variant", "seed"], kind="stable").reset_index(drop=True)
