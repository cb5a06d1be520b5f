"""Cheapest staffing mix that meets service targets (``+experiment=min_staffing``).

    python -m experiments.optimize +experiment=min_staffing scenario=small_district sim.days=60

The search space (``hydra.sweeper.params``: staffing keys with their candidate values, and
``seed``), the targets and the cost metric come from ``conf/experiment/min_staffing.yaml``;
the remaining arguments are ordinary overrides of the run config. Every candidate is run
with ``Simulation`` directly over the same seeds (common random numbers, so candidates
differ by staffing, not by luck) and judged on its mean over the seeds.

Search, with staffing and service taken to be monotone (more staff never hurts, so a mix
at or below a mix that misses a target in every dimension misses too and is not run):

1. run the largest mix; if it misses, nothing in the grid can meet the targets;
2. axis probes: lower one dimension at a time (the others at their largest), in parallel,
   until a target is missed; that level and all below it are ruled out;
3. price every remaining grid point from its built model (milliseconds, no run) and run them
   cheapest first, two at a time; the first that meets the targets, once every cheaper point
   has been run or ruled out, is the cheapest mix of the grid.

Brute force over the same grid is ``python -m experiments.run -m +experiment=min_staffing
...``, after which :class:`MinStaffingCallback` prints the cheapest grid point that meets
the targets.

Writes ``evaluations.csv`` (one row per candidate and seed), ``candidates.csv`` (one row per
candidate: means, feasibility, cost) and ``best.json`` atomically into
``results/optimize/<scenario>/<timestamp>/`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback

from experiments.analysis.collect import InputError
from experiments.analysis.compare import fmt_number, mean_ci
from sim.output import write_text

DEFAULT_EXPERIMENT = "min_staffing"
CALLBACK_NAME = "min_staffing"
# Head counts reported beside the factors, so the answer reads as staff, not multipliers.
HEADCOUNT_KEYS = {
    "police_per_shift": ("scenario", "units", "police", "per_shift"),
    "armed_patrol_per_shift": ("scenario", "units", "armed_patrol", "per_shift"),
    "rapid_response_per_shift": ("scenario", "units", "rapid_response", "per_shift"),
    "guard_per_shift": ("scenario", "units", "guard", "per_shift"),
    "community_xiaoma": ("scenario", "mediators", "community_xiaoma"),
    "community_part_time": ("scenario", "mediators", "community_part_time"),
    "street_full_time": ("scenario", "mediators", "street_full_time"),
    "street_part_time": ("scenario", "mediators", "street_part_time"),
    "district_full_time": ("scenario", "mediators", "district_full_time"),
    "district_part_time": ("scenario", "mediators", "district_part_time"),
}

Log = Callable[[str], None]


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class Target:
    """One service target: ``metric`` mean must be <= ``bound`` (max) or >= (min)."""

    metric: str
    kind: str  # "max" or "min"
    bound: float

    def met(self, value: float) -> bool:
        """Whether ``value`` meets the target (NaN never does: no evidence is no pass)."""
        if value is None or math.isnan(value):
            return False
        return value <= self.bound if self.kind == "max" else value >= self.bound

    def text(self) -> str:
        """E.g. ``response_p90_min_p1 <= 5``."""
        return f"{self.metric} {'<=' if self.kind == 'max' else '>='} {self.bound:g}"


def parse_targets(spec: Mapping) -> list[Target]:
    """Targets from ``{metric: {max: x}}`` / ``{metric: {min: x}}`` mappings."""
    targets = []
    for metric, bounds in (spec or {}).items():
        if not isinstance(bounds, Mapping) or not bounds or set(bounds) - {"min", "max"}:
            raise InputError(f"target {metric}: expected {{max: x}} and/or {{min: x}}, "
                             f"got {bounds!r}")
        targets += [Target(str(metric), kind, float(value)) for kind, value in bounds.items()]
    if not targets:
        raise InputError("no targets given (hydra.callbacks.min_staffing.targets)")
    return targets


@dataclass
class Problem:
    """Everything the search needs: base config, grid, seeds, targets, cost metric."""

    base: dict
    keys: list[str]                    # dotted config keys, e.g. policy.unit_factors.police
    levels: list[list[float]]          # candidate values per key, ascending
    seeds: list[int]
    targets: list[Target]
    cost_metric: str = "annual_staffing_cost_yuan"

    def values(self, point: tuple[int, ...]) -> dict[str, float]:
        """The config values of a grid point (a tuple of level indices)."""
        return {k: self.levels[i][j] for i, (k, j) in enumerate(zip(self.keys, point,
                                                                    strict=True))}


def _sweep_values(key: str, text: Any) -> tuple[str, list]:
    """Parse one sweeper entry (``0.5,1.0`` or ``range(3)``) into (plain key, values)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    override = OverridesParser.create().parse_overrides([f"{key}={text}"])[0]
    values = list(override.sweep_iterator()) if override.is_sweep_override() \
        else [override.value()]
    return override.key_or_group, values


