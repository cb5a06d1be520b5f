"""Figures for a sweep, saved as PNG and SVG into ``<sweep dir>/figures/``.

``python -m experiments.plot <sweep dir> [--baseline LABEL] [--metrics ...]``

* ``response_ecdf``       response time (t_arrived - t_reported) ECDF per variant, one
  panel per priority;
* ``time_to_settle``      days from raised to closed for settled disputes, violin per variant;
* ``metric_vs_<param>``   the change from the baseline of chosen metrics against each numeric
  parameter that varies, paired by seed, with its 95 % band (the same paired interval as the
  comparison table). The parameter is a numeric override or, for presets such as
  ``policy=grids_50``, the resolved config value that differs (``scenario.grids.count``);
* ``cost_effectiveness``  annual staffing cost against P1 p90 response and violent turns;
  the front joins the variants that no cheaper (or equally cheap) variant matches: a variant
  is dropped only when one at most as costly is not detectably worse (paired interval);
* ``brief_forest_<lang>`` (drawn by ``report``) paired effects with their intervals and
  margins;
* ``brief_map_<lang>`` (drawn by ``report``) the change per grid, street or community on the
  run's ``district.geojson``, one panel per variant and metric.

Every variant keeps its colour from sweep to sweep (a hash of its label picks it) and the
baseline is always dark grey. A figure whose inputs are missing is skipped with a message
rather than failing the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from experiments.analysis import metrics_meta
from experiments.analysis.collect import (
    DISPUTES_FILE,
    INCIDENTS_FILE,
    SUMMARY_FILE,
    InputError,
    constant_overrides,
    label_columns,
    load_long_table,
    load_runs,
    metric_columns,
    require_dir,
    variant_order,
)
from experiments.analysis.inference import (
    BETTER,
    EQUIVALENT,
    IDENTICAL,
    INSUFFICIENT,
    NON_INFERIOR,
    WORSE,
    mean_ci,
    paired_test,
    verdict,
)
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
    """Map variant strings to legend labels without the overrides all variants share, named
    as every figure names them (``display_name``: ``policy=baseline`` -> ``baseline``)."""
    split = {v: v.split(",") for v in variants}
    common = set.intersection(*(set(p) for p in split.values())) if split else set()
    labels = {v: display_name(",".join(p for p in parts if p not in common) or v)
              for v, parts in split.items()}
    # Stripping must not merge two variants into one legend entry.
    if len(set(labels.values())) == len(labels):
        return labels
    return {v: display_name(v) for v in variants}


BASELINE_COLOUR = "#4d4d4d"
# tab10 without its grey (the baseline's), then the light tab20 tones for large sweeps.
VARIANT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                   "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5")
CJK_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                  "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "SimHei")


def variant_colours(variants: Sequence[str], baseline: str | None = None) -> dict[str, str]:
    """A colour per variant that does not depend on the other variants of the sweep.

    The baseline is always dark grey; every other variant's colour is picked by a hash of its
    label (the next free one on a clash), so ``policy=grids_50`` looks the same in every
    report.
    """
    out = {baseline: BASELINE_COLOUR} if baseline in variants else {}
    used = set(out.values())
    others = sorted((v for v in variants if v != baseline),
                    key=lambda v: hashlib.md5(v.encode()).hexdigest())
    for v in others:
        start = int(hashlib.md5(v.encode()).hexdigest(), 16) % len(VARIANT_COLOURS)
        for k in range(len(VARIANT_COLOURS)):
            colour = VARIANT_COLOURS[(start + k) % len(VARIANT_COLOURS)]
            if colour not in used:
                break
        else:
            colour = VARIANT_COLOURS[start]  # more variants than colours: reuse
        out[v] = colour
        used.add(colour)
    return {v: out[v] for v in variants}


def _palette(variants: Sequence[str], baseline: str | None = None) -> dict[str, str]:
    return variant_colours(variants, baseline)


def use_cjk_font() -> None:
    """Let matplotlib draw Chinese labels (WenQuanYi or Noto CJK when installed)."""
    from matplotlib import font_manager
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in CJK_FONT_FILES:
        if path not in known and os.path.exists(path):
            font_manager.fontManager.addfont(path)
    present = {f.name for f in font_manager.fontManager.ttflist}
    matplotlib.rcParams["font.family"] = ["DejaVu Sans",
                                          *[f for f in CJK_FAMILIES if f in present]]
    matplotlib.rcParams["axes.unicode_minus"] = False
    warnings.filterwarnings("ignore", message="Glyph .* missing from font")


def display_name(variant: str) -> str:
    """``policy=grids_50`` -> ``grids_50``; ``policy.part_time_factor=0.667`` ->
    ``part_time_factor=0.667``: what a reader calls the variant."""
    parts = []
    for part in variant.split(","):
        key, sep, value = part.partition("=")
        key = key.lstrip("+~")
        if not sep:
            parts.append(part)
        elif key in ("policy", "scenario"):
            parts.append(value)
        else:
            parts.append(f"{key.rsplit('.', 1)[-1]}={value}")
    return ", ".join(parts)


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
                       log: Log = print, colours: Mapping[str, str] | None = None
                       ) -> list[Path]:
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
    palette = {labels[v]: c for v, c in (colours or _palette(variants)).items()}
    g = sns.relplot(data=curves, x="response_min", y="share", hue="variant", hue_order=order,
                    col="priority", kind="line", drawstyle="steps-post", palette=palette,
                    height=3.2, aspect=1.1, facet_kws={"sharex": False})
    g.set_axis_labels("response time (min)", "cumulative share (reached incidents)")
    g.set_titles("priority {col_name}")
    g.figure.suptitle("Response time ECDF (reported → arrived)", y=1.03)
    return save_figure(g.figure, outdir, "response_ecdf")


def plot_time_to_settle(disputes: pd.DataFrame | None, variants: Sequence[str], outdir: Path,
                        log: Log = print, colours: Mapping[str, str] | None = None
                        ) -> list[Path]:
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
    palette = {labels[v]: c for v, c in (colours or _palette(variants)).items()}
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


def _flatten(node, prefix: str = "") -> dict[str, float]:
    out = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out[prefix[:-1]] = float(node)
    return out


def config_parameters(sweep: Path, runs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Numeric config values that differ between variants, from each variant's resolved
    config (summary.json): what a preset such as ``policy=grids_50`` sets.

    Parameters that order the variants the same way as an earlier one are left out (a factor
    and the head counts it scales say the same thing); ``policy.*`` keys come first.
    """
    per_variant: dict[str, dict[str, float]] = {}
    for variant, part in runs.groupby("variant", sort=False):
        try:
            summary = json.loads((sweep / str(part["job"].iloc[0]) / SUMMARY_FILE)
                                 .read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        config = {k: v for k, v in (summary.get("config") or {}).items() if k != "seed"}
        per_variant[str(variant)] = _flatten(config)
    if len(per_variant) < 2:
        return {}
    keys = set.intersection(*(set(v) for v in per_variant.values()))
    varying = [k for k in keys if len({v[k] for v in per_variant.values()}) > 1]
    varying.sort(key=lambda k: (not k.startswith("policy."), k))
    out, patterns = {}, set()
    for key in varying:
        values = {v: cfg[key] for v, cfg in per_variant.items()}
        pattern = tuple(pd.Series(values).rank(method="dense").tolist())
        if pattern in patterns or pattern[::-1] in patterns:
            continue
        patterns.add(pattern)
        out[key] = values
    return out


def _paired(runs: pd.DataFrame, variant: str, baseline: str, metric: str,
            level: float = 0.95):
    per_seed = runs.dropna(subset=["seed"]).groupby(["variant", "seed"])[metric].mean()

    def get(v):
        return (per_seed.loc[v] if v in per_seed.index.get_level_values(0)
                else pd.Series(dtype=float))
    meta = metrics_meta.meta(metric)
    span = meta.range[1] - meta.range[0]
    return paired_test(get(variant), get(baseline), level, span=span)


def plot_metric_vs_parameter(runs: pd.DataFrame, param: str, metrics: Sequence[str],
                             outdir: Path, baseline: str | None = None,
                             values: Mapping[str, float] | None = None,
                             colours: Mapping[str, str] | None = None) -> list[Path]:
    """Change from the baseline (paired by seed, with its 95 % band) against a parameter.

    ``values`` gives the parameter per variant (from the resolved config); without it the
    override column ``param`` is read.
    """
    import matplotlib.pyplot as plt
    runs = runs.astype({"variant": str})
    variants = variant_order(runs)
    baseline = baseline if baseline in variants else variants[0]
    if values is None:
        values = {v: float(pd.to_numeric(runs.loc[runs["variant"] == v, param],
                                         errors="coerce").iloc[0]) for v in variants}
    xs = {v: values.get(v, math.nan) for v in variants}
    with_x = runs.assign(_x=runs["variant"].map(xs))
    others = [c for c in label_columns(runs) if c != param and runs[c].nunique() > 1]

    # Variants that differ in something besides the parameter form separate lines.
    def line_key(v: str) -> str:
        row = runs.loc[runs["variant"] == v].iloc[0]
        return ",".join(f"{c}={row[c]}" for c in others
                        if not _same_partition(with_x, c, "_x")) or "all"
    lines: dict[str, list[str]] = {}
    for v in variants:
        if not math.isnan(xs[v]):
            lines.setdefault(line_key(v), []).append(v)
    colours = colours or variant_colours(variants, baseline)
    ncols = min(3, len(metrics))
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        ax.axhline(0.0, color=BASELINE_COLOUR, lw=0.8)
        scale = 100.0 if metrics_meta.kind(metric) == "share" else 1.0
        for members in lines.values():
            rows = []
            for v in sorted(members, key=lambda v: xs[v]):
                if v == baseline:
                    rows.append((xs[v], 0.0, 0.0, 0.0, v))
                    continue
                d = _paired(runs, v, baseline, metric)
                rows.append((xs[v], d.diff * scale, d.low * scale, d.high * scale, v))
            x, mid, lo, hi, names = (np.array(c) if i < 4 else list(c)
                                     for i, c in enumerate(zip(*rows, strict=True)))
            if len(x) >= 2:
                ax.plot(x, mid, "-", color="#999999", lw=1, zorder=1)
                ok = ~np.isnan(lo)
                ax.fill_between(x[ok], lo[ok], hi[ok], color="#999999", alpha=0.2, lw=0)
            for xi, m, low, high, name in zip(x, mid, lo, hi, names, strict=True):
                err = None if np.isnan(low) else [[m - low], [high - m]]
                ax.errorbar(xi, m, yerr=err, fmt="o", color=colours.get(name, "k"),
                            capsize=3, label=display_name(name), zorder=2)
        margin = metrics_meta.default_margin(metric)
        if isinstance(margin, float):
            for sign in (-1, 1):
                ax.axhline(sign * margin * scale, color="#999999", ls=":", lw=0.8)
        unit = " (pt)" if scale == 100.0 else (f" ({metrics_meta.label_unit(metric)})"
                                                if metrics_meta.label_unit(metric) else "")
        ax.set_xlabel(param)
        ax.set_ylabel(f"Δ {metrics_meta.label(metric, unit=False)}{unit}", fontsize="small")
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(f"Change from {display_name(baseline)} vs {param} "
                 "(paired by seed, 95% band; dotted: ±margin)")
    fig.tight_layout()
    handles, names = axes.flat[0].get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(4, max(1, len(unique))), fontsize="small", frameon=False)
    return save_figure(fig, outdir, f"metric_vs_{_safe_stem(param)}")


