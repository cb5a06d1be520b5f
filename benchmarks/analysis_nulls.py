"""How often the analysis tools call an effect that is not there: null simulations.

    python -m benchmarks.analysis_nulls [--trials 300]

- Paired verdicts: seeds of paired differences drawn from N(0, 1) (no effect), read by
  `inference.paired_test` with the t and the BCa interval; the share of trials called better or
  worse should be near 5 %.  (Why `compare` refuses ``--ci bca`` below 10 paired seeds.)
- Robustness's effect driver: 273 assumptions sampled as a Latin hypercube, an effect size
  independent of all of them; the share of trials that name a driver (Bonferroni-adjusted
  p < 0.05) should be at most 5 %.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

from experiments.analysis import inference
from experiments.analysis.robustness import drivers

ASSUMPTIONS = 273       # the schema's assumed single numbers


def verdict_false_calls(seeds: int, trials: int, ci: str, rng) -> float:
    called = 0
    for _ in range(trials):
        diff = pd.Series(rng.normal(0.0, 1.0, seeds))
        d = inference.paired_test(diff, pd.Series(np.zeros(seeds)), 0.95, margin=0.2,
                                  direction=-1, ci=ci)
        said = inference.verdict("response_p90_min_p1", d.low, d.high, 0.2, d.identical)
        called += said in (inference.BETTER, inference.WORSE)
    return called / trials


def driver_false_names(worlds: int, trials: int, rng) -> float:
    plan = SimpleNamespace(selection=SimpleNamespace(assumptions=[
        SimpleNamespace(name=f"x{j}", low=0.0, high=1.0) for j in range(ASSUMPTIONS)]),
        points={})
    named = 0
    for _ in range(trials):
        plan.unit = stats.qmc.LatinHypercube(d=ASSUMPTIONS, seed=rng).random(worlds)
        verdicts = pd.DataFrame({"world": np.arange(worlds), "metric": "m", "variant": "v",
                                 "verdict": "worse", "diff": rng.normal(0.0, 1.0, worlds),
                                 "holds": True})
        named += drivers(plan, verdicts, "m", "v")["effect_p"] < 0.05
    return named / trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=300)
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    print("paired verdicts under no effect: share called better/worse (nominal 5 %)")
    for seeds in (2, 3, 5, 8, 10, 20):
        t, bca = (verdict_false_calls(seeds, args.trials, ci, rng) for ci in ("t", "bca"))
        print(f"  {seeds:>2} seeds: t {t:6.1%}   BCa {bca:6.1%}")
    print(f"robustness effect driver under no effect ({ASSUMPTIONS} assumptions): share of "
          "trials naming one (nominal at most 5 %)")
    for worlds in (6, 10, 20):
        trials = max(args.trials // 3, 20)
        print(f"  {worlds:>2} worlds: {driver_false_names(worlds, trials, rng):6.1%} "
              f"of {trials}")


if __name__ == "__main__":
    main()