def load_problem(overrides: Sequence[str]) -> Problem:
    """Compose the run config with the experiment preset and read the search from it."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from sim.compose import CONF_DIR

    overrides = list(overrides)
    if not any(o.lstrip("+").startswith("experiment=") for o in overrides):
        overrides.insert(0, f"+experiment={DEFAULT_EXPERIMENT}")
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    params = OmegaConf.to_container(cfg.hydra.sweeper.params or {}, resolve=False)
    callback = OmegaConf.to_container(cfg.hydra.callbacks, resolve=False).get(CALLBACK_NAME)
    if not params or callback is None:
        raise InputError("the experiment preset needs hydra.sweeper.params and "
                         f"hydra.callbacks.{CALLBACK_NAME} (see conf/experiment/"
                         f"{DEFAULT_EXPERIMENT}.yaml)")
    # Hydra's own node is not part of a run's config (and holds unresolvable runtime keys).
    base = {key: OmegaConf.to_container(cfg[key], resolve=True)
            if OmegaConf.is_config(cfg[key]) else cfg[key] for key in cfg if key != "hydra"}
    base["sim"]["progress"] = False
    seeds, keys, levels = [int(base.get("seed", 0))], [], []
    for key, text in params.items():
        plain, values = _sweep_values(key, text)
        if plain == "seed":
            seeds = [int(v) for v in values]
        else:
            keys.append(plain)
            levels.append(sorted(float(v) for v in values))
    return Problem(base=base, keys=keys, levels=levels, seeds=seeds,
                   targets=parse_targets(callback.get("targets")),
                   cost_metric=callback.get("cost_metric", "annual_staffing_cost_yuan"))


def _set_dotted(cfg: dict, key: str, value: Any) -> None:
    node = cfg
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _get_path(cfg: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        cfg = getattr(cfg, part) if not isinstance(cfg, dict) else cfg.get(part)
        if cfg is None:
            return None
    return cfg


def candidate_config(base: dict, values: dict[str, float], seed: int) -> dict:
    """The plain run config of one candidate and seed (``base`` is left untouched)."""
    cfg = json.loads(json.dumps(base))  # a deep copy of plain data
    for key, value in values.items():
        _set_dotted(cfg, key, value)
    cfg["seed"] = int(seed)
    return cfg


def evaluate(base: dict, values: dict[str, float], seed: int) -> dict[str, float]:
    """Run one candidate with one seed and return its metrics.

    Module-level so that a process pool can pickle it.
    """
    import logging

    from sim.simulation import Simulation

    logging.getLogger("MESA").setLevel(logging.WARNING)
    result = Simulation(candidate_config(base, values, seed)).run(progress=False)
    return dict(result.metrics)


# --------------------------------------------------------------------------- the search


@dataclass
class Candidate:
    """One evaluated grid point: per-seed metrics and the verdict on its means."""

    point: tuple[int, ...]
    values: dict[str, float]
    per_seed: dict[int, dict[str, float]] = field(default_factory=dict)
    headcount: dict[str, Any] = field(default_factory=dict)

    def mean(self, metric: str) -> float:
        """Mean of ``metric`` over the seeds (NaN seeds ignored)."""
        return mean_ci([m.get(metric, math.nan) for m in self.per_seed.values()])[1]

    def ci(self, metric: str, level: float = 0.95) -> tuple[int, float, float, float]:
        """(n, mean, low, high) of ``metric`` over the seeds, t-interval."""
        return mean_ci([m.get(metric, math.nan) for m in self.per_seed.values()], level)

    def feasible(self, targets: Sequence[Target]) -> bool:
        """Whether the seed means meet every target."""
        return all(t.met(self.mean(t.metric)) for t in targets)


@dataclass
class SearchResult:
    """The outcome: every candidate evaluated, the best feasible one (or None), timings."""

    problem: Problem
    candidates: dict[tuple[int, ...], Candidate]
    best: Candidate | None
    not_run: int  # grid points ruled out without a run
    wall_seconds: float


def _dominated(point: tuple[int, ...], infeasible: list[tuple[int, ...]]) -> bool:
    # Fewer staff everywhere than a mix that already misses a target: it would miss too.
    return any(all(p <= q for p, q in zip(point, bad, strict=True)) for bad in infeasible)


class _Runner:
    """Runs (candidate, seed) pairs, in a process pool when more than one job is asked for."""

    def __init__(self, problem: Problem, jobs: int):
        self.problem = problem
        # spawn: a forked child would inherit Hydra's global state and any threads.
        self.pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) \
            if jobs > 1 else None

    def run(self, points: list[tuple[int, ...]]) -> dict[tuple[int, ...], Candidate]:
        out = {p: Candidate(p, self.problem.values(p)) for p in points}
        tasks = [(p, s) for p in points for s in self.problem.seeds]
        if self.pool is None:
            results = [evaluate(self.problem.base, out[p].values, s) for p, s in tasks]
        else:
            futures = [self.pool.submit(evaluate, self.problem.base, out[p].values, s)
                       for p, s in tasks]
            results = [f.result() for f in futures]
        for (p, s), res in zip(tasks, results, strict=True):
            out[p].per_seed[s] = res
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def staffing_cost(problem: Problem, point: tuple[int, ...]) -> tuple[float, dict]:
    """Annual cost and head counts of a grid point, from a built (not run) model.

    Building costs milliseconds against seconds for a run, so every grid point can be
    priced up front and the search can visit them cheapest first.
    """
    import logging

    from sim.metrics import staffing_cost as model_cost
    from sim.simulation import Simulation

    logging.getLogger("MESA").setLevel(logging.WARNING)
    sim = Simulation(candidate_config(problem.base, problem.values(point), problem.seeds[0]))
    heads = {name: _get_path(sim.config, path) for name, path in HEADCOUNT_KEYS.items()}
    return model_cost(sim.build()), heads


def search(problem: Problem, jobs: int = 2, log: Log = print,
           price: Callable[[Problem, tuple[int, ...]], tuple[float, dict]] | None = None
           ) -> SearchResult:
    """Cheapest grid point whose seed means meet the targets; see the module docstring.

    ``price`` gives (cost, head counts) of a point without running it (default: build the
    model and read its staffing cost).
    """
    started = time.perf_counter()
    price = price or staffing_cost
    grid = list(itertools.product(*(range(len(v)) for v in problem.levels)))
    priced = {point: price(problem, point) for point in grid}
    runner = _Runner(problem, jobs)
    seen: dict[tuple[int, ...], Candidate] = {}
    infeasible: list[tuple[int, ...]] = []

    def run(points: list[tuple[int, ...]]) -> None:
        for cand in runner.run(points).values():
            cand.headcount = priced[cand.point][1]
            seen[cand.point] = cand
            log(_progress_line(problem, cand))
            if not cand.feasible(problem.targets):
                infeasible.append(cand.point)

    def ok(point: tuple[int, ...]) -> bool:
        return point in seen and seen[point].feasible(problem.targets)

    best = None
    try:
        # 1. The largest mix: if it misses, every smaller one is taken to miss as well.
        top = tuple(len(v) - 1 for v in problem.levels)
        run([top])
        if ok(top):
            # 2. Axis probes: lower one dimension at a time, the others at their largest,
            #    until a target is missed. A miss rules out that level and everything below
            #    it in that dimension, which usually removes most of the grid.
            floor = list(top)
            active = [i for i, level in enumerate(top) if level > 0]
            while active:
                probes = {i: top[:i] + (floor[i] - 1,) + top[i + 1:] for i in active}
                run([p for p in probes.values() if p not in seen])
                for i, point in probes.items():
                    if ok(point):
                        floor[i] -= 1
                    if not ok(point) or floor[i] == 0:
                        active.remove(i)
            # 3. Cheapest first over what is left: the first point that meets the targets,
            #    with every cheaper point run or ruled out, is the best of the grid.
            order = sorted((p for p in grid if all(a >= b for a, b in zip(p, floor,
                                                                             strict=True))),
                           key=lambda p: (priced[p][0], p))
            best = _cheapest_first(order, seen, infeasible, ok, run, max(1, jobs))
    finally:
        runner.close()
    return SearchResult(problem, seen, seen[best] if best is not None else None,
                        len(grid) - len(seen), time.perf_counter() - started)


def _cheapest_first(order, seen, infeasible, ok, run, batch_size) -> tuple[int, ...] | None:
    while True:
        batch, answer = [], None
        for point in order:
            if len(batch) == batch_size:
                break
            if point in seen:
                if ok(point):
                    answer = point
                    break
                continue
            if not _dominated(point, infeasible):
                batch.append(point)
        if not batch:
            return answer
        run(batch)


def _progress_line(problem: Problem, cand: Candidate) -> str:
    values = " ".join(f"{k.rsplit('.', 1)[-1]}={v:g}" for k, v in cand.values.items())
    means = " ".join(f"{t.metric}={fmt_number(cand.mean(t.metric))}" for t in problem.targets)
    verdict = "meets targets" if cand.feasible(problem.targets) else "misses"
    return (f"  {values}: cost {fmt_number(cand.mean(problem.cost_metric))}, {means} "
            f"-> {verdict}")


# --------------------------------------------------------------------------- reporting


def candidates_frame(result: SearchResult) -> pd.DataFrame:
    """One row per evaluated candidate: values, head counts, metric means and verdict."""
    problem = result.problem
    rows = []
    for cand in result.candidates.values():
        row = dict(cand.values)
        row.update(cand.headcount)
        row["cost"] = cand.mean(problem.cost_metric)
        for target in problem.targets:
            row[f"mean_{target.metric}"] = cand.mean(target.metric)
        row["feasible"] = cand.feasible(problem.targets)
        row["best"] = result.best is not None and cand.point == result.best.point
        rows.append(row)
    return pd.DataFrame(rows).sort_values("cost", kind="stable")


def evaluations_frame(result: SearchResult) -> pd.DataFrame:
    """One row per (candidate, seed) with every metric: the raw evidence."""
    rows = []
    for cand in result.candidates.values():
        for seed, metrics in cand.per_seed.items():
            rows.append({**cand.values, "seed": seed, **metrics})
    return pd.DataFrame(rows)


def best_summary(result: SearchResult, level: float = 0.95) -> dict:
    """The best mix as plain data: values, head counts, cost, target means with CIs."""
    problem = result.problem
    out: dict[str, Any] = {
        "targets": [t.text() for t in problem.targets], "seeds": problem.seeds,
        "search_space": dict(zip(problem.keys, problem.levels, strict=True)),
        "candidates_evaluated": len(result.candidates), "candidates_not_run": result.not_run,
        "runs": len(result.candidates) * len(problem.seeds),
        "wall_seconds": result.wall_seconds,
        "scenario": problem.base.get("scenario", {}).get("name"),
        "days": problem.base.get("sim", {}).get("days"),
        "best": None,
    }
    best = result.best
    if best is None:
        return out
    metrics = {}
    for metric in [t.metric for t in problem.targets] + [problem.cost_metric]:
        n, mean, lo, hi = best.ci(metric, level)
        metrics[metric] = {"n": n, "mean": mean, "ci_low": lo, "ci_high": hi}
    out["best"] = {"values": best.values, "headcount": best.headcount,
                   "annual_cost": best.mean(problem.cost_metric), "metrics": metrics,
                   "confidence_level": level}
    return out


def format_best(summary: dict) -> str:
    """Human-readable lines for the best mix."""
    lines = [f"targets: {'; '.join(summary['targets'])} (means over seeds "
             f"{summary['seeds']})",
             f"evaluated {summary['candidates_evaluated']} candidates "
             f"({summary['runs']} runs; {summary['candidates_not_run']} grid points ruled out "
             f"without a run) in "
             f"{summary['wall_seconds']:.1f} s"]
    best = summary["best"]
    if best is None:
        lines.append("no mix in the search space meets the targets (not even the largest)")
        return "\n".join(lines)
    lines.append("best mix: " + ", ".join(f"{k}={v:g}" for k, v in best["values"].items()))
    lines.append("  head counts: " + ", ".join(f"{k} {v}" for k, v in best["headcount"].items()
                                                if v is not None))
    lines.append(f"  annual staffing cost: {best['annual_cost']:,.0f} yuan")
    pct = f"{best['confidence_level']:.0%}"
    for metric, m in best["metrics"].items():
        ci = "" if math.isnan(m["ci_low"]) else \
            f" [{fmt_number(m['ci_low'])}, {fmt_number(m['ci_high'])}] ({pct} CI, n={m['n']})"
        lines.append(f"  {metric}: {fmt_number(m['mean'])}{ci}")
    return "\n".join(lines)


def write_outputs(result: SearchResult, outdir: Path) -> list[Path]:
    """Write candidates.csv, evaluations.csv and best.json atomically."""
    outdir.mkdir(parents=True, exist_ok=True)
    summary = best_summary(result)
    text = json.dumps(summary, indent=2, default=float, allow_nan=True)
    return [
        write_text(outdir / "candidates.csv", candidates_frame(result).to_csv(index=False)),
        write_text(outdir / "evaluations.csv",
                          evaluations_frame(result).to_csv(index=False)),
        write_text(outdir / "best.json", text + "\n"),
    ]


# --------------------------------------------------------------------------- brute force


class MinStaffingCallback(Callback):
    """Hydra callback of ``+experiment=min_staffing`` multiruns (the brute-force search).

    After the sweep it collects the runs and prints the cheapest variant whose seed means
    meet the targets, with confidence intervals. Single runs ignore it.
    """

    def __init__(self, targets: dict, cost_metric: str = "annual_staffing_cost_yuan"):
        self.targets = parse_targets(targets)
        self.cost_metric = cost_metric

    def on_multirun_end(self, config, **kwargs) -> None:
        """Collect the sweep and print the cheapest feasible variant."""
        from experiments.analysis.collect import collect

        sweep = Path(str(config.hydra.sweep.dir))
        try:
            runs = collect(sweep).runs
        except InputError as exc:
            print(f"min_staffing: nothing to judge ({exc})")
            return
        print(cheapest_feasible_text(runs, self.targets, self.cost_metric))


def cheapest_feasible_text(runs: pd.DataFrame, targets: Sequence[Target],
                           cost_metric: str) -> str:
    """The cheapest variant of a runs table whose means meet ``targets``, as text."""
    metrics = [t.metric for t in targets]
    means = runs.groupby("variant", sort=False)[[*metrics, cost_metric]].mean()
    ok = means[[all(t.met(row[t.metric]) for t in targets) for _, row in means.iterrows()]]
    wanted = "; ".join(t.text() for t in targets)
    head = f"min_staffing: {len(ok)} of {len(means)} variants meet {wanted}"
    if ok.empty:
        return head
    best = ok[cost_metric].idxmin()
    lines = [head, f"cheapest: {best}", f"  {cost_metric}: {ok.loc[best, cost_metric]:,.0f}"]
    for metric in metrics:
        n, mean, lo, hi = mean_ci(runs.loc[runs["variant"] == best, metric])
        lines.append(f"  {metric}: {fmt_number(mean)} [{fmt_number(lo)}, {fmt_number(hi)}] "
                     f"(95% CI, n={n})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI


def default_outdir(problem: Problem) -> Path:
    """``results/optimize/<scenario>/<timestamp>``."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return Path("results") / "optimize" / str(problem.base["scenario"]["name"]) / stamp


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.optimize",
        description="Search the cheapest staffing mix that meets the targets of "
                    "conf/experiment/min_staffing.yaml.")
    parser.add_argument("overrides", nargs="*",
                        help="Hydra overrides, e.g. +experiment=min_staffing "
                             "scenario=small_district sim.days=60")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--out", type=Path, help="output folder (default results/optimize/"
                        "<scenario>/<timestamp>)")
    args = parser.parse_args(argv)
    try:
        problem = load_problem(args.overrides)
        # Validate once up front: a bad override should fail before any process starts.
        from sim.config import ConfigError, parse_config
        try:
            parse_config(candidate_config(problem.base, problem.values(
                tuple(len(v) - 1 for v in problem.levels)), problem.seeds[0]))
        except ConfigError as exc:
            raise InputError(str(exc)) from None
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"searching {' x '.join(str(len(v)) for v in problem.levels)} grid over "
          f"{', '.join(problem.keys)}; seeds {problem.seeds}; {args.jobs} process(es)")
    result = search(problem, jobs=max(1, args.jobs))
    outdir = args.out or default_outdir(problem)
    paths = write_outputs(result, outdir)
    print(format_best(best_summary(result)))
    for path in paths:
        print(f"wrote {path}")
    return 0 if result.best is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
