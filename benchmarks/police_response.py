"""What halving the police does to response: paired seeds, baseline vs police x0.5.

    python -m benchmarks.police_response [--days 90] [--seeds 5] [--factor 0.5]

Replication k runs seed k in both variants (common random numbers: the same calls, places and
on-scene times).  Prints, per variant, response p50/p90/p99 by priority, queue delay,
abandonment and utilisation; the paired difference in P1 and P3 p90 with its 95 % t-interval;
and the share of P3 responses over 15 minutes that a guard foot patrol answered.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from sim import Simulation

SLOW_P3_MIN = 15.0


def one_run(days: float, seed: int, factor: float) -> dict:
    overrides = [f"sim.days={days}", "sim.progress=false", f"seed={seed}"]
    if factor != 1.0:
        overrides.append(f"++policy.unit_factors.police={factor}")
    result = Simulation.from_overrides(overrides).run()
    m = dict(result.metrics)
    inc = result.incidents
    p3 = inc[(inc.source != "patrol") & (inc.priority == 3) & inc.t_arrived.notna()]
    slow = p3[p3.t_arrived - p3.t_reported > SLOW_P3_MIN]
    m["slow_p3_count"] = float(len(slow))
    m["slow_p3_guard_share"] = float((slow.unit_type == "guard").mean()) if len(slow) else 0.0
    return m


def paired_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of b - a and its 95 % t-interval."""
    d = np.asarray(b) - np.asarray(a)
    mean = float(d.mean())
    if len(d) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return mean, mean - half, mean + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=90.0)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--factor", type=float, default=0.5, help="factor on police per shift")
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs = {"baseline": [], f"police x{args.factor:g}": []}
    for seed in range(args.seeds):
        for rows, factor in zip(runs.values(), (1.0, args.factor), strict=True):
            rows.append(one_run(args.days, seed, factor))
    names = list(runs)
    keys = [f"response_{q}_min_p{p}" for p in (1, 2, 3) for q in ("p50", "p90", "p99")]
    keys += ["mean_queue_delay_min", "abandoned_share", "utilisation_unit_police",
             "calls_share_unit_police", "utilisation_unit_armed_patrol", "utilisation_unit_guard",
             "utilisation_unit_rapid_response", "deterred_calls", "slow_p3_count",
             "slow_p3_guard_share"]
    print(f"{args.seeds} paired seeds x {args.days:g} days, jiangbei "
          f"({time.perf_counter() - t0:.0f} s wall)")
    print(f"{'metric':<32}" + "".join(f"{n:>22}" for n in names))
    for k in keys:
        cells = []
        for n in names:
            v = np.array([r[k] for r in runs[n]])
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}")
        print(f"{k:<32}" + "".join(f"{c:>22}" for c in cells))
    print(f"\npaired difference ({names[1]} - baseline), 95 % t-interval over seeds:")
    for k in ("response_p90_min_p1", "response_p90_min_p2", "response_p90_min_p3",
              "mean_queue_delay_min", "abandoned_share"):
        a = np.array([r[k] for r in runs[names[0]]])
        b = np.array([r[k] for r in runs[names[1]]])
        mean, lo, hi = paired_ci(a, b)
        excl = "excludes 0" if (lo > 0 or hi < 0) else "includes 0"
        print(f"  {k:<28} {mean:+8.3f}  [{lo:+.3f}, {hi:+.3f}]  ({excl})")


if __name__ == "__main__":
    main()
