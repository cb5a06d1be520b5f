"""Throughput of the mediation queue against a bare SimPy M/M/c loop, in the same process.

    python -m benchmarks.bench_mmc [--days 365] [--repeat 3]

Both simulate c = 5 servers at load 0.8 (lambda = 4/h, mean service 1 h) for the same horizon;
the ratio is what the model's bookkeeping (mediator pools, dispute records, violence race,
residents) costs over the simplest possible SimPy program.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import simpy

from sim import Simulation


def bare_simpy_mmc(c: int, lam_per_h: float, mean_service_h: float, minutes: float,
                   seed: int) -> int:
    """The textbook SimPy M/M/c: one process per customer, a Resource of capacity c."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    served = 0

    def customer():
        nonlocal served
        with servers.request() as req:
            yield req
            yield env.timeout(rng.exponential(mean_service_h * 60.0))
        served += 1

    def source():
        while True:
            yield env.timeout(rng.exponential(60.0 / lam_per_h))
            env.process(customer())

    env.process(source())
    env.run(until=minutes)
    return served


def mmc_simulation(days: float, seed: int) -> Simulation:
    return Simulation.from_overrides([
        "scenario=mmc_mediation", "scenario.servers=5", "scenario.arrival_rate=4.0",
        "scenario.mean_service=1.0", f"sim.days={days}", "sim.progress=false", f"seed={seed}",
    ])


def best_rate(fn, repeat: int) -> tuple[float, int]:
    best = 0.0
    n = 0
    for k in range(repeat):
        t0 = time.perf_counter()
        n = fn(k)
        best = max(best, n / (time.perf_counter() - t0))
    return best, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    bare, n_bare = best_rate(lambda k: bare_simpy_mmc(5, 4.0, 1.0, args.days * 1440, k),
                             args.repeat)
    # Config composition (Hydra) is start-up cost, not throughput: keep it off the clock.
    sims = [mmc_simulation(args.days, k) for k in range(args.repeat)]
    model, n_model = best_rate(lambda k: len(sims[k].run().disputes), args.repeat)
    print(f"M/M/5 at load 0.8, {args.days:g} simulated days, best of {args.repeat}")
    print(f"  bare SimPy loop : {bare:10,.0f} customers/s  ({n_bare:,} customers)")
    print(f"  district model  : {model:10,.0f} customers/s  ({n_model:,} disputes, incl. "
          f"building the model and the output tables)")
    print(f"  model / bare    : {model / bare:10.2f}")


if __name__ == "__main__":
    main()
