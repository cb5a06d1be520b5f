"""Figures for a sweep, saved as PNG and SVG into ``<sweep dir>/figures/``.

``python -m experiments.plot <sweep dir> [--metrics ...]``

* ``response_ecdf``       response time (t_arrived - t_reported) ECDF per variant, one
  panel per priority;
* ``time_to_settle``      days from raised to closed for settled disputes, violin per variant;
* ``metric_vs_<param>``   chosen metrics against each numeric override (e.g.
  ``scenario.grids.count``) with t-based 95 % CI bands;
* ``cost_effectiveness``  annual staffing cost against P1 p90 response and violent turns,
  with the Pareto front.

A figure whose inputs are missing is skipped with a message rather than failing the rest.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from experiments.analysis import metrics_meta
from experiments.analysis.collect import (
    DISPUTES_FILE,
    INCIDENTS_FILE,
    InputError,
    label_columns,
    load_long_table,
    load_runs,
    metric_columns,
    require_dir,
    variant_order,
)
from experiments.analysis.compare import mean_ci
from sim.output import write_bytes

FIGURES_DIR = "figures"
MINUTES_PER_DAY = 1440.0
ECDF_POINTS = 401  # quantile grid: keeps SVGs small however many incidents there are
VIOLIN_MAX_POINTS = 20_000  # per variant; a KDE does not need millions of points
COST_METRIC = "annual_staffing_cost_yuan"
EFFECT_METRICS = ("response_p90_min_p1", "violent_turns_per_100k")
DEFAULT_PARAM_METRICS = ("response_p90_min_p1", "mean_queue_delay_min",
                         "violent_turns_per_100k", "mediation_success_rate", COST_METRIC)

Log = Callable[[str], None]


# --------------------------------------------------------------------------- helpers


def short_labels(variants: Sequence[str]) -> dict[str, str]:
    """Map variant strings to legend labels without the overrides all variants share."""
    split = {v: v.split(",") for v in variants}
    common = set.intersection(*(set(p) for p in split.values())) if split else set()
    labels = {v: ",".join(p for p in parts if p not in common) or v
              for v, parts in split.items()}
    # Stripping must not merge two variants into one legend entry.
    return labels if len(set(labels.values())) == len(labels) else {v: v for v in variants}


def _palette(variants: Sequence[str]) -> dict[str, tuple]:
    import seaborn as sns
    return dict(zip(variants, sns.color_palette(n_colors=max(len(variants), 1)), strict=False))


def save_figure(fig, outdir: Path, stem: str) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.svg`` atomically and close it."""
    import io

    import matplotlib.pyplot as plt
    paths = []
    for fmt in ("png", "svg"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight")
        paths.append(write_bytes(outdir / f"{stem}.{fmt}", buffer.getvalue()))
    plt.close(fig)
    return paths


def pareto_front(points: pd.DataFrame, x: str, y: str, x_dir: int = -1, y_dir: int = -1
                 ) -> pd.DataFrame:
    """Rows of ``points`` not dominated in (x, y); ``*_dir`` +1 maximise, -1/0 minimise.

    Returned sorted by x, ready to draw as a line.
    """
    # Flip to a minimise-minimise problem, then sweep along x keeping strict improvements in y.
    sx = -1.0 if x_dir > 0 else 1.0
    sy = -1.0 if y_dir > 0 else 1.0
    data = points.dropna(subset=[x, y])
    order = np.lexsort((sy * data[y].to_numpy(float), sx * data[x].to_numpy(float)))
    keep, best = [], np.inf
    for i in order:
        value = sy * float(data[y].iloc[i])
        if value < best:
            keep.append(i)
            best = value
    return data.iloc[keep].sort_values(x)


def _figure_legend(fig, ax) -> None:
    # Below the panels, so long variant labels never cover data.
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(3, max(1, len(names))), fontsize="small", frameon=False)


def _safe_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


# --------------------------------------------------------------------------- figures


