"""Fabricate a Hydra-like sweep directory with controlled effects, for the analysis tests.

Each fake job folder looks like a real run folder (``.hydra/overrides.yaml``, ``summary.json``,
small ``incidents``/``disputes``/``timeseries`` parquet files, ``DONE`` written last). Metric
values are ``base + seed effect + variant shift + small noise``: the shared seed effect mimics
common random numbers, so paired comparisons are sharp while unpaired ones are not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

BASE_METRICS: dict[str, float] = {
    "mean_queue_delay_min": 6.0,
    "response_p90_min_p1": 12.0,
    "violent_turns_per_100k": 4.0,
    "mediation_success_rate": 0.7,
    "cross_grid_share": 0.2,
    "annual_staffing_cost_yuan": 1.0e7,
    "some_future_metric": 1.0,  # unknown to metrics_meta: must be handled as neutral
}


@dataclass
class FakeVariant:
    """One variant: its overrides (without seed) and additive shifts of metric means."""

    overrides: list[str]
    shifts: dict[str, float] = field(default_factory=dict)
    # Multiplies simulated response times and settle durations, so figures differ visibly.
    speed: float = 1.0
    # Metrics this variant cannot affect: each seed's value is the first variant's, exactly.
    same_as_first: tuple[str, ...] = ()
    # Metric values per seed, replacing base + effects (e.g. shares pinned near 1).
    fixed: dict[str, list[float]] = field(default_factory=dict)
    # Extra resolved-config entries for summary.json (what a preset such as grids_50 sets).
    config: dict = field(default_factory=dict)


DEFAULT_VARIANTS = [
    FakeVariant(["policy=baseline", "scenario.grids.count=30"]),
    FakeVariant(["policy=grids_50", "scenario.grids.count=50"],
                {"mean_queue_delay_min": -2.0, "response_p90_min_p1": -3.0,
                 "annual_staffing_cost_yuan": 2.0e6, "cross_grid_share": 0.1}, speed=0.7),
    # Same distribution as the baseline: any "difference" is noise.
    FakeVariant(["policy=baseline_clone", "scenario.grids.count=30"]),
]


def _write_parquets(job: Path, rng: np.random.Generator, speed: float) -> None:
    n_inc, n_disp = 40, 20
    t_rep = np.sort(rng.uniform(0, 1440, n_inc))
    response = rng.gamma(2.0, 3.0, n_inc) * speed
    arrived = t_rep + 1.0 + response
    arrived[rng.random(n_inc) < 0.05] = np.nan  # some incidents never reached
    pd.DataFrame({
        "incident_id": np.arange(n_inc), "source": "call", "kind": "theft",
        "priority": rng.integers(1, 4, n_inc), "grid": rng.integers(0, N_GRIDS, n_inc),
        "community": rng.integers(0, N_GRIDS, n_inc), "x_km": rng.uniform(0, 5, n_inc),
        "y_km": rng.uniform(0, 5, n_inc),
        "t_reported": t_rep, "t_dispatched": t_rep + 1.0, "t_arrived": arrived,
        "t_cleared": arrived + 30.0, "unit_id": rng.integers(0, 9, n_inc),
        "unit_type": "police", "cross_grid": rng.random(n_inc) < 0.2,
        "overflow": rng.random(n_inc) < 0.05,
    }).to_parquet(job / "incidents.parquet")
    t_raised = rng.uniform(0, 30 * 1440, n_disp)
    closed = t_raised + rng.gamma(2.0, 3.0 * 1440, n_disp) * speed
    outcome = rng.choice(["settled", "settled", "court", "open"], n_disp)
    closed[outcome == "open"] = np.nan
    pd.DataFrame({
        "dispute_id": np.arange(n_disp), "category": "neighbour", "severity": 1,
        "amount_yuan": rng.uniform(0, 1e4, n_disp), "community": rng.integers(0, N_GRIDS, n_disp),
        "street": rng.integers(0, 2, n_disp),
        "t_raised": t_raised, "t_first_session": t_raised + 1440.0, "t_closed": closed,
        "outcome": outcome, "level": "community", "escalations": 0, "mediator_id": 1,
        "mediator_kind": "xiaoma",
    }).to_parquet(job / "disputes.parquet")
    pd.DataFrame({"t": np.arange(5.0), "queue": rng.integers(0, 3, 5)}).to_parquet(
        job / "timeseries.parquet")


N_GRIDS = 5
DAYS = 30


def district_geojson() -> dict:
    """A map of the fake district: grids (and communities) 1-5 as unit squares in a row."""
    def square(i):
        return {"type": "Polygon", "coordinates": [[[i, 0], [i + 1, 0], [i + 1, 1], [i, 1],
                                                    [i, 0]]]}
    feats = [{"type": "Feature", "properties": {"layer": "grid", "grid": g + 1,
                                                "name": f"Grid {g + 1}"},
              "geometry": square(g)} for g in range(N_GRIDS)]
    feats += [{"type": "Feature", "properties": {"layer": "community", "community": c + 1,
                                                 "name": f"C{c + 1}", "street": "S",
                                                 "street_number": 1 + (c >= 3), "grid": c + 1},
               "geometry": square(c)} for c in range(N_GRIDS)]
    return {"type": "FeatureCollection", "features": feats}


def make_fake_sweep(root: Path, variants: list[FakeVariant] | None = None,
                    seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5), noise: float = 0.05,
                    seed_sd: float = 1.0, incomplete_jobs: int = 1,
                    rng_seed: int = 12345, with_map: bool = False) -> Path:
    """Create ``root`` as a fake sweep and return it.

    ``incomplete_jobs`` extra job folders are written without a DONE marker (a crashed run);
    ``with_map`` writes a district.geojson beside each run's tables.
    """
    variants = DEFAULT_VARIANTS if variants is None else variants
    rng = np.random.default_rng(rng_seed)
    # Seed effects are shared by all variants: that is what common random numbers buy us.
    seed_effect = {s: rng.normal(0.0, seed_sd, len(BASE_METRICS)) for s in seeds}
    root.mkdir(parents=True, exist_ok=True)
    job_num = 0
    first: dict[int, dict[str, float]] = {}
    for variant in variants:
        for i, seed in enumerate(seeds):
            job = root / str(job_num)
            job_num += 1
            metrics = _write_job(job, variant, seed, rng, seed_effect[seed], noise, done=True,
                                 first=first.get(seed), index=i, with_map=with_map)
            first.setdefault(seed, metrics)
    for _ in range(incomplete_jobs):
        job = root / str(job_num)
        job_num += 1
        _write_job(job, variants[0], seeds[0], rng, seed_effect[seeds[0]], noise, done=False)
    (root / "multirun.yaml").write_text("hydra: {}\n")
    return root


def _write_job(job: Path, variant: FakeVariant, seed: int, rng: np.random.Generator,
               seed_effect: np.ndarray, noise: float, done: bool,
               first: dict[str, float] | None = None, index: int = 0,
               with_map: bool = False) -> dict[str, float]:
    (job / ".hydra").mkdir(parents=True, exist_ok=True)
    overrides = [*variant.overrides, f"seed={seed}"]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    metrics = {}
    for i, (name, base) in enumerate(BASE_METRICS.items()):
        scale = abs(base) * 0.05  # seed effect proportional to the metric's magnitude
        metrics[name] = float(base + scale * seed_effect[i] + variant.shifts.get(name, 0.0)
                              + rng.normal(0.0, noise * scale))
    for name, values in variant.fixed.items():
        metrics[name] = float(values[index])
    for name in variant.same_as_first:
        if first is not None:
            metrics[name] = first[name]
    _write_parquets(job, rng, variant.speed)
    if with_map:
        (job / "district.geojson").write_text(json.dumps(district_geojson()))
    policy = dict(o.split("=", 1) for o in variant.overrides).get("policy", "baseline")
    summary = {
        "metrics": metrics,
        "config": {"seed": seed, "scenario": {"name": "fake"}, "policy": {"name": policy},
                   "sim": {"days": DAYS, "warmup_days": 0.0}, **variant.config},
        "seed": seed, "versions": {"python": "3.12"}, "git_commit": "deadbeef",
        "wall_seconds": 0.1,
    }
    (job / "summary.json").write_text(json.dumps(summary))
    if done:
        (job / "DONE").write_text("")
    return metrics
