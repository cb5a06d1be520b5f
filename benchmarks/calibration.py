"""Calibration of the default scenario over several seeds, against the reported figures, and
the held-out checks the calibration did not tune to.

    python -m benchmarks.calibration [--seeds 6] [--days 365] [--warmup 120] [--jobs 1]

Each run measures `--days` after a warm-up of `--warmup` days left out of the metrics: repeat
calls and recurrences between the same parties build up over the first months, so a year from
a cold start reads the dispute calls' share of police calls about 0.7 points low.

Calibrated inputs (scenario.disputes): `rate_per_1000_per_year` (conflicts arising, which with
the channel choices sets the cases at the stations and so the money at stake: 466 M yuan),
`settle_logit` and `violence.hazard_per_day` (99.9 % success among the cases taken for
mediation), `channels.police_logit` (dispute calls at Xuzhou's 12.6 % of 110 reports).
Everything else keeps its cited or assumed value.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from sim import Simulation
from sim.reported import DISPUTE_CALLS_SHARE, HELD_OUT, OUTCOMES, within

EXTRA = ("utilisation_mediator_xiaoma", "utilisation_mediator_part_time",
         "utilisation_mediator_full_time", "utilisation_mediator_senior",
         "disputes_resolved_share", "redirected_share", "time_to_settle_p90_days",
         "violent_turns_per_100k", "mean_satisfaction")


def one_run(seed: int, days: float, warmup: float = 0.0) -> dict:
    result = Simulation.from_overrides([f"seed={seed}", f"sim.days={days + warmup}",
                                        f"sim.warmup_days={warmup}",
                                        "sim.progress=false"]).run()
    m = dict(result.metrics)
    years = days / 365.0
    m["money_at_stake_yuan"] /= years          # the report's figure is a year's
    return m


def _line(name: str, values: np.ndarray, fmt: str, verdict: str) -> str:
    return (f"  {name:<32} mean {format(values.mean(), fmt):>10}  "
            f"[{format(values.min(), fmt)}, {format(values.max(), fmt)}]  {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--days", type=float, default=365.0, help="measured days a run")
    ap.add_argument("--warmup", type=float, default=120.0,
                    help="days before them, left out of the metrics (the steady state)")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    args = ap.parse_args()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(one_run, range(args.seeds), [args.days] * args.seeds,
                             [args.warmup] * args.seeds))

    def values(metric):
        return np.array([r[metric] for r in rows], dtype=float)

    print(f"default scenario, {args.seeds} seeds x {args.days:g} days after a "
          f"{args.warmup:g}-day warm-up")
    print("targets (calibrated):")
    for metric, (target, tol, how) in OUTCOMES.items():
        v = values(metric)
        hits = sum(within(metric, x) for x in v)
        band = f"{target:.4g} +- {tol:g}" if how == "abs" else f"{target:.4g} +- {tol:.0%}"
        print(_line(metric, v, ".6g", f"target {band}: within in {hits}/{len(v)}"))
    lo, hi, source = DISPUTE_CALLS_SHARE
    v = values("dispute_calls_share")
    hits = int(((v >= lo) & (v <= hi)).sum())
    print(_line("dispute_calls_share", v, ".4f", f"published [{lo}, {hi}]: {hits}/{len(v)} "
                f"({source})"))
    print("held out (not tuned to):")
    for metric, (lo, hi, source) in HELD_OUT.items():
        v = values(metric)
        hits = int(((v >= lo) & (v <= hi)).sum())
        print(_line(metric, v, ".4g", f"accept [{lo:g}, {hi:g}]: {hits}/{len(v)}"))
        print(f"      {source}")
    print("other outcomes:")
    for metric in EXTRA:
        print(_line(metric, values(metric), ".4g", ""))


if __name__ == "__main__":
    main()