def _same_partition(runs: pd.DataFrame, a: str, b: str) -> bool:
    # Two columns that always change together (policy=grids_50 and its grid count) are one
    # factor, not two.
    pairs = runs[[a, b]].astype(str).drop_duplicates()
    return pairs[a].is_unique and pairs[b].is_unique


# Paired verdicts (A - B on the effect) by which a variant A that costs no more than B
# matches B: shown not worse by more than the metric's margin, or better.
_MATCHES = (BETTER, EQUIVALENT, NON_INFERIOR, IDENTICAL)


def front_variants(runs: pd.DataFrame, variants: Sequence[str], effect: str,
                   cost: str = "annual_staffing_cost_yuan", level: float = 0.95,
                   margin: float | str | None = None) -> list[str]:
    """Variants nothing cheaper matches: B is dropped only when some A costs at most as much
    and the paired evidence shows A is not worse than B on ``effect`` by the metric's margin
    (the paired verdict of A against B, read as ``compare`` reads it, is better, equivalent,
    non-inferior or identical in every pair), and A is either cheaper or detectably better.

    An inconclusive comparison (too few seeds to rule out harm of a margin or more) removes
    nothing: low power must not take a variant off the front.  ``margin`` defaults to the
    metric's (a percentage applies to B's mean); with no margin (neutral metrics), only
    "better" or "identical in every pair" matches.  Noise alone never makes a front."""
    spec = metrics_meta.default_margin(effect) if margin is None else margin
    means = runs.groupby("variant")[[cost, effect]].mean()
    keep = []
    for b in variants:
        dominated = False
        for a in variants:
            if a == b or a not in means.index or b not in means.index:
                continue
            if not means.loc[a, cost] <= means.loc[b, cost]:
                continue
            d = _paired(runs, a, b, effect, level)
            if math.isnan(d.low) and not d.identical:
                continue
            said = verdict(effect, d.low, d.high,
                           metrics_meta.resolve_margin(spec, float(means.loc[b, effect])),
                           d.identical)
            if said in _MATCHES and (means.loc[a, cost] < means.loc[b, cost]
                                     or said == BETTER):
                dominated = True
                break
        if not dominated:
            keep.append(b)
    return keep


