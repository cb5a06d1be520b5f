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

Overrides are typed as for ``experiments.run``: ``key=value`` sets the run config (and fixes
the key if the preset searches it; ``policy.unit_factors.police=2`` needs no ``++``),
``key=a,b,c`` or ``key=range(a,b)`` searches the key over those values, ``seed=range(5)`` sets
the seeds; a malformed one stops with one line.

When no mix meets the targets, the answer says which evaluated mix came closest, which target
binds there (the largest relative shortfall), and what each policy lever *outside* the search
space (the schema's ``policy`` section: grid count, dispatch rule, unified platform, other
staffing factors, ...) does to that target when changed alone at the closest mix, over the
same seeds (``probes.csv``; ``--no-probe`` skips it). The annual cost rests on unit costs the
schema marks ``assumed``; the answer lists them with their plausible ranges.

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

from experiments.analysis import metrics_meta
from experiments.analysis.collect import InputError
from experiments.analysis.compare import fmt_number, mean_ci
from experiments.analysis.inference import paired_test
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


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def split_overrides(overrides: Sequence[str]) -> tuple[list[str], dict[str, list[float]],
                                                      list[int] | None]:
    """Sort command-line overrides as a Hydra user types them into (plain overrides for the
    run config, search dimensions ``key=a,b,c`` / ``key=range(...)`` with numeric values,
    seeds from ``seed=...``). Raises InputError with one line for a malformed override."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    plain, sweeps, seeds = [], {}, None
    for text in overrides:
        try:
            override = parser.parse_overrides([text])[0]
        except HydraException as exc:
            key = text.split("=", 1)[0]
            if "+" in key.lstrip("+"):
                hint = ("a + goes only at the start of a key; to search a key write it as "
                        f"{key.rsplit('+', 1)[-1]}=a,b,c")
            else:
                lines = [line.strip() for line in str(exc).splitlines()
                         if line.strip() and text not in line
                         and not line.strip().startswith(("See ", "^", "Error parsing"))]
                hint = lines[0] if lines else "not Hydra syntax"
            raise InputError(f"cannot read override {text!r}: {hint} (write key=value, or "
                             "key=a,b,c / key=range(a,b) to search over values)") from None
        if not override.is_sweep_override():
            plain.append(text)
            continue
        key = override.key_or_group
        if not override.is_discrete_sweep():
            raise InputError(f"{text!r}: an interval cannot be searched; list the values "
                             f"({key}=0.5,1.0,1.5)")
        values = list(override.sweep_iterator())
        if key == "seed":
            try:
                seeds = [int(v) for v in values]
            except (TypeError, ValueError):
                raise InputError(f"{text!r}: seeds must be whole numbers") from None
            continue
        try:
            sweeps[key] = sorted(float(v) for v in values)
        except (TypeError, ValueError):
            raise InputError(f"{text!r}: a search dimension takes numbers (staffing factors "
                             f"or counts), got {values}") from None
    return plain, sweeps, seeds


def _plain_key(text: str) -> str:
    return text.split("=", 1)[0].lstrip("+~")


def _in_table(key: str) -> bool:
    # `policy.unit_factors.police=2` adds a key to a table: Hydra wants `++` for that.
    from sim.config import schema_paths
    paths = schema_paths()
    parts = key.split(".")
    return any(paths.get(".".join(parts[:i])) == "table" for i in range(1, len(parts)))


def load_problem(overrides: Sequence[str]) -> Problem:
    """Compose the run config with the experiment preset and read the search from it.

    Overrides are typed as for ``experiments.run``: ``key=value`` sets the run config (and
    fixes that key if the preset searches it), ``key=a,b,c`` or ``key=range(...)`` searches
    the key over those values (replacing the preset's values for it), ``seed=range(5)`` sets
    the seeds. Raises InputError with one line for anything malformed or unknown.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sim.compose import CONF_DIR

    plain, sweeps, seeds_given = split_overrides(overrides)
    plain = [f"++{o.lstrip('+')}" if not o.startswith(("+", "~")) and _in_table(_plain_key(o))
             else o for o in plain]
    if not any(o.lstrip("+").startswith("experiment=") for o in plain):
        plain.insert(0, f"+experiment={DEFAULT_EXPERIMENT}")
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=plain, return_hydra_config=True)
        params = OmegaConf.to_container(cfg.hydra.sweeper.params or {}, resolve=False)
        callback = OmegaConf.to_container(cfg.hydra.callbacks, resolve=False).get(CALLBACK_NAME)
    except (HydraException, OmegaConfBaseException) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise InputError(" ".join(lines[:2]) or type(exc).__name__) from None
    if not params or callback is None:
        raise InputError("the experiment preset needs hydra.sweeper.params and "
                         f"hydra.callbacks.{CALLBACK_NAME} (see conf/experiment/"
                         f"{DEFAULT_EXPERIMENT}.yaml)")
    # Hydra's own node is not part of a run's config (and holds unresolvable runtime keys).
    base = {key: OmegaConf.to_container(cfg[key], resolve=True)
            if OmegaConf.is_config(cfg[key]) else cfg[key] for key in cfg if key != "hydra"}
    base["sim"]["progress"] = False
    seeds, search = [int(base.get("seed", 0))], {}
    for key, text in params.items():
        key, values = _sweep_values(key, text)
        if key == "seed":
            seeds = [int(v) for v in values]
        else:
            search[key] = sorted(float(v) for v in values)
    fixed = {_plain_key(o) for o in plain}
    search = {k: v for k, v in search.items() if k not in fixed}
    search.update(sweeps)
    if not search:
        raise InputError("nothing left to search: every key of the search space was fixed "
                         "on the command line")
    return Problem(base=base, keys=list(search), levels=list(search.values()),
                   seeds=seeds_given or seeds, targets=parse_targets(callback.get("targets")),
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
        """(n, mean, low, high) of ``metric`` over the seeds, t-interval kept in the
        metric's range."""
        return mean_ci([m.get(metric, math.nan) for m in self.per_seed.values()], level,
                       metrics_meta.value_range(metric))

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


# --------------------------------------------------------------------------- nothing feasible


def shortfall(target: Target, value: float) -> float:
    """How far ``value`` misses ``target``, relative: 0 when met, inf for NaN.

    A ceiling on a time or count is missed by (value - bound) / bound; a floor on a share by
    its shortfall over the failure the target allows ((bound - value) / (1 - bound): 99.8 %
    against 99.9 % misses by 100 %), other floors by (bound - value) / bound.
    """
    if value is None or math.isnan(value):
        return math.inf
    if target.met(value):
        return 0.0
    gap = value - target.bound if target.kind == "max" else target.bound - value
    if target.kind == "min" and metrics_meta.kind(target.metric) in ("share", "score") \
            and target.bound < 1.0:
        return gap / (1.0 - target.bound)
    return gap / abs(target.bound) if target.bound else math.inf


def closest_candidate(result: SearchResult) -> Candidate:
    """The evaluated candidate with the smallest total relative shortfall (cheapest on ties)."""
    targets = result.problem.targets
    return min(result.candidates.values(),
               key=lambda c: (sum(shortfall(t, c.mean(t.metric)) for t in targets),
                              c.mean(result.problem.cost_metric)))


def lever_probes(problem: Problem, values: dict[str, float]) -> list[tuple[str, Any]]:
    """One-at-a-time changes of the policy levers the search does not vary, from the
    schema's ``policy`` section (fields whose source is a policy lever): factors and unit
    strengths x1.5, the grid count x1.5, every other dispatch rule and overflow mode, and
    each switch flipped."""
    import typing

    from sim.config import Policy, parse_config
    from sim.provenance import LEVER

    cfg = parse_config(candidate_config(problem.base, values, problem.seeds[0]))
    searched = set(problem.keys)
    s, policy = cfg.scenario, problem.base.get("policy", {})
    current = {"grids": s.grids.count, "dispatch_rule": s.dispatch.rule,
               "unified_platform": s.dispatch.unified_platform,
               "mentoring": s.mediators.mentoring, "overflow": s.dispatch.overflow}
    probes: list[tuple[str, Any]] = []
    for name, info in Policy.model_fields.items():
        extra = info.json_schema_extra or {}
        key = f"policy.{name}"
        if extra.get("source") != LEVER or key in searched:
            continue
        if name == "unit_factors":
            for unit in s.units:
                ukey = f"{key}.{unit}"
                if ukey not in searched:
                    factor = values.get(ukey, (policy.get("unit_factors") or {}).get(unit, 1.0))
                    probes.append((ukey, round(float(factor) * 1.5, 3)))
            continue
        args = [a for a in typing.get_args(info.annotation) if a is not type(None)]
        literal = next((a for a in args if typing.get_origin(a) is typing.Literal), None)
        if name.endswith("_factor"):
            probes.append((key, round(float(values.get(key, policy.get(name, 1.0))) * 1.5, 3)))
        elif name == "grids":
            probes.append((key, int(round(current["grids"] * 1.5))))
        elif literal is not None:
            probes += [(key, v) for v in typing.get_args(literal) if v != current.get(name)]
        elif bool in args and name in current:
            probes.append((key, not current[name]))
    return probes


def _run_tasks(tasks: list[tuple[dict, dict, int]], jobs: int) -> list[dict[str, float]]:
    if jobs <= 1 or len(tasks) <= 1:
        return [evaluate(base, values, seed) for base, values, seed in tasks]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(evaluate, *zip(*tasks, strict=True)))


