"""Memory over a long horizon: resident memory at the end of each simulated year.

    python -m benchmarks.bench_memory [--years 10]

Target (issue 8): ten simulated years of the default district under 1 GB peak.  What matters
beyond the peak is the slope: finished records stream to disk, so after the first years (when
the open cases and the latent conflicts reach their steady state) memory should stay flat.
The script prints RSS after each year, the growth per year over the second half of the run,
and the peak, all in the same process as a plain run (`Simulation.run` is what it steps).
"""

from __future__ import annotations

import argparse
import resource
import time

from sim import Simulation
from sim.clock import DAY
from sim.collector import long_run

TARGET_PEAK_GB = 1.0


def rss_mb() -> float:
    """The process's resident memory now (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=10)
    args = ap.parse_args()
    sim = Simulation.from_overrides([f"sim.days={365 * args.years}", "sim.progress=false"])
    t0 = time.perf_counter()
    model = sim.build()
    spool = sim._spool(model)
    by_year = []
    # The same loop as `Simulation.run`, with a look at memory at each year's end.
    with long_run():
        while model.running:
            model.step()
            if model.env.now >= (len(by_year) + 1) * 365 * DAY:
                by_year.append(rss_mb())
                print(f"  year {len(by_year):2d}: {by_year[-1]:6.0f} MB", flush=True)
    sim.collect(model, time.perf_counter() - t0, spool)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    half = by_year[len(by_year) // 2:]
    slope = (half[-1] - half[0]) / max(len(half) - 1, 1)
    print(f"default scenario, {args.years} years: {time.perf_counter() - t0:.0f} s wall")
    print(f"  growth per year, second half: {slope:+.1f} MB")
    print(f"  peak RSS: {peak_gb:.2f} GB (target {TARGET_PEAK_GB:g} GB: ratio "
          f"{peak_gb / TARGET_PEAK_GB:.2f})")


if __name__ == "__main__":
    main()