def plot_cost_effectiveness(runs: pd.DataFrame, variants: Sequence[str], outdir: Path,
                            log: Log = print, colours: Mapping[str, str] | None = None
                            ) -> list[Path]:
    """Staffing cost against effect metrics per variant, with the front of the variants that
    nothing cheaper matches (see :func:`front_variants`)."""
    import matplotlib.pyplot as plt
    if COST_METRIC not in runs.columns or runs[COST_METRIC].isna().all():
        log(f"skip cost_effectiveness: metric {COST_METRIC} absent")
        return []
    effects = [m for m in EFFECT_METRICS if m in runs.columns and runs[m].notna().any()]
    if not effects:
        log(f"skip cost_effectiveness: none of {EFFECT_METRICS} present")
        return []
    runs = runs.astype({"variant": str})
    labels = short_labels(variants)
    colours = colours or _palette(variants)
    fig, axes = plt.subplots(1, len(effects), figsize=(5.0 * len(effects), 4.0), squeeze=False)
    for ax, effect in zip(axes[0], effects, strict=True):
        rows = []
        for variant in variants:
            part = runs[runs["variant"] == variant]
            _, cx, cx_lo, cx_hi = mean_ci(part[COST_METRIC],
                                          bounds=metrics_meta.value_range(COST_METRIC))
            _, ey, ey_lo, ey_hi = mean_ci(part[effect], bounds=metrics_meta.value_range(effect))
            rows.append({"variant": variant, "cost": cx, "effect": ey,
                         "xerr": 0.0 if np.isnan(cx_lo) else (cx_hi - cx_lo) / 2,
                         "yerr": [[0.0 if np.isnan(ey_lo) else ey - ey_lo],
                                  [0.0 if np.isnan(ey_hi) else ey_hi - ey]]})
        points = pd.DataFrame(rows)
        for row in points.itertuples():
            ax.errorbar(row.cost, row.effect, xerr=row.xerr, yerr=row.yerr, fmt="o",
                        color=colours[row.variant], capsize=3, label=labels[row.variant])
        front = points[points["variant"].isin(front_variants(runs, variants, effect))]
        front = front.sort_values("cost")
        if len(front) >= 2:
            ax.plot(front["cost"], front["effect"], "--", color="grey",
                    label="front (paired evidence)")
        ax.set_xlabel(metrics_meta.label(COST_METRIC))
        ax.set_ylabel(metrics_meta.label(effect))
    fig.suptitle("Cost-effectiveness (mean, 95% CI over seeds)")
    fig.tight_layout()
    _figure_legend(fig, axes[0][0])
    return save_figure(fig, outdir, "cost_effectiveness")


