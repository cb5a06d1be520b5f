"""Compare the variants of a sweep against a baseline, metric by metric.

``python -m experiments.compare <sweep dir> --baseline policy=baseline [--metrics ...]``

For each metric and variant: the mean over seeds with a t-based confidence interval, and
the difference from the baseline with a paired-t confidence interval. Runs are paired by
seed because the simulator uses common random numbers: the same seed gives every variant
the same demand, so pairing removes most of the seed-to-seed noise from the difference.
If fewer than two seeds are shared, a Welch (unpaired) interval is used instead and the
``method`` column says so. The verdict reads the interval against the metric's direction:
``better``/``worse`` (or ``higher``/``lower`` for neutral metrics) when it excludes 0,
otherwise ``no detectable difference``. Intervals are per comparison, not adjusted for
multiplicity: with many metrics, expect about 1 in 20 spurious verdicts at 95 %.

Writes ``comparison.csv`` (long, raw numbers) and ``comparison.md`` into the sweep dir.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from experiments.analysis import metrics_meta
from experiments.analysis.collect import (
    InputError,
    common_settings_line,
    constant_overrides,
    load_runs,
    metric_columns,
    parse_override,
    require_dir,
    variant_order,
)
from sim.output import write_text

COMPARISON_CSV = "comparison.csv"
COMPARISON_MD = "comparison.md"

BETTER, WORSE = "better", "worse"
HIGHER, LOWER = "higher", "lower"
NO_DIFFERENCE = "no detectable difference"
INSUFFICIENT = "insufficient data"
BASELINE = "baseline"


# --------------------------------------------------------------------------- statistics


@contextmanager
def _quiet_scipy():
    # scipy warns about "catastrophic cancellation" on identical values; the resulting
    # zero-width interval is exactly what we want to report, so the warning is noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def mean_ci(values: Sequence[float] | pd.Series, level: float = 0.95
            ) -> tuple[int, float, float, float]:
    """Return (n, mean, ci_low, ci_high) of the non-NaN values, CI from Student's t.

    With fewer than two values the interval is undefined and returned as NaN.
    """
    x = pd.Series(values, dtype="float64").dropna().to_numpy()
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    mean = float(np.mean(x))
    if n < 2:
        return n, mean, math.nan, math.nan
    with _quiet_scipy():
        ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence_level=level)
    return n, mean, float(ci.low), float(ci.high)


def paired_difference(treatment: pd.Series, baseline: pd.Series, level: float = 0.95
                      ) -> tuple[int, float, float, float, str]:
    """Difference treatment - baseline with a CI; both Series are indexed by seed.

    Returns (n_pairs, diff, ci_low, ci_high, method). ``method`` is ``paired`` when two or
    more seeds are shared, ``welch`` (unpaired, unequal variances) when not, or ``none``.
    """
    treatment = treatment.dropna()
    baseline = baseline.dropna()
    common = treatment.index.intersection(baseline.index)
    with _quiet_scipy():
        if len(common) >= 2:
            a = treatment.loc[common].to_numpy(float)
            b = baseline.loc[common].to_numpy(float)
            ci = stats.ttest_rel(a, b).confidence_interval(confidence_level=level)
            return len(common), float(np.mean(a - b)), float(ci.low), float(ci.high), "paired"
        if len(treatment) >= 2 and len(baseline) >= 2:
            a, b = treatment.to_numpy(float), baseline.to_numpy(float)
            ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(
                confidence_level=level)
            return 0, float(np.mean(a) - np.mean(b)), float(ci.low), float(ci.high), "welch"
    diff = float(treatment.mean() - baseline.mean()) if len(treatment) and len(baseline) \
        else math.nan
    return len(common), diff, math.nan, math.nan, "none"


def verdict(metric: str, ci_low: float, ci_high: float) -> str:
    """Turn a difference CI into better/worse/higher/lower/no detectable difference."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return INSUFFICIENT
    if ci_low <= 0.0 <= ci_high:
        return NO_DIFFERENCE
    went_up = ci_low > 0.0
    sign = metrics_meta.direction(metric)
    if sign == 0:
        return HIGHER if went_up else LOWER
    return BETTER if went_up == (sign > 0) else WORSE