def diagnose(result: SearchResult, jobs: int = 2, probe: bool = True,
             log: Log = print) -> dict:
    """Why nothing is feasible: the closest candidate, the targets it misses (the binding
    one first) and, with ``probe``, what each lever outside the search space does to the
    binding target there (same seeds, paired)."""
    problem = result.problem
    closest = closest_candidate(result)
    misses = sorted(((t, shortfall(t, closest.mean(t.metric))) for t in problem.targets),
                    key=lambda x: -x[1])
    out: dict[str, Any] = {
        "closest": {"values": closest.values, "headcount": closest.headcount,
                    "annual_cost": closest.mean(problem.cost_metric)},
        "targets": [{"target": t.text(), "metric": t.metric, "n": c[0], "mean": c[1],
                     "ci_low": c[2], "ci_high": c[3], "met": gap == 0.0, "shortfall": gap}
                    for t, gap in misses for c in [closest.ci(t.metric)]],
        "binding": [t.text() for t, gap in misses if gap > 0.0][:1],
        "probes": [],
    }
    if not probe or not out["binding"]:
        return out
    binding = misses[0][0]
    probes = lever_probes(problem, closest.values)
    log(f"probing {len(probes)} lever(s) outside the search space at the closest mix "
        f"({len(probes) * len(problem.seeds)} runs)")
    tasks, index = [], []
    for key, value in probes:
        base = json.loads(json.dumps(problem.base))
        _set_dotted(base, key, value)
        for seed in problem.seeds:
            tasks.append((base, closest.values, seed))
            index.append((key, value, seed))
    per_probe: dict[tuple[str, Any], dict[int, dict]] = {}
    for (key, value, seed), metrics in zip(index, _run_tasks(tasks, jobs), strict=True):
        per_probe.setdefault((key, json.dumps(value)), {})[seed] = metrics
    at_closest = pd.Series({s: m.get(binding.metric, math.nan)
                            for s, m in closest.per_seed.items()})
    rows = []
    for (key, value), seeds in per_probe.items():
        cand = Candidate(closest.point, closest.values, seeds)
        moved = pd.Series({s: m.get(binding.metric, math.nan) for s, m in seeds.items()})
        d = paired_test(moved, at_closest)
        rows.append({"lever": key, "value": json.loads(value),
                     "metric": binding.metric, "mean": cand.mean(binding.metric),
                     "diff": d.diff, "diff_ci_low": d.low, "diff_ci_high": d.high,
                     "meets_all_targets": cand.feasible(problem.targets),
                     "cost": cand.mean(problem.cost_metric)})
    # Most helpful first: the largest move towards the binding target.
    toward = -1.0 if binding.kind == "max" else 1.0
    rows.sort(key=lambda r: -toward * r["diff"] if not math.isnan(r["diff"]) else math.inf)
    out["probes"] = rows
    return out