# --------------------------------------------------------------------------- the brief


FOREST_TEXT = {
    "en": {"title": "Change from {base} (paired by seed, 95% CI; shaded: ±margin)",
           "better_right": "better →", "better_left": "← better"},
    "zh": {"title": "相对 {base} 的变化（按种子配对，95% 区间；阴影：容差）",
           "better_right": "更好 →", "better_left": "← 更好"},
}


def plot_forest(comparison: pd.DataFrame, metrics: Sequence[str], outdir: Path | None,
                lang: str = "en", colours: Mapping[str, str] | None = None,
                stem: str = "forest") -> tuple[list[Path], bytes]:
    """Paired effects of every variant on ``metrics``, one row each with its own scale.

    Returns the files written (none if ``outdir`` is None) and the PNG bytes.
    """
    import io

    import matplotlib.pyplot as plt
    if lang == "zh":
        use_cjk_font()
    text = FOREST_TEXT["zh" if lang == "zh" else "en"]
    rows = comparison[~comparison["is_baseline"] & comparison["metric"].isin(metrics)]
    # A metric identical in every pair for every variant has nothing to draw (the brief's
    # sentence says "unaffected").
    moved = rows[~rows["verdict"].isin([IDENTICAL, INSUFFICIENT])]
    metrics = [m for m in metrics if m in set(moved["metric"])] or \
        [m for m in metrics if m in set(rows["metric"])]
    base = comparison.loc[comparison["is_baseline"], "variant"].iloc[0]
    variants = list(dict.fromkeys(rows["variant"]))
    colours = colours or variant_colours([base, *variants], base)
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7.5, 0.55 + 0.62 * len(metrics)
                                                         * max(1, len(variants)) ** 0.5),
                             squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        part = rows[rows["metric"] == metric]
        scale = 100.0 if metrics_meta.kind(metric) == "share" else 1.0
        margin = part["margin"].iloc[0] * scale
        if not math.isnan(margin) and margin > 0:
            ax.axvspan(-margin, margin, color="#dddddd", lw=0)
        ax.axvline(0.0, color=BASELINE_COLOUR, lw=0.8)
        for i, r in enumerate(part.itertuples()):
            y = -i
            lo, hi, mid = r.diff_ci_low * scale, r.diff_ci_high * scale, r.diff * scale
            if not math.isnan(lo):
                ax.plot([lo, hi], [y, y], color=colours.get(r.variant, "k"), lw=2.2)
            ax.plot(mid, y, "o", color=colours.get(r.variant, "k"), ms=5,
                    label=display_name(r.variant))
        span = np.nanmax(np.abs(np.r_[part["diff_ci_low"], part["diff_ci_high"],
                                       part["diff"]] * scale))
        span = max(span if np.isfinite(span) else 0.0, margin if np.isfinite(margin) else 0.0)
        span = span * 1.15 or 1.0
        ax.set_xlim(-span, span)
        ax.set_ylim(-len(part) + 0.4, 0.6)
        ax.set_yticks([])
        unit = (("百分点" if lang == "zh" else "pt") if scale == 100.0
                else metrics_meta.label_unit(metric, lang))
        ax.set_ylabel(metrics_meta.label(metric, lang, unit=False) + (f"\n({unit})" if unit
                                                                       else ""),
                      rotation=0, ha="right", va="center", fontsize="small")
        ax.tick_params(axis="x", labelsize="x-small")
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
        sign = metrics_meta.direction(metric)
        if sign:
            ax.text(1.0 if sign > 0 else 0.0, 1.02, text["better_right" if sign > 0
                                                          else "better_left"],
                    transform=ax.transAxes, ha="right" if sign > 0 else "left",
                    fontsize="x-small", color="#2a7f2a")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    fig.suptitle(text["title"].format(base=display_name(base)), fontsize="medium")
    fig.tight_layout()
    if len(variants) > 1:
        handles, names = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(4, len(names)), fontsize="small", frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130, bbox_inches="tight")
    paths = save_figure(fig, outdir, stem) if outdir is not None else []
    plt.close(fig)
    return paths, buffer.getvalue()


