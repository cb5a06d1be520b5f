"""Which assumed numbers drive the answers: Morris screening, or Sobol indices on request, over
the plausible ranges the schema gives every ``assumed`` number.

    python -m experiments.sensitivity scenario=small_district sim.days=14 method=morris \\
        trajectories=4 metrics=response_p90_min_p1,time_to_settle_p90_days
    python -m experiments.sensitivity scenario=small_district sim.days=14 method=sobol \\
        samples=64 params='scenario.units.*,scenario.dispatch.*'
    python -m experiments.sensitivity ... hydra.run.dir=<its run dir>     # resume after a kill

Any override of the run config applies to every run (scenario, policy, sim.days, ...); the
options, with their defaults, are in ``conf/sensitivity.yaml``:

  method            morris (screening: r (k + 1) runs for k numbers) or sobol (variance shares:
                    N (k + 2) runs; for a handful of numbers picked by a Morris screening)
  params, exclude   globs over the dotted names of `python -m experiments.params` (assumed
                    single numbers only; lists, switches and fixed ranges are left out, and
                    listed)
  metrics           summary metrics to rank the numbers for
  trajectories      Morris r;   levels: Morris grid levels;   samples: Sobol N (a power of 2)
  seeds             runs per point, seeds seed, seed+1, ... shared by every point (common
                    random numbers, so a difference between points is the parameters', not
                    luck); each point's metric is the mean over its seeds
  launcher, n_jobs  how the runs are launched (as a sweep's: joblib locally, slurm /
                    submitit_local / ray on a cluster); launcher_overrides: more hydra.launcher
                    settings, e.g. [hydra.launcher.partition=cpu]

Writes into its run directory (``results/sensitivity/<scenario>/<time>/``):
``sensitivity.csv`` (parameter, metric, mu_star, mu_star_conf, sigma for Morris; S1, S1_conf,
ST, ST_conf for Sobol; plus rank and the range explored), ``sensitivity.md`` (the top of each
ranking, what was left out, the wall time), ``figures/sensitivity_<metric>.png/.svg`` (a
ranked bar chart per metric), ``samples.parquet`` (every run's values and metrics),
``problem.json``, and the runs themselves in ``samples/`` (ordinary run folders; their Hydra
log in ``samples.log``).  Columns: ``docs/data-dictionary.md``.  How the points are run:
:mod:`experiments.analysis.assumptions`.

Morris's mu_star is in the metric's own unit: the mean absolute change in the metric when the
number moves across its whole plausible range (one step of the Morris grid, scaled); sigma
large next to mu_star means interactions, a non-linear response, or simulation noise.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from experiments.analysis import assumptions as A
from sim.compose import CONF_DIR
from sim.config import ConfigError, parse_config
from sim.output import write_json, write_text

EXIT_BAD_CONFIG = 2
METHODS = ("morris", "sobol")
KEYS = ("method", "params", "exclude", "metrics", "trajectories", "levels", "samples", "seeds",
        "sample_seed", "launcher", "n_jobs", "launcher_overrides", "top")
LIST_KEYS = ("params", "exclude", "metrics", "launcher_overrides")
USAGE = "usage: python -m experiments.sensitivity [override ...] [hydra.run.dir=DIR]"


@dataclass(frozen=True)
class Options:
    method: str
    params: list[str]
    exclude: list[str]
    metrics: list[str]
    trajectories: int
    levels: int
    samples: int
    seeds: int
    sample_seed: int
    launcher: str
    n_jobs: int
    launcher_overrides: list[str]
    top: int


def _int(values: dict, key: str, lo: int, hi: int) -> int:
    v = values[key]
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError(f"{key}: must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def _strings(values: dict, key: str, empty_ok: bool = True) -> list[str]:
    v = values[key]
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v) or (
            not v and not empty_ok):
        raise ConfigError(f"{key}: must be a list of names, e.g. {key}=[a,b], got {v!r}")
    return list(v)


def options_from(values: dict) -> Options:
    """The analysis options, checked; ConfigError with one line naming the first bad one."""
    method = values["method"]
    if method not in METHODS:
        raise ConfigError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    levels = _int(values, "levels", 2, 20)
    if levels % 2:
        raise ConfigError(f"levels: must be an even integer in [2, 20], got {levels}")
    samples = _int(values, "samples", 2, 2**20)
    if samples & (samples - 1):
        raise ConfigError(f"samples: must be a power of 2 (Sobol), got {samples}")
    launcher = values["launcher"]
    error = A.launcher_error(launcher)
    if error:
        raise ConfigError(error)
    n_jobs = values["n_jobs"]
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(f"n_jobs: must be -1 (all cores) or a positive integer, got "
                          f"{n_jobs!r}")
    return Options(method, _strings(values, "params", empty_ok=False),
                   _strings(values, "exclude"), _strings(values, "metrics", empty_ok=False),
                   _int(values, "trajectories", 2, 10_000), levels, samples,
                   _int(values, "seeds", 1, 1000), _int(values, "sample_seed", 0, 2**32 - 1),
                   launcher, n_jobs, _strings(values, "launcher_overrides"),
                   _int(values, "top", 1, 1000))


@dataclass
class Plan:
    """Everything decided before the first run: deterministic, so a rerun resumes."""

    options: Options
    run_overrides: list[str]
    plain: dict
    selection: A.Selection
    design: np.ndarray
    points: dict[str, dict]
    seeds: list[int]

    @property
    def n_runs(self) -> int:
        return len(self.points) * len(self.seeds)


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def run_overrides(overrides: list[str]) -> list[str]:
    """The overrides every run gets: the user's, minus the analysis options and the seed."""
    skip = set(KEYS) | {"seed", "sim.progress"}
    out = []
    for o in overrides:
        key = _key(o)
        if key.startswith("hydra"):
            continue
        if key == "output.dir" or key.startswith("output."):
            raise ConfigError("output.dir: not used here; the runs go to <run dir>/samples")
        if key not in skip:
            out.append(o)
    return out