# --------------------------------------------------------------------------- variants


def _override_set(label: str) -> frozenset[str]:
    return frozenset(f"{k}={v}" for k, v in (parse_override(p) for p in label.split(",") if p))


def resolve_variant(label: str, variants: Sequence[str], common: Sequence[str] = ()) -> str:
    """Find the variant meant by ``label``.

    Accepts the exact variant string, the same overrides in another order, or a subset of
    overrides that singles out one variant (``policy=baseline`` for
    ``policy=baseline,scenario.grids.count=30``). Overrides in ``common`` (shared by every
    run, hence absent from the labels) are ignored, so ``policy=baseline`` still names the
    only variant of a sweep in which every run has it. Raises InputError otherwise.
    """
    if label in variants:
        return label
    wanted = _override_set(label) - _override_set(",".join(common))
    if not wanted and len(variants) == 1:
        return variants[0]
    same = [v for v in variants if _override_set(v) == wanted]
    if len(same) == 1:
        return same[0]
    supersets = [v for v in variants if wanted <= _override_set(v)]
    if len(supersets) == 1:
        return supersets[0]
    listing = "\n  ".join(variants)
    problem = "is ambiguous" if supersets else "matches no variant"
    raise InputError(f"baseline '{label}' {problem}; variants in this sweep:\n  {listing}")


def default_baseline(variants: Sequence[str]) -> str:
    """Pick a baseline when none is given: the one variant with an override value
    ``baseline``, else the first variant of the sweep."""
    marked = [v for v in variants if any(parse_override(p)[1] == "baseline"
                                         for p in v.split(","))]
    return marked[0] if len(marked) == 1 else variants[0]


# --------------------------------------------------------------------------- comparison


def _by_seed(per_seed: pd.DataFrame, variant: str, metric: str) -> pd.Series:
    # A variant whose runs all lack a seed has no rows here; it then has nothing to pair.
    if variant not in per_seed.index.get_level_values("variant"):
        return pd.Series(dtype=float)
    return per_seed.loc[variant, metric]


def compare_runs(runs: pd.DataFrame, baseline: str, metrics: Sequence[str] | None = None,
                 level: float = 0.95) -> pd.DataFrame:
    """Long comparison table: one row per (metric, variant), baseline rows included.

    ``baseline`` may be any label accepted by :func:`resolve_variant`.
    """
    variants = variant_order(runs)
    base = resolve_variant(baseline, variants, constant_overrides(runs))
    available = metric_columns(runs)
    if metrics is None:
        metrics = available
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise InputError(f"unknown metric(s) {unknown}; available: {', '.join(available)}")
    ordered = [base] + [v for v in variants if v != base]
    # Duplicate (variant, seed) runs are averaged so each seed is one pairing unit.
    per_seed = (runs.dropna(subset=["seed"]).astype({"variant": str})
                .groupby(["variant", "seed"])[list(metrics)].mean())
    rows = []
    for metric in metrics:
        base_by_seed = _by_seed(per_seed, base, metric)
        for variant in ordered:
            values = runs.loc[runs["variant"] == variant, metric]
            n, mean, lo, hi = mean_ci(values, level)
            row = {
                "metric": metric, "label": metrics_meta.label(metric),
                "direction": metrics_meta.direction(metric), "variant": variant,
                "is_baseline": variant == base, "n": n, "mean": mean,
                "ci_low": lo, "ci_high": hi,
            }
            if variant == base:
                row.update(diff=0.0, diff_ci_low=math.nan, diff_ci_high=math.nan,
                           n_pairs=n, method="", verdict=BASELINE)
            else:
                k, diff, dlo, dhi, method = paired_difference(
                    _by_seed(per_seed, variant, metric), base_by_seed, level)
                row.update(diff=diff, diff_ci_low=dlo, diff_ci_high=dhi, n_pairs=k,
                           method=method, verdict=verdict(metric, dlo, dhi))
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- formatting