MAP_LAYER = {"grid": "grid", "community": "community", "street": "community"}


def load_district_map(sweep: Path, runs: pd.DataFrame):
    """The run's district.geojson as a GeoDataFrame (the baseline's first run), or a reason
    string when there is none or geopandas is missing."""
    try:
        import geopandas as gpd
    except ImportError:
        return "geopandas is not installed"
    for job in runs["job"].astype(str):
        path = sweep / job / "district.geojson"
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                return gpd.GeoDataFrame.from_features(data["features"])
            except (OSError, ValueError, KeyError) as exc:
                return f"unreadable {path}: {exc}"
    return "the runs have no district.geojson"


def map_shapes(district, by: str):
    """Polygons per group of ``by`` (grid, community or street), numbered from 1."""
    layer = district[district["layer"] == MAP_LAYER[by]]
    if by == "street":
        layer = layer.dissolve(by="street_number", as_index=False)
        return layer.assign(group=layer["street_number"].astype(int))[["group", "geometry"]]
    return layer.assign(group=layer[by].astype(int))[["group", "geometry"]]


MAP_TEXT = {"en": {"title": "Where it changes: {metric} by {by}, {variant} − {base}",
                   "hatched": "hatched: no detectable change", "sup": "Change by {by}"},
            "zh": {"title": "{variant} − {base}：各{by}的{metric}变化",
                   "hatched": "斜线：无可检测的变化", "sup": "按{by}的变化"}}