def make_plan(cfg: DictConfig | dict, overrides: list[str], check: bool = True) -> Plan:
    """The plan for a composed `cfg` (conf/sensitivity.yaml + `overrides`).  With `check`,
    the metric names and every point's config are validated too (ConfigError)."""
    passed = run_overrides(overrides)
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) \
        else json.loads(json.dumps(cfg))
    plain.pop("hydra", None)
    missing = [k for k in KEYS if k not in plain]
    if missing:
        raise ConfigError(f"{missing[0]}: missing (see conf/sensitivity.yaml)")
    opts = options_from({k: plain.pop(k) for k in KEYS})
    plain["sim"]["progress"] = False
    parse_config(plain)
    selection = A.select(plain, opts.params, opts.exclude)
    design = sample(selection.problem(), opts)
    points = {A.option_name("s", i): A.realise(selection, row)
              for i, row in enumerate(design)}
    seeds = [int(plain["seed"]) + k for k in range(opts.seeds)]
    if check:
        known = A.metric_names(plain)
        for m in opts.metrics:
            if m not in known:
                raise ConfigError(f"metrics: unknown metric {m!r}; known: {', '.join(known)}")
        A.check_points(plain, list(points.values()))
    return Plan(opts, passed, plain, selection, design, points, seeds)


def sample(problem: dict, opts: Options) -> np.ndarray:
    """The design: Morris trajectories, or Saltelli/Sobol points (first and total order)."""
    if opts.method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, N=opts.trajectories, num_levels=opts.levels,
                             seed=opts.sample_seed)
    from SALib.sample import sobol

    return sobol.sample(problem, opts.samples, calc_second_order=False, seed=opts.sample_seed)


# --------------------------------------------------------------------------- analysis


