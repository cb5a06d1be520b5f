"""Calibration of the default scenario over several seeds, against the reported figures.

    python -m benchmarks.calibration [--seeds 6]

Calls are switched off: the mediation outcomes do not depend on them, and the run is faster.
"""

from __future__ import annotations

import argparse

import numpy as np

from sim import Simulation
from sim.reported import OUTCOMES, within


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6)
    args = ap.parse_args()
    rows = []
    for seed in range(args.seeds):
        result = Simulation.from_overrides([
            "scenario.calls.enabled=false", f"seed={seed}", "sim.progress=false"]).run()
        d = result.disputes
        rows.append({**{k: result.metrics[k] for k in OUTCOMES},
                     "violent": int((d.outcome == "violent").sum()),
                     "court": int((d.outcome == "court").sum())})
    for metric, (target, tol, how) in OUTCOMES.items():
        values = np.array([r[metric] for r in rows])
        hits = sum(within(metric, v) for v in values)
        band = f"+-{tol:g}" if how == "abs" else f"+-{tol:.0%}"
        print(f"{metric:<24} target {target:,.4g} ({band}): mean {values.mean():,.6g}, "
              f"min {values.min():,.6g}, max {values.max():,.6g}; within in {hits}/{len(rows)}")
    print(f"violent turns a year: mean {np.mean([r['violent'] for r in rows]):.1f}; "
          f"court: mean {np.mean([r['court'] for r in rows]):.1f}")


if __name__ == "__main__":
    main()