BY_ZH = {"grid": "网格", "community": "社区", "street": "街道"}


def plot_change_map(breakdown: pd.DataFrame, district, metrics: Sequence[str],
                    outdir: Path | None, lang: str = "en", stem: str = "change_map"
                    ) -> tuple[list[Path], bytes]:
    """Small multiples: one map per (variant, metric), each area coloured by its paired
    change from the baseline (blue better, red worse), areas without a detectable change
    hatched, numbers as on the map. Metrics identical in every pair everywhere are left out.
    """
    import io

    import matplotlib.pyplot as plt
    from matplotlib import colors as mcolors
    if lang == "zh":
        use_cjk_font()
    text = MAP_TEXT["zh" if lang == "zh" else "en"]
    by = str(breakdown["by"].iloc[0])
    shapes = map_shapes(district, by)
    rows = breakdown[~breakdown["is_baseline"] & breakdown["metric"].isin(metrics)]
    moved = rows[~rows["verdict"].isin([IDENTICAL, INSUFFICIENT])]
    metrics = [m for m in metrics if m in set(moved["metric"])] or \
        [m for m in metrics if m in set(rows["metric"])][:1]
    variants = list(dict.fromkeys(rows["variant"]))
    base = breakdown.loc[breakdown["is_baseline"], "variant"].iloc[0]
    # Panels shaped like the district, so an elongated one is not drawn as a thumbnail.
    x0, y0, x1, y1 = shapes.total_bounds
    aspect = min(max((y1 - y0) / (x1 - x0), 0.3), 2.0) if x1 > x0 else 1.0
    width = 5.2 if len(metrics) > 1 else 7.0
    fig, axes = plt.subplots(len(variants), len(metrics),
                             figsize=(width * len(metrics), width * aspect * len(variants) + 0.8),
                             squeeze=False)
    by_text = BY_ZH.get(by, by) if lang == "zh" else by
    for j, metric in enumerate(metrics):
        sign = metrics_meta.direction(metric) or -1
        part = rows[rows["metric"] == metric]
        scale = 100.0 if metrics_meta.kind(metric) == "share" else 1.0
        vmax = float(np.nanmax(np.abs(part["diff"]))) * scale if len(part) else 0.0
        vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
        norm = mcolors.TwoSlopeNorm(vcenter=0.0, vmin=-vmax, vmax=vmax)
        cmap = "RdBu" if sign > 0 else "RdBu_r"
        unit = (("百分点" if lang == "zh" else "pt") if scale == 100.0
                else metrics_meta.label_unit(metric, lang))
        for i, variant in enumerate(variants):
            ax = axes[i, j]
            values = part[part["variant"] == variant].set_index("group")
            data = shapes.assign(
                change=shapes["group"].map(values["diff"] * scale),
                sure=shapes["group"].map(values["verdict"].isin([BETTER, WORSE])))
            data.plot(ax=ax, column="change", cmap=cmap, norm=norm, edgecolor="white",
                      linewidth=0.5, missing_kwds={"color": "#eeeeee"})
            unsure = data[data["sure"] != True]  # noqa: E712  (NaN counts as unsure)
            if len(unsure):
                unsure.plot(ax=ax, facecolor="none", edgecolor="#999999", hatch="////",
                            linewidth=0.0)
            if len(data) <= 60:
                for g, point in zip(data["group"], data.geometry.representative_point(),
                                    strict=True):
                    ax.annotate(str(g), (point.x, point.y), ha="center", va="center",
                                fontsize=6, color="#222222")
            ax.set_axis_off()
            ax.set_title(f"{metrics_meta.label(metric, lang)}"
                         + (f"\n{display_name(variant)}" if len(variants) > 1 else ""),
                         fontsize="small")
            bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                               shrink=0.7, fraction=0.05, pad=0.02)
            bar.set_label(f"Δ ({unit})" if unit else "Δ", fontsize="x-small")
            bar.ax.tick_params(labelsize="x-small")
    title = text["sup"].format(by=by_text)
    if len(variants) == 1:
        title += f": {display_name(variants[0])} − {display_name(base)}"
    fig.suptitle(f"{title} ({text['hatched']})", fontsize="medium")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    paths = save_figure(fig, outdir, stem) if outdir is not None else []
    plt.close(fig)
    return paths, buffer.getvalue()