def assumed_costs(problem: Problem) -> list[dict]:
    """The unit costs the cost metric is built from that the schema marks ``assumed``."""
    from sim.config import parse_config
    from sim.provenance import ASSUMED, parameters

    cfg = parse_config(candidate_config(problem.base, {}, problem.seeds[0]))
    return [{"name": p.name, "value": p.value, "unit": p.unit,
             "plausible": list(p.plausible) if p.plausible else None}
            for p in parameters(cfg) if "cost_yuan" in p.name and p.source == ASSUMED]


def format_diagnosis(diagnosis: dict) -> str:
    """The lines that say why nothing is feasible and what might change it."""
    closest = diagnosis["closest"]
    lines = ["closest mix: " + ", ".join(f"{k.rsplit('.', 1)[-1]}={v:g}"
                                         for k, v in closest["values"].items())
             + f" (annual cost {closest['annual_cost']:,.0f} yuan)"]
    for t in diagnosis["targets"]:
        ci = "" if math.isnan(t["ci_low"]) else \
            f" [{fmt_number(t['ci_low'])}, {fmt_number(t['ci_high'])}]"
        state = "met" if t["met"] else (f"misses by {t['shortfall']:.0%}"
                                        + (" <- binding" if t["target"] in diagnosis["binding"]
                                           else ""))
        lines.append(f"  {t['target']}: mean {fmt_number(t['mean'])}{ci}: {state}")
    if diagnosis["probes"]:
        metric = diagnosis["probes"][0]["metric"]
        lines.append(f"levers outside the search space, one at a time at the closest mix "
                     f"(paired change in {metric}, 95% CI):")
        for r in diagnosis["probes"]:
            ci = "" if math.isnan(r["diff_ci_low"]) else \
                f" [{r['diff_ci_low']:+.3g}, {r['diff_ci_high']:+.3g}]"
            verdict = "meets every target" if r["meets_all_targets"] else "still misses"
            lines.append(f"  {r['lever']}={r['value']}: {r['diff']:+.3g}{ci} -> "
                         f"{fmt_number(r['mean'])}; {verdict}")
    elif diagnosis["binding"]:
        lines.append("(levers outside the search space not probed: --no-probe)")
    return "\n".join(lines)


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


