"""Replication advisor: how many seeds give a confidence interval of a wanted half-width?

``python -m experiments.advisor <sweep dir> --metric X --half-width H [--baseline LABEL]``

Uses the sweep as a pilot study: the sample standard deviation s of the metric per variant
is plugged into ``t(1-α/2, n-1) · s / √n ≤ H`` and n is increased until it holds (the t
quantile depends on n, so there is no closed form). With ``--baseline`` the same is done
for the seed-paired differences from the baseline, which is usually what a decision needs
and, thanks to common random numbers, usually needs far fewer seeds. The answer is only as
good as the pilot's estimate of s: with a handful of pilot seeds, treat it as a rough guide
and re-run the advisor after adding seeds.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import pandas as pd
from scipy import stats

from experiments.analysis.collect import (
    InputError,
    load_runs,
    metric_columns,
    require_dir,
    variant_order,
)
from experiments.analysis.compare import fmt_number, resolve_variant, to_markdown

MAX_SEEDS = 1_000_000


def half_width(sd: float, n: int, level: float = 0.95) -> float:
    """Half-width of the t confidence interval of a mean of n values with std dev sd."""
    if n < 2:
        return math.inf
    return float(stats.t.ppf(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n))


def seeds_needed(sd: float, target: float, level: float = 0.95,
                 max_n: int = MAX_SEEDS) -> int | None:
    """Smallest n ≥ 2 with ``half_width(sd, n) ≤ target``; None if sd is unknown or > max_n."""
    if not target > 0:
        raise ValueError("target half-width must be positive")
    if sd is None or math.isnan(sd):
        return None
    if sd == 0:
        return 2
    # The normal quantile is below the t quantile, so the normal answer is a lower bound
    # to start the search from; the loop then only walks a few steps.
    z = stats.norm.ppf(0.5 + level / 2.0)
    n = max(2, math.ceil((z * sd / target) ** 2))
    while half_width(sd, n, level) > target:
        n += 1
        if n > max_n:
            return None
    return n


def _row(variant: str, quantity: str, values: np.ndarray, target: float, level: float) -> dict:
    n = len(values)
    sd = float(np.std(values, ddof=1)) if n >= 2 else math.nan
    need = seeds_needed(sd, target, level)
    return {
        "variant": variant, "quantity": quantity, "n": n,
        "mean": float(np.mean(values)) if n else math.nan, "sd": sd,
        "half_width_now": half_width(sd, n, level) if n >= 2 else math.nan,
        "seeds_needed": need,
        "more_seeds": None if need is None else max(0, need - n),
    }


def advise(runs: pd.DataFrame, metric: str, target: float, level: float = 0.95,
           baseline: str | None = None) -> pd.DataFrame:
    """One row per variant (and per paired difference if ``baseline``) with seeds needed."""
    if metric not in metric_columns(runs):
        raise InputError(f"unknown metric '{metric}'; available: "
                         f"{', '.join(metric_columns(runs))}")
    if not target > 0:
        raise InputError(f"--half-width must be positive, got {target}")
    if not 0.0 < level < 1.0:
        raise InputError(f"--level must be between 0 and 1, got {level}")
    variants = variant_order(runs)
    rows = []
    for variant in variants:
        values = runs.loc[runs["variant"] == variant, metric].dropna().to_numpy(float)
        rows.append(_row(variant, "mean", values, target, level))
    if baseline is not None:
        base = resolve_variant(baseline, variants)
        per_seed = (runs.dropna(subset=["seed", metric]).astype({"variant": str})
                    .groupby(["variant", "seed"])[metric].mean().unstack("variant"))
        for variant in variants:
            if variant == base:
                continue
            diffs = (per_seed[variant] - per_seed[base]).dropna().to_numpy(float)
            rows.append(_row(variant, "diff vs baseline (paired)", diffs, target, level))
    return pd.DataFrame(rows)


def display_table(advice: pd.DataFrame) -> pd.DataFrame:
    """Strings for printing."""
    def count(x) -> str:
        return "unknown (need ≥ 2 pilot seeds)" if x is None or pd.isna(x) else str(int(x))
    return pd.DataFrame({
        "variant": advice["variant"], "quantity": advice["quantity"], "n now": advice["n"],
        "mean": advice["mean"].map(fmt_number), "sd": advice["sd"].map(fmt_number),
        "half-width now": advice["half_width_now"].map(fmt_number),
        "seeds needed": advice["seeds_needed"].map(count),
        "more seeds": advice["more_seeds"].map(count),
    })


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.advisor",
                                     description="Seeds needed per variant to reach a target "
                                     "confidence-interval half-width.")
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory (the pilot)")
    parser.add_argument("--metric", required=True, help="metric name from summary.json")
    parser.add_argument("--half-width", type=float, required=True, dest="half_width",
                        help="wanted CI half-width, in the metric's units")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level")
    parser.add_argument("--baseline", help="also advise on paired differences from this variant")
    args = parser.parse_args(argv)
    try:
        runs = load_runs(require_dir(args.sweep_dir), log=print)
        advice = advise(runs, args.metric, args.half_width, args.level, args.baseline)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\n{args.metric}: seeds for a {args.level:.0%} CI half-width ≤ {args.half_width}"
          " (pilot standard deviations; re-check after adding seeds)\n")
    print(to_markdown(display_table(advice)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