def plot_response_ecdf(incidents: pd.DataFrame | None, variants: Sequence[str], outdir: Path,
                       log: Log = print) -> list[Path]:
    """ECDF of response time (minutes) per variant, faceted by priority."""
    import seaborn as sns
    needed = {"t_arrived", "t_reported", "priority", "variant"}
    if incidents is None or not needed <= set(incidents.columns):
        log("skip response_ecdf: no incidents table with t_arrived/t_reported/priority")
        return []
    if "source" in incidents.columns:
        # Incidents a patrol came upon are handled on the spot: no response to measure.
        incidents = incidents[incidents["source"] != "patrol"]
    data = incidents.assign(response=incidents["t_arrived"] - incidents["t_reported"])
    data = data.dropna(subset=["response", "priority"])
    if data.empty:
        log("skip response_ecdf: no incident was reached")
        return []
    grid = np.linspace(0.0, 1.0, ECDF_POINTS)
    curves = []
    for (variant, priority), group in data.groupby(["variant", "priority"], observed=True):
        curves.append(pd.DataFrame({
            "variant": variant, "priority": int(priority),
            "response_min": np.quantile(group["response"].to_numpy(float), grid),
            "share": grid,
        }))
    curves = pd.concat(curves, ignore_index=True)
    labels = short_labels(variants)
    curves["variant"] = curves["variant"].map(labels)
    order = [labels[v] for v in variants if labels[v] in set(curves["variant"])]
    palette = {labels[v]: c for v, c in _palette(variants).items()}
    g = sns.relplot(data=curves, x="response_min", y="share", hue="variant", hue_order=order,
                    col="priority", kind="line", drawstyle="steps-post", palette=palette,
                    height=3.2, aspect=1.1, facet_kws={"sharex": False})
    g.set_axis_labels("response time (min)", "cumulative share (reached incidents)")
    g.set_titles("priority {col_name}")
    g.figure.suptitle("Response time ECDF (reported → arrived)", y=1.03)
    return save_figure(g.figure, outdir, "response_ecdf")


def plot_time_to_settle(disputes: pd.DataFrame | None, variants: Sequence[str], outdir: Path,
                        log: Log = print) -> list[Path]:
    """Violin of time to settle (days) per variant, settled disputes only."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    needed = {"t_closed", "t_raised", "outcome", "variant"}
    if disputes is None or not needed <= set(disputes.columns):
        log("skip time_to_settle: no disputes table with t_raised/t_closed/outcome")
        return []
    settled = disputes[disputes["outcome"].astype(str) == "settled"]
    settled = settled.assign(days=(settled["t_closed"] - settled["t_raised"]) / MINUTES_PER_DAY)
    settled = settled.dropna(subset=["days"])
    if settled.empty:
        log("skip time_to_settle: no settled dispute")
        return []
    # A fixed-seed subsample keeps the figure reproducible and fast on huge sweeps.
    settled = (settled.sample(frac=1.0, random_state=0)
               .groupby("variant", observed=True).head(VIOLIN_MAX_POINTS))
    labels = short_labels(variants)
    settled = settled.assign(variant=settled["variant"].map(labels))
    order = [labels[v] for v in variants if labels[v] in set(settled["variant"])]
    palette = {labels[v]: c for v, c in _palette(variants).items()}
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(order)), 4.0))
    sns.violinplot(data=settled, x="variant", y="days", hue="variant", order=order,
                   hue_order=order, palette=palette, cut=0, inner="quartile", legend=False,
                   ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("time to settle (days)")
    ax.set_title("Time to settle, settled disputes")
    ax.tick_params(axis="x", labelrotation=20)
    return save_figure(fig, outdir, "time_to_settle")


def numeric_parameters(runs: pd.DataFrame) -> list[str]:
    """Override columns whose values all parse as numbers and take at least two values."""
    found = []
    for col in label_columns(runs):
        values = runs[col].dropna()
        numeric = pd.to_numeric(values, errors="coerce")
        if len(values) and numeric.notna().all() and numeric.nunique() >= 2:
            found.append(col)
    return found


def _summarise(runs: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    rows = []
    for key, group in runs.groupby(by, observed=True, dropna=False):
        n, mean, lo, hi = mean_ci(group[metric])
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key, strict=True)), "n": n, "mean": mean,
                     "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def plot_metric_vs_parameter(runs: pd.DataFrame, param: str, metrics: Sequence[str],
                             outdir: Path) -> list[Path]:
    """Metric means with 95 % t-CI bands against one numeric override column."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    data = runs.assign(_x=pd.to_numeric(runs[param], errors="coerce")).dropna(subset=["_x"])
    others = [c for c in label_columns(runs) if c != param and runs[c].nunique() > 1]
    data["_group"] = (data[others].astype(str).apply(
        lambda r: ",".join(f"{c}={v}" for c, v in r.items()), axis=1) if others else "all")
    # Lines only make sense if some other-factor group actually spans several x values
    # (a factorial design); otherwise each variant is a single point with an error bar.
    spans = data.groupby("_group")["_x"].nunique().max() >= 2
    hue = "_group" if spans else "variant"
    hues = list(dict.fromkeys(data[hue].astype(str)))
    colors = dict(zip(hues, sns.color_palette(n_colors=len(hues)), strict=False))
    names = short_labels(hues) if hue == "variant" else {h: h for h in hues}
    ncols = min(3, len(metrics))
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    # Single points at the same x (e.g. two policies at one grid count) would hide each other.
    x_span = float(data["_x"].max() - data["_x"].min()) or 1.0
    dodge = {h: 0.0 if spans else (i - (len(hues) - 1) / 2) * 0.02 * x_span
             for i, h in enumerate(hues)}
    for ax, metric in zip(axes.flat, metrics, strict=False):
        summary = _summarise(data.astype({hue: str}), [hue, "_x"], metric).sort_values("_x")
        for h in hues:
            part = summary[summary[hue] == h]
            if part.empty:
                continue
            ax.errorbar(part["_x"] + dodge[h], part["mean"],
                        yerr=[part["mean"] - part["lo"], part["hi"] - part["mean"]],
                        fmt="o-" if spans else "o", color=colors[h], capsize=3,
                        label=names[h])
            if spans and len(part) >= 2:
                ax.fill_between(part["_x"], part["lo"], part["hi"], color=colors[h], alpha=0.2)
        ax.set_xlabel(param)
        ax.set_ylabel(metrics_meta.label(metric))
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(f"Metrics vs {param} (mean, 95% CI over seeds)")
    fig.tight_layout()
    _figure_legend(fig, axes.flat[0])
    return save_figure(fig, outdir, f"metric_vs_{_safe_stem(param)}")