def outputs(plan: Plan, results: dict, metric: str) -> np.ndarray:
    """Each point's metric, the mean over its seeds (NaN where a run is missing)."""
    y = np.full(len(plan.points), np.nan)
    for i, option in enumerate(plan.points):
        values = [results.get((option, s), {}).get(metric, math.nan) for s in plan.seeds]
        if all(np.isfinite(values)):
            y[i] = float(np.mean(values))
    return y


def analyse(plan: Plan, results: dict, notes: list[str]) -> pd.DataFrame:
    """One row per (parameter, metric): the method's indices and the rank."""
    opts, sel = plan.options, plan.selection
    rows = []
    for metric in opts.metrics:
        y = outputs(plan, results, metric)
        indices = _morris(plan, y, metric, notes) if opts.method == "morris" \
            else _sobol(plan, y, metric, notes)
        by = "mu_star" if opts.method == "morris" else "ST"
        order = np.argsort(-np.nan_to_num(np.asarray(indices[by], float), nan=-np.inf),
                           kind="stable")
        ranks = np.empty(len(order), int)
        ranks[order] = np.arange(1, len(order) + 1)
        for j, a in enumerate(sel.assumptions):
            row = {"parameter": a.name, "metric": metric, "method": opts.method,
                   "rank": ranks[j] if np.isfinite(indices[by][j]) else pd.NA,
                   "low": a.low, "high": a.high}
            row.update({k: float(v[j]) for k, v in indices.items()})
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["rank"] = frame["rank"].astype("Int64")
    frame["order"] = frame["metric"].map(opts.metrics.index)
    return (frame.sort_values(["order", "rank"], na_position="last").drop(columns="order")
            .reset_index(drop=True))


MORRIS = ("mu_star", "mu_star_conf", "sigma", "mu")
SOBOL = ("S1", "S1_conf", "ST", "ST_conf")


def _morris(plan: Plan, y: np.ndarray, metric: str, notes: list[str]) -> dict:
    from SALib.analyze import morris

    k = len(plan.selection.assumptions)
    n_traj = len(y) // (k + 1)
    keep = [t for t in range(n_traj) if np.isfinite(y[t * (k + 1):(t + 1) * (k + 1)]).all()]
    if len(keep) < n_traj:
        notes.append(f"{metric}: {n_traj - len(keep)} of {n_traj} trajectories left out "
                     "(a run missing, or the metric undefined in it)")
    if len(keep) < 2:
        notes.append(f"{metric}: fewer than 2 complete trajectories, no Morris indices")
        return {name: np.full(k, np.nan) for name in MORRIS}
    rows = np.concatenate([np.arange(t * (k + 1), (t + 1) * (k + 1)) for t in keep])
    result = morris.analyze(plan.selection.problem(), plan.design[rows], y[rows],
                            num_levels=plan.options.levels, conf_level=0.95,
                            num_resamples=1000, seed=plan.options.sample_seed)
    return {name: np.ma.filled(np.ma.asarray(result[name], float), np.nan) for name in MORRIS}


def _sobol(plan: Plan, y: np.ndarray, metric: str, notes: list[str]) -> dict:
    import warnings

    from SALib.analyze import sobol

    k = len(plan.selection.assumptions)
    if not np.isfinite(y).all():
        notes.append(f"{metric}: {int((~np.isfinite(y)).sum())} points without a value "
                     "(a run missing, or the metric undefined), no Sobol indices")
        return {name: np.full(k, np.nan) for name in SOBOL}
    if np.ptp(y) == 0:
        notes.append(f"{metric}: the same in every run, no Sobol indices")
        return {name: np.full(k, np.nan) for name in SOBOL}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sobol.analyze(plan.selection.problem(), y, calc_second_order=False,
                               num_resamples=1000, conf_level=0.95,
                               seed=plan.options.sample_seed)
    return {name: np.asarray(result[name], float) for name in SOBOL}


def samples_table(plan: Plan, results: dict) -> pd.DataFrame:
    """One row per run: point, seed, the values it ran with, every metric."""
    rows = []
    for i, (option, values) in enumerate(plan.points.items()):
        for seed in plan.seeds:
            metrics = results.get((option, seed))
            if metrics is None:
                continue
            rows.append({"sample": i, "seed": seed, **values, **metrics})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["sample"] = frame["sample"].astype("Int64")
        frame["seed"] = frame["seed"].astype("Int64")
    return frame