# --------------------------------------------------------------------------- driver


def plot_sweep(sweep_dir: str | Path, metrics: Sequence[str] | None = None,
               log: Log = print, baseline: str | None = None) -> list[Path]:
    """Draw every figure that the sweep's data allows; return the files written."""
    from experiments.analysis.compare import default_baseline, resolve_variant

    matplotlib.use("Agg")  # headless and deterministic, whatever the user's default is
    sweep = require_dir(sweep_dir)
    runs = load_runs(sweep, log=log).astype({"variant": str})
    variants = variant_order(runs)
    base = (resolve_variant(baseline, variants, constant_overrides(runs)) if baseline
            else default_baseline(variants))
    colours = variant_colours(variants, base)
    outdir = sweep / FIGURES_DIR
    outdir.mkdir(exist_ok=True)
    available = metric_columns(runs)
    if metrics is None:
        metrics = [m for m in DEFAULT_PARAM_METRICS if m in available] or available[:4]
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise InputError(f"unknown metric(s) {unknown}; available: {', '.join(available)}")

    written = []
    written += plot_response_ecdf(load_long_table(sweep, INCIDENTS_FILE), variants, outdir, log,
                                  colours)
    written += plot_time_to_settle(load_long_table(sweep, DISPUTES_FILE), variants, outdir, log,
                                   colours)
    params = {p: None for p in numeric_parameters(runs)}
    if not params:
        params = config_parameters(sweep, runs)
    if not params:
        log("skip metric_vs_parameter: no numeric parameter varies in this sweep")
    elif metrics:
        for param, values in params.items():
            written += plot_metric_vs_parameter(runs, param, metrics, outdir, base, values,
                                                colours)
    written += plot_cost_effectiveness(runs, variants, outdir, log, colours)
    return written


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.plot",
                                     description="Draw sweep figures into <sweep dir>/figures/.")
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory")
    parser.add_argument("--baseline", help="baseline variant (changes are drawn against it; "
                        "default as in compare)")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC",
                        help="metrics for the metric-vs-parameter figure")
    args = parser.parse_args(argv)
    metrics = [m for v in args.metrics for m in v.split(",") if m] if args.metrics else None
    try:
        written = plot_sweep(args.sweep_dir, metrics, baseline=args.baseline)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
