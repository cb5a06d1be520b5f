"""Overload as a scenario: five times the calls with half the police, 30 days of Jiangbei.

    python -m benchmarks.bench_overload [--days 30] [--calls 5] [--police 0.5] [--seed 0]

It must finish (target: under 2 minutes) and say what overload does: how long calls wait for
a unit, how many callers give up, how busy the units are, and the wall time.
"""

from __future__ import annotations

import argparse
import time

from sim import Simulation
from sim.compose import compose_config

TARGET_S = 120.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--calls", type=float, default=5.0, help="factor on the call rate")
    ap.add_argument("--police", type=float, default=0.5, help="factor on police per shift")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rate = compose_config([]).scenario.calls.rate_per_1000_per_year * args.calls
    overrides = [f"sim.days={args.days}", "sim.progress=false", f"seed={args.seed}",
                 f"scenario.calls.rate_per_1000_per_year={rate}",
                 f"++policy.unit_factors.police={args.police}"]
    t0 = time.perf_counter()
    result = Simulation.from_overrides(overrides).run()
    wall = time.perf_counter() - t0
    m = result.metrics
    ts = result.timeseries
    print(f"overload: calls x{args.calls:g}, police x{args.police:g}, {args.days:g} days, "
          f"jiangbei, seed {args.seed}")
    print(f"  incidents reported     : {m['incidents_reported']:,.0f}")
    print(f"  mean queue delay       : {m['mean_queue_delay_min']:8.1f} min")
    print(f"  abandoned              : {m['abandoned_share']:8.1%} of reported incidents")
    print(f"  still waiting at end   : {m['unreached_share']:8.1%}")
    print(f"  queue length           : mean {ts.queued_incidents.mean():.0f}, "
          f"max {ts.queued_incidents.max():.0f} (hourly)")
    for p in (1, 2, 3):
        print(f"  response P{p} p50/p90   : {m[f'response_p50_min_p{p}']:6.1f} / "
              f"{m[f'response_p90_min_p{p}']:6.1f} min")
    print(f"  police not free        : {m['utilisation_unit_police']:8.1%} "
          f"(on calls {m['calls_share_unit_police']:.1%})")
    print(f"  wall time              : {wall:8.1f} s  (target {TARGET_S:g} s: "
          f"{'met' if wall <= TARGET_S else 'MISSED'})")


if __name__ == "__main__":
    main()