def best_summary(result: SearchResult, level: float = 0.95, diagnosis: dict | None = None,
                 costs: list[dict] | None = None) -> dict:
    """The best mix as plain data: values, head counts, cost, target means with CIs; the
    diagnosis when nothing is feasible; the assumed unit costs the cost rests on."""
    problem = result.problem
    out: dict[str, Any] = {
        "targets": [t.text() for t in problem.targets], "seeds": problem.seeds,
        "search_space": dict(zip(problem.keys, problem.levels, strict=True)),
        "candidates_evaluated": len(result.candidates), "candidates_not_run": result.not_run,
        "runs": len(result.candidates) * len(problem.seeds),
        "wall_seconds": result.wall_seconds,
        "scenario": problem.base.get("scenario", {}).get("name"),
        "days": problem.base.get("sim", {}).get("days"),
        "assumed_unit_costs": costs or [],
        "best": None,
        "diagnosis": diagnosis,
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
        if summary.get("diagnosis"):
            lines.append(format_diagnosis(summary["diagnosis"]))
        lines += _costs_lines(summary)
        return "\n".join(lines)
    lines.append("best mix: " + ", ".join(f"{k}={v:g}" for k, v in best["values"].items()))
    lines.append("  head counts: " + ", ".join(f"{k} {v}" for k, v in best["headcount"].items()
                                                if v is not None))
    star = " *" if summary.get("assumed_unit_costs") else ""
    lines.append(f"  annual staffing cost: {best['annual_cost']:,.0f} yuan{star}")
    pct = f"{best['confidence_level']:.0%}"
    for metric, m in best["metrics"].items():
        ci = "" if math.isnan(m["ci_low"]) else \
            f" [{fmt_number(m['ci_low'])}, {fmt_number(m['ci_high'])}] ({pct} CI, n={m['n']})"
        lines.append(f"  {metric}: {fmt_number(m['mean'])}{ci}")
    lines += _costs_lines(summary)
    return "\n".join(lines)


def _costs_lines(summary: dict) -> list[str]:
    costs = summary.get("assumed_unit_costs") or []
    if not costs:
        return []
    def one(c):
        rng = f" (plausible {c['plausible'][0]:,.0f}-{c['plausible'][1]:,.0f})" \
            if c.get("plausible") else ""
        return f"{c['name'].removeprefix('scenario.')} {c['value']:,.0f}{rng}"
    return ["* costs rest on assumed unit costs, yuan per person- or post-year (no published "
            "figure; see python -m experiments.params):",
            *(f"    {one(c)}" for c in costs)]


def write_outputs(result: SearchResult, outdir: Path, summary: dict | None = None
                  ) -> list[Path]:
    """Write candidates.csv, evaluations.csv, best.json (and probes.csv when levers outside
    the search space were probed) atomically."""
    outdir.mkdir(parents=True, exist_ok=True)
    summary = summary or best_summary(result)
    text = json.dumps(summary, indent=2, default=float, allow_nan=True)
    paths = [
        write_text(outdir / "candidates.csv", candidates_frame(result).to_csv(index=False)),
        write_text(outdir / "evaluations.csv",
                   evaluations_frame(result).to_csv(index=False)),
        write_text(outdir / "best.json", text + "\n"),
    ]
    probes = (summary.get("diagnosis") or {}).get("probes")
    if probes:
        paths.append(write_text(outdir / "probes.csv", pd.DataFrame(probes).to_csv(index=False)))
    return paths


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
        n, mean, lo, hi = mean_ci(runs.loc[runs["variant"] == best, metric],
                                  bounds=metrics_meta.value_range(metric))
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
                        help="overrides as for experiments.run, e.g. scenario=small_district "
                             "sim.days=60; key=a,b,c or key=range(...) searches a key over "
                             "those values, key=value fixes it, seed=range(5) sets the seeds")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--no-probe", dest="probe", action="store_false",
                        help="when nothing is feasible, do not try the levers outside the "
                        "search space one at a time")
    parser.add_argument("--out", type=Path, help="output folder (default results/optimize/"
                        "<scenario>/<timestamp>; hydra.run.dir=DIR says the same)")
    args = parser.parse_intermixed_args(argv)
    # A run's or sweep's folder given the Hydra way is where the search writes (as --out).
    folders = [o for o in args.overrides if o.split("=", 1)[0] in ("hydra.run.dir",
                                                                   "hydra.sweep.dir")]
    if folders:
        if args.out is not None or len(folders) > 1:
            print(f"error: {' and '.join(['--out'] * (args.out is not None) + folders)}: give "
                  "one output folder", file=sys.stderr)
            return 2
        args.out = Path(folders[0].split("=", 1)[1])
        args.overrides = [o for o in args.overrides if o not in folders]
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
    diagnosis = None if result.best is not None else diagnose(result, max(1, args.jobs),
                                                               args.probe)
    summary = best_summary(result, diagnosis=diagnosis, costs=assumed_costs(problem))
    outdir = args.out or default_outdir(problem)
    paths = write_outputs(result, outdir, summary)
    print(format_best(summary))
    for path in paths:
        print(f"wrote {path}")
    return 0 if result.best is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
