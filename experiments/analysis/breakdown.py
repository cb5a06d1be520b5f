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
from sim.survival import DAY, km_quantile, response_minutes, settle_days

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


def incident_metrics(inc: pd.DataFrame, now: float, p1_target: float) -> dict[str, float]:
    """The incident metrics of one group of one run (see the module docstring)."""
    reported = inc[inc["source"].astype(str) != "patrol"]
    overflow = reported["overflow"].astype(bool)
    kept = reported[~overflow]
    response = response_minutes(inc, now)
    waited = kept["t_dispatched"].fillna(now) - kept["t_reported"]
    p1 = reported[reported["priority"] == 1]
    on_time = ((p1["t_arrived"] - p1["t_reported"]) <= p1_target) & ~p1["overflow"].astype(bool)
    return {
        "incidents": float(len(reported)),
        "response_p50_min": km_quantile(*response, q=0.5, at_least=True),
        "response_p90_min": km_quantile(*response, q=0.9, at_least=True),
        "p1_within_5min_share": _share(on_time.to_numpy()),
        "mean_queue_delay_min": float(waited.mean()) if len(waited) else math.nan,
        "unreached_share": _share(kept["t_arrived"].isna().to_numpy()),
    }


def dispute_metrics(dis: pd.DataFrame, now: float) -> dict[str, float]:
    """The dispute metrics of one group of one run."""
    outcome = dis["outcome"].astype(str)
    closed = outcome[outcome != "open"]
    settle = settle_days(dis, now)
    escalated = dis.loc[outcome != "open", "escalations"] > 0
    return {
        "disputes_raised": float(len(dis)),
        "mediation_success_rate": _share((closed == "settled").to_numpy()),
        "time_to_settle_p50_days": km_quantile(*settle, q=0.5, at_least=True),
        "time_to_settle_p90_days": km_quantile(*settle, q=0.9, at_least=True),
        "escalation_rate": _share(escalated.to_numpy()),
        "violent_turns": float((outcome == "violent").sum()),
    }


def _per_group(table: pd.DataFrame, by: str, time_col: str, context: dict,
               compute) -> pd.DataFrame:
    rows = []
    for job, run in table.groupby("job", sort=False, observed=True):
        ctx = context.get(str(job), {})
        now = ctx.get("now", math.nan)
        if math.isnan(now):
            now = float(np.nanmax(run.filter(like="t_").to_numpy(float)))
        run = run[run[time_col] >= ctx.get("warmup", 0.0)]
        keys = _keys(run, by, time_col)
        first = run.iloc[0] if len(run) else None
        for group, part in run.groupby(keys, sort=True, observed=True):
            rows.append({"variant": first["variant"], "seed": first["seed"], "job": str(job),
                         "group": group, **compute(part, now, ctx)})
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
        parts.append(_per_group(incidents, by, "t_reported", context,
                                lambda t, now, ctx: incident_metrics(t, now, ctx.get(
                                    "p1_target", 5.0))))
    if by in DISPUTE_KEYS:
        disputes = load_long_table(sweep, DISPUTES_FILE)
        if disputes is None:
            raise InputError(f"--by {by}: no {DISPUTES_FILE} in {sweep} (run collect)")
        parts.append(_per_group(disputes, by, "t_raised", context,
                                lambda t, now, ctx: dispute_metrics(t, now)))
    parts = [p for p in parts if not p.empty]
    if not parts:
        raise InputError(f"--by {by}: the sweep's tables hold no records")
    table = parts[0]
    for other in parts[1:]:
        table = table.merge(other, on=["variant", "seed", "job", "group"], how="outer")
    # A group absent from a run had no records there: zero counts, undefined everything else.
    groups = pd.Series(table["group"].unique())
    every = (runs[["variant", "seed", "job"]].astype({"variant": str, "job": str})
             .merge(pd.DataFrame({"group": groups}), how="cross"))
    table = every.merge(table.drop(columns=["variant", "seed"]), on=["job", "group"],
                        how="left")
    for count in ("incidents", "disputes_raised", "violent_turns"):
        if count in table:
            table[count] = table[count].fillna(0.0)
    if by == "weekday":
        table["group"] = pd.Categorical(table["group"].astype(str), categories=list(WEEKDAYS),
                                        ordered=True)
    return table.sort_values(["group", "variant", "seed"], kind="stable").reset_index(drop=True)