# --------------------------------------------------------------------------- reporting


def _short(name: str) -> str:
    return name.removeprefix("scenario.")


def _index_text(row: pd.Series) -> str:
    if "mu_star" in row:
        return (f"mu* {row['mu_star']:.4g} ± {row['mu_star_conf']:.2g} "
                f"(sigma {row['sigma']:.3g}, mu {row['mu']:+.3g})")
    return f"ST {row['ST']:.3f} ± {row['ST_conf']:.3f}, S1 {row['S1']:.3f} ± {row['S1_conf']:.3f}"


def ranking_text(indices: pd.DataFrame, metric: str, n: int = 5) -> list[str]:
    top = indices[(indices["metric"] == metric) & indices["rank"].notna()].head(n)
    return [f"  {int(r['rank'])}. {r['parameter']}  {_index_text(r)}  "
            f"[{r['low']:.4g}, {r['high']:.4g}]" for _, r in top.iterrows()]


def plot_ranking(indices: pd.DataFrame, metric: str, method: str, title: str, top: int,
                 outdir: Path) -> list[Path]:
    """A ranked horizontal bar chart (PNG and SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = indices[(indices["metric"] == metric) & indices["rank"].notna()].head(top)
    if data.empty:
        return []
    data = data.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(data) + 1.4))
    labels = [_short(p) for p in data["parameter"]]
    ypos = np.arange(len(data))
    if method == "morris":
        ax.barh(ypos, data["mu_star"], xerr=data["mu_star_conf"], color="#4c72b0",
                error_kw={"ecolor": "#333", "capsize": 2, "lw": 0.8}, label="μ* (95 % CI)")
        ax.plot(data["sigma"], ypos, "o", color="#dd8452", ms=4, label="σ")
        ax.set_xlabel(f"μ*: change in {metric} across the plausible range")
    else:
        h = 0.4
        ax.barh(ypos + h / 2, data["ST"], h, xerr=data["ST_conf"], color="#4c72b0",
                label="total order ST", error_kw={"capsize": 2, "lw": 0.8})
        ax.barh(ypos - h / 2, data["S1"], h, xerr=data["S1_conf"], color="#9ecae1",
                label="first order S1", error_kw={"capsize": 2, "lw": 0.8})
        ax.set_xlabel(f"share of the variance of {metric}")
    ax.set_yticks(ypos, labels, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for ext in ("png", "svg"):
        path = outdir / f"sensitivity_{metric}.{ext}"
        fig.savefig(path, dpi=120)
        written.append(path)
    plt.close(fig)
    return written


def report_text(plan: Plan, indices: pd.DataFrame, notes: list[str], wall: str,
                n_done: int) -> str:
    o = plan.options
    k = len(plan.selection.assumptions)
    how = (f"Morris, {o.trajectories} trajectories x ({k} + 1) points"
           if o.method == "morris" else f"Sobol, N = {o.samples} x ({k} + 2) points")
    lines = [f"# Sensitivity: {plan.plain['scenario']['name']}, "
             f"{plan.plain['sim']['days']:g} days",
             "",
             f"{how} x {len(plan.seeds)} seed(s) = {plan.n_runs} runs ({n_done} finished), "
             f"{k} assumed numbers; wall time {wall}.",
             f"Run overrides: `{' '.join(plan.run_overrides) or '(none)'}`.", ""]
    for metric in o.metrics:
        lines += [f"## {metric}", "", *ranking_text(indices, metric), ""]
    all_notes = plan.selection.notes() + notes
    if all_notes:
        lines += ["## Notes", "", *[f"- {n}" for n in all_notes], ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- running


def run(plan: Plan, outdir: Path, log=print) -> int:
    """Launch the missing runs, then analyse and write everything; the exit code."""
    started = time.perf_counter()
    o = plan.options
    conf_dir, samples_dir = outdir / "conf", outdir / "samples"
    write_json({"method": o.method, "options": o.__dict__, "run_overrides": plan.run_overrides,
                "seeds": plan.seeds,
                "assumptions": [a.__dict__ for a in plan.selection.assumptions],
                "notes": plan.selection.notes()}, outdir / "problem.json")
    for note in plan.selection.notes():
        log(f"note: {note}")
    todo = A.missing(plan.points, plan.seeds, samples_dir, plan.plain)
    log(f"{o.method}: {len(plan.points)} points x {len(plan.seeds)} seed(s) = {plan.n_runs} "
        f"runs over {len(plan.selection.assumptions)} assumed numbers; "
        f"{plan.n_runs - len(todo) * len(plan.seeds)} already finished")
    log(f"to resume if interrupted: the same command with hydra.run.dir={outdir}")
    code = A.execute(plan.plain, plan.points,
                     A.Launch(plan.run_overrides, "sample", todo, plan.seeds, conf_dir,
                              samples_dir, o.launcher, o.n_jobs, o.launcher_overrides),
                     outdir / "samples.log", log)
    results = A.metrics_of(samples_dir, plan.points, plan.seeds)
    notes: list[str] = []
    if len(results) < plan.n_runs:
        notes.append(f"{plan.n_runs - len(results)} runs did not finish (see samples.log); "
                     f"rerun with hydra.run.dir={outdir} to run just those")
    from experiments.analysis.collect import atomic_write_parquet

    atomic_write_parquet(outdir / "samples.parquet", samples_table(plan, results))
    indices = analyse(plan, results, notes)
    columns = ["parameter", "metric", "method", "rank", "low", "high",
               *(MORRIS if o.method == "morris" else SOBOL)]
    from sim.output import atomic_write

    atomic_write(outdir / "sensitivity.csv",
                 lambda tmp: indices[columns].to_csv(tmp, index=False))
    scenario, days = plan.plain["scenario"]["name"], plan.plain["sim"]["days"]
    for metric in o.metrics:
        plot_ranking(indices, metric, o.method,
                     f"{metric}: {o.method}, {scenario}, {days:g} days, {plan.n_runs} runs",
                     o.top, outdir / "figures")
    text = report_text(plan, indices, notes, A.seconds(started), len(results))
    write_text(outdir / "sensitivity.md", text)
    log(text)
    log(f"outputs: {outdir}")
    return 0 if code == 0 and len(results) == plan.n_runs else 1


_PLANNED: Plan | None = None


@hydra.main(config_path=str(CONF_DIR), config_name="sensitivity", version_base="1.3")
def app(cfg: DictConfig) -> int:
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    # The plan main() checked (composing again inside a running Hydra app is not safe).
    plan = _PLANNED or make_plan(cfg, list(hc.overrides.task), check=False)
    code = run(plan, Path(hc.runtime.output_dir))
    if code:
        raise SystemExit(code)
    return code


def check(overrides: list[str], config_name: str = "sensitivity") -> Plan:
    """Compose and check everything, writing nothing (ConfigError on bad input)."""
    from sim.compose import compose_config

    return make_plan(compose_config(overrides, config_name), overrides)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if {"-h", "--help"} & set(argv):
        print(USAGE)
        print(__doc__)
        return 0
    if {"-m", "--multirun"} & set(argv):
        print("error: -m: experiments.sensitivity launches its own multirun; drop -m",
              file=sys.stderr)
        return EXIT_BAD_CONFIG
    argv = A.split_list_overrides(argv, LIST_KEYS)
    overrides = [a for a in argv if not a.startswith("-")]
    try:
        started = time.perf_counter()
        plan = check(overrides)
        print(f"checked {len(plan.points)} configurations ({A.seconds(started)})")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    global _PLANNED
    _PLANNED = plan
    sys.argv = [sys.argv[0], *argv]
    try:
        app()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
