"""Wall time of the assumption analyses through their CLIs, on small_district.

    python -m benchmarks.bench_sensitivity                   # Morris, 2 trajectories, 14 days
    python -m benchmarks.bench_sensitivity --trajectories 4 --launcher joblib   # Hydra route
    python -m benchmarks.bench_sensitivity --robustness      # + robustness, 10 worlds

Each tool runs exactly as a user starts it (a subprocess, so start-up, checking every point's
config, the worker pool and the analysis all count), into a fresh folder under
``results/bench/`` that is removed afterwards unless ``--keep``.  For comparison, one run of the
same scenario is timed in this process and scaled to the number of runs: the ratio is what
the parallel pool gains over a serial loop, net of everything around the runs.
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

REPO = Path(__file__).resolve().parent.parent
BASE = ["scenario=small_district"]


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{args[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return wall


def one_run(days: float) -> float:
    sim = Simulation.from_overrides([*BASE, f"sim.days={days:g}", "sim.progress=false"])
    t0 = time.perf_counter()
    sim.run()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=14.0)
    ap.add_argument("--trajectories", type=int, default=2)
    ap.add_argument("--launcher", default="local", help="local (default) or a Hydra launcher")
    ap.add_argument("--robustness", action="store_true", help="also time experiments.robustness")
    ap.add_argument("--worlds", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the output folders")
    args = ap.parse_args()
    root = REPO / "results" / "bench" / f"sensitivity_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    single = one_run(args.days)
    try:
        out = root / "sensitivity"
        wall = timed(["experiments.sensitivity", *BASE, f"sim.days={args.days:g}",
                      "method=morris", f"trajectories={args.trajectories}",
                      f"launcher={args.launcher}",
                      "metrics=response_p90_min_p1,time_to_settle_p90_days",
                      f"hydra.run.dir={out}"])
        n = sum(1 for p in (out / "samples").iterdir() if (p / "DONE").exists())
        print(f"sensitivity: Morris, {args.trajectories} trajectories over every assumed number, "
              f"small_district, {args.days:g} days, {os.cpu_count()} cores, "
              f"launcher={args.launcher}")
        print(f"  runs           : {n}")
        print(f"  wall           : {wall:6.1f} s  ({wall / n:.2f} s a run)")
        print(f"  one run, serial: {single:6.2f} s in-process; x {n} = {single * n:.0f} s "
              f"(speed-up {single * n / wall:.2f}x)")
        if args.robustness:
            sweep = root / "sweep"
            timed(["experiments.run", "-m", *BASE, f"sim.days={args.days:g}",
                   "policy=baseline,fewer_parttime", "seed=range(3)", "sim.progress=false",
                   f"hydra.sweep.dir={sweep}"])
            out = root / "robustness"
            wall = timed(["experiments.robustness", str(sweep), f"worlds={args.worlds}",
                          f"launcher={args.launcher}", f"hydra.run.dir={out}"])
            n = sum(1 for p in (out / "runs").glob("v*/*") if (p / "DONE").exists())
            print(f"robustness: {args.worlds} worlds x 2 variants x 3 seeds, {args.days:g} days")
            print(f"  runs           : {n}")
            print(f"  wall           : {wall:6.1f} s  ({wall / n:.2f} s a run)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
