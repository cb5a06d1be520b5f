"""Wall time of a policy sweep through the CLI: 4 variants x 10 seeds, default scenario, 90 days.

    python -m benchmarks.bench_sweep [--days 90] [--seeds 10] [--keep]

Target (issue #3): <= 5 minutes on this 2-core machine with the default (joblib) launcher.
The sweep runs exactly as a user would start it (a subprocess of ``python -m
experiments.run -m``, so Hydra and worker start-up count), into a fresh folder under
``results/bench/`` that is removed afterwards unless ``--keep``. For comparison, one run of
the same scenario is timed in this process, serially, and scaled to the sweep's run count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sim import Simulation

TARGET_S = 300.0
VARIANTS = "baseline,more_fulltime,double_mediators,grids_50"
REPO = Path(__file__).resolve().parent.parent


def sweep_wall(outdir: Path, days: float, seeds: int) -> float:
    """Seconds for the whole multirun, measured from outside the process."""
    args = [sys.executable, "-m", "experiments.run", "-m", f"policy={VARIANTS}",
            f"seed=range({seeds})", f"sim.days={days:g}", "sim.progress=false",
            f"hydra.sweep.dir={outdir}"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"sweep failed:\n{proc.stderr[-3000:]}")
    return wall


def main() -> None:
    """Run the sweep, then one serial run, and print both against the target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=90.0)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the sweep folder")
    args = ap.parse_args()
    n_runs = len(VARIANTS.split(",")) * args.seeds
    outdir = REPO / "results" / "bench" / f"sweep_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    try:
        wall = sweep_wall(outdir, args.days, args.seeds)
        finished = sum(1 for p in outdir.iterdir() if (p / "DONE").exists())
    finally:
        if not args.keep:
            shutil.rmtree(outdir, ignore_errors=True)
    sim = Simulation.from_overrides([f"sim.days={args.days:g}", "sim.progress=false"])
    t0 = time.perf_counter()
    sim.run()
    single = time.perf_counter() - t0
    print(f"sweep: {n_runs} runs ({VARIANTS} x {args.seeds} seeds), default scenario, "
          f"{args.days:g} days, {os.cpu_count()} cores, joblib launcher")
    print(f"  finished runs  : {finished} of {n_runs}")
    print(f"  sweep wall     : {wall:6.1f} s   (target {TARGET_S:g} s: ratio "
          f"{wall / TARGET_S:.2f})")
    print(f"  one run, serial: {single:6.1f} s in-process; x {n_runs} = {single * n_runs:.0f} s "
          f"(sweep speed-up {single * n_runs / wall:.2f}x)")


if __name__ == "__main__":
    main()