def fmt_number(x: float) -> str:
    """Compact number formatting for tables (thousands separators for large values)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _fmt_ci(mid: float, lo: float, hi: float) -> str:
    if math.isnan(lo):
        return fmt_number(mid)
    return f"{fmt_number(mid)} [{fmt_number(lo)}, {fmt_number(hi)}]"


def display_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """Human-readable version of the comparison table (strings, one row per metric×variant)."""
    return pd.DataFrame({
        "metric": comparison["metric"],
        "dir": comparison["metric"].map(metrics_meta.direction_symbol),
        "variant": comparison["variant"],
        "n": comparison["n"].astype(int),
        "mean [CI]": [_fmt_ci(r.mean, r.ci_low, r.ci_high) for r in comparison.itertuples()],
        "Δ vs baseline [CI]": ["" if r.is_baseline else _fmt_ci(r.diff, r.diff_ci_low,
                                                                  r.diff_ci_high)
                               for r in comparison.itertuples()],
        "pairs": [str(r.n_pairs) if r.method == "paired" else (r.method or "")
                  for r in comparison.itertuples()],
        "verdict": comparison["verdict"],
    })


def to_markdown(table: pd.DataFrame) -> str:
    """Render a DataFrame of strings as a GitHub-flavoured Markdown table."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|")
    header = "| " + " | ".join(cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def comparison_markdown(comparison: pd.DataFrame, sweep_dir: Path, level: float,
                        common_line: str = "") -> str:
    """The full comparison.md document; ``common_line`` names the settings all runs share."""
    base = comparison.loc[comparison["is_baseline"], "variant"].iloc[0]
    pct = f"{level:.0%}"
    return (
        f"# Comparison for `{sweep_dir}`\n\n"
        + (f"{common_line}\n\n" if common_line else "")
        + f"Baseline: `{base}`. Means with {pct} t-intervals; differences are variant − "
        f"baseline, paired by seed (common random numbers), with {pct} paired-t intervals. "
        "`dir`: + higher is better, - lower is better, 0 neutral. Intervals are not "
        "adjusted for multiple comparisons.\n\n"
        + to_markdown(display_table(comparison))
    )


def write_comparison(sweep_dir: Path, comparison: pd.DataFrame, level: float,
                     common_line: str = "") -> list[Path]:
    """Write comparison.csv and comparison.md atomically; return their paths."""
    csv_path = write_text(sweep_dir / COMPARISON_CSV, comparison.to_csv(index=False))
    md_path = write_text(sweep_dir / COMPARISON_MD,
                                comparison_markdown(comparison, sweep_dir, level, common_line))
    return [csv_path, md_path]


def run_comparison(sweep_dir: str | Path, baseline: str | None = None,
                   metrics: Sequence[str] | None = None, level: float = 0.95,
                   recollect: bool = False, log=print) -> pd.DataFrame:
    """Load (collecting if needed), compare, write outputs; return the comparison table."""
    if not 0.0 < level < 1.0:
        raise InputError(f"--level must be between 0 and 1, got {level}")
    sweep = require_dir(sweep_dir)
    runs = load_runs(sweep, recollect=recollect, log=log)
    if baseline is None:
        baseline = default_baseline(variant_order(runs))
        log(f"no --baseline given; using '{baseline}'")
    comparison = compare_runs(runs, baseline, metrics, level)
    common_line = common_settings_line(runs)
    if common_line:
        log(common_line.replace("`", ""))
    for path in write_comparison(sweep, comparison, level, common_line):
        log(f"wrote {path}")
    return comparison


def _split_metrics(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [m for v in values for m in v.split(",") if m]


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.compare",
                                     description="Compare sweep variants against a baseline "
                                     "(paired by seed).")
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory")
    parser.add_argument("--baseline", help="baseline variant label, e.g. policy=baseline "
                        "(default: the variant with an override value 'baseline', else the "
                        "first variant)")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC",
                        help="metrics to compare (space- or comma-separated; default all)")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level")
    parser.add_argument("--recollect", action="store_true",
                        help="rebuild runs.parquet even if it looks up to date")
    args = parser.parse_args(argv)
    try:
        comparison = run_comparison(args.sweep_dir, args.baseline, _split_metrics(args.metrics),
                                    args.level, args.recollect)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(to_markdown(display_table(comparison)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