def plot_cost_effectiveness(runs: pd.DataFrame, variants: Sequence[str], outdir: Path,
                            log: Log = print) -> list[Path]:
    """Staffing cost against effect metrics per variant, with the Pareto front."""
    import matplotlib.pyplot as plt
    if COST_METRIC not in runs.columns or runs[COST_METRIC].isna().all():
        log(f"skip cost_effectiveness: metric {COST_METRIC} absent")
        return []
    effects = [m for m in EFFECT_METRICS if m in runs.columns and runs[m].notna().any()]
    if not effects:
        log(f"skip cost_effectiveness: none of {EFFECT_METRICS} present")
        return []
    labels = short_labels(variants)
    colors = _palette(variants)
    fig, axes = plt.subplots(1, len(effects), figsize=(5.0 * len(effects), 4.0), squeeze=False)
    for ax, effect in zip(axes[0], effects, strict=True):
        rows = []
        for variant in variants:
            part = runs[runs["variant"] == variant]
            _, cx, cx_lo, cx_hi = mean_ci(part[COST_METRIC])
            _, ey, ey_lo, ey_hi = mean_ci(part[effect])
            rows.append({"variant": variant, "cost": cx, "effect": ey,
                         "xerr": 0.0 if np.isnan(cx_lo) else (cx_hi - cx_lo) / 2,
                         "yerr": 0.0 if np.isnan(ey_lo) else (ey_hi - ey_lo) / 2})
        points = pd.DataFrame(rows)
        for row in points.itertuples():
            ax.errorbar(row.cost, row.effect, xerr=row.xerr, yerr=row.yerr, fmt="o",
                        color=colors[row.variant], capsize=3, label=labels[row.variant])
        front = pareto_front(points, "cost", "effect", metrics_meta.direction(COST_METRIC),
                             metrics_meta.direction(effect))
        ax.plot(front["cost"], front["effect"], "--", color="grey", label="Pareto front")
        ax.set_xlabel(metrics_meta.label(COST_METRIC))
        ax.set_ylabel(metrics_meta.label(effect))
    fig.suptitle("Cost-effectiveness (mean, 95% CI over seeds)")
    fig.tight_layout()
    _figure_legend(fig, axes[0][0])
    return save_figure(fig, outdir, "cost_effectiveness")


# --------------------------------------------------------------------------- driver


def plot_sweep(sweep_dir: str | Path, metrics: Sequence[str] | None = None,
               log: Log = print) -> list[Path]:
    """Draw every figure that the sweep's data allows; return the files written."""
    matplotlib.use("Agg")  # headless and deterministic, whatever the user's default is
    sweep = require_dir(sweep_dir)
    runs = load_runs(sweep, log=log)
    variants = variant_order(runs)
    outdir = sweep / FIGURES_DIR
    outdir.mkdir(exist_ok=True)
    available = metric_columns(runs)
    if metrics is None:
        metrics = [m for m in DEFAULT_PARAM_METRICS if m in available] or available[:4]
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise InputError(f"unknown metric(s) {unknown}; available: {', '.join(available)}")

    written = []
    written += plot_response_ecdf(load_long_table(sweep, INCIDENTS_FILE), variants, outdir, log)
    written += plot_time_to_settle(load_long_table(sweep, DISPUTES_FILE), variants, outdir, log)
    params = numeric_parameters(runs)
    if not params:
        log("skip metric_vs_parameter: no numeric override column varies in this sweep")
    elif metrics:
        for param in params:
            written += plot_metric_vs_parameter(runs, param, metrics, outdir)
    written += plot_cost_effectiveness(runs, variants, outdir, log)
    return written


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.plot",
                                     description="Draw sweep figures into <sweep dir>/figures/.")
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC",
                        help="metrics for the metric-vs-parameter figure")
    args = parser.parse_args(argv)
    metrics = [m for v in args.metrics for m in v.split(",") if m] if args.metrics else None
    try:
        written = plot_sweep(args.sweep_dir, metrics)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
