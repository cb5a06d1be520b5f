"""Does a policy comparison's verdict survive what we assumed?  Re-run a sweep's variants
across a Latin hypercube of plausible worlds and count the worlds where each verdict holds.

    python -m experiments.robustness results/sweeps/fulltime
    python -m experiments.robustness results/sweeps/grids worlds=40 seeds=5 \\
        metrics=response_p90_min_p1,p1_within_5min_share baseline=policy=baseline
    python -m experiments.robustness results/sweeps/grids hydra.run.dir=<its run dir>  # resume

The sweep is one `experiments.compare` reads: variants x paired seeds (``experiments.run -m``).
A *world* is one draw of every assumed number over its plausible range (Latin hypercube; the
same choice of numbers, ranges, scaling and share normalisation as ``experiments.sensitivity``,
see :mod:`experiments.analysis.assumptions`).  In every world, every variant is run again with
each of the sweep's seeds (common random numbers: the variants of a world see the same
demand), and the paired difference from the baseline gets a t interval, as ``compare`` does.

A verdict is *better* / *worse* (or *higher* / *lower* for a metric with no good direction)
when the 95 % interval of the paired difference excludes 0, else *no detectable difference*.
It **holds** in a world when that world gives the same verdict as the original sweep (same
direction, interval excluding 0; or, for no detectable difference, again none).

Which assumptions flip it, kept simple on purpose (worlds are few and assumptions many, so a
regression on all of them at once would be ill-posed): for each assumed number, the AUC of its
value between worlds where the verdict flips and worlds where it holds (0.5: no relation;
Mann-Whitney); the number with the AUC furthest from 0.5 is the *flip driver*, with the single
threshold on it that best separates flip from hold (a one-variable, PRIM-like box: "holds in
12/12 worlds with x < 0.6, 2/8 above").  Separately, the assumed number most correlated
(Spearman) with the size of the difference is the *effect driver*, with a permutation
p-value (exact for few worlds, else seeded Monte Carlo; scipy's t approximation gave p = 0 at
|rho| = 1).  Both use the values the worlds ran with (``worlds.csv``: shares normalised).
With ~150 numbers and 20 worlds a strong-looking association arises by chance, so each
driver's p-value is multiplied by the number of assumptions tested (Bonferroni, the first
step of Holm's) and a driver is named in the report only when that adjusted p is below 0.05;
otherwise the report says no single assumption explains the flips (more worlds, or fewer
``params``, sharpen this).  Treat a named driver as a lead and confirm it with
``experiments.sensitivity params=<it>`` or a sweep over it.

Options (``conf/robustness.yaml``): baseline (a variant label or some of its overrides;
default the one with policy=baseline, else the first), worlds, seeds (the first n common
seeds; default all), params / exclude (globs), metrics (default every metric with a better
direction), level, sample_seed, launcher / n_jobs / launcher_overrides (as for sweeps).

Writes into its run directory (``results/robustness/<time>/``): ``robustness.csv`` (one row per
metric and variant), ``robustness.md``, ``verdicts.csv`` (every world's paired difference),
``worlds.csv`` (the assumed numbers of each world), and the runs in ``runs/v<k>/``.
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
from scipy import stats

from experiments.analysis import assumptions as A
from experiments.analysis import collect as C
from sim.compose import CONF_DIR
from sim.config import ConfigError, parse_config
from sim.output import atomic_write, write_text

EXIT_BAD_CONFIG = 2
KEYS = ("sweep", "baseline", "worlds", "seeds", "params", "exclude", "metrics", "level",
        "sample_seed", "launcher", "n_jobs", "launcher_overrides")
LIST_KEYS = ("params", "exclude", "metrics", "launcher_overrides")
USAGE = "usage: python -m experiments.robustness SWEEP_DIR [option=value ...]"
NO_DIFF = "no detectable difference"
SIGNIFICANT = 0.05   # a driver is named when its adjusted p-value is below this
# Overrides of a sweep's jobs that are not part of a variant's runs.
_NOT_RUN_KEYS = ("seed", "experiment", "sim.progress", "output.dir")


@dataclass(frozen=True)
class Options:
    sweep: Path
    baseline: str | None
    worlds: int
    seeds: int | None
    params: list[str]
    exclude: list[str]
    metrics: list[str] | None
    level: float
    sample_seed: int
    launcher: str
    n_jobs: int
    launcher_overrides: list[str]


def options_from(values: dict) -> Options:
    from experiments.analysis.sensitivity import _int, _strings

    sweep = Path(str(values["sweep"]))
    if not sweep.is_dir():
        raise ConfigError(f"sweep: not a folder: {sweep}")
    level = values["level"]
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.5 <= level < 1:
        raise ConfigError(f"level: must be a number in [0.5, 1), got {level!r}")
    error = A.launcher_error(values["launcher"])
    if error:
        raise ConfigError(error)
    n_jobs = values["n_jobs"]
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(f"n_jobs: must be -1 (all cores) or a positive integer, got "
                          f"{n_jobs!r}")
    seeds = None if values["seeds"] is None else _int(values, "seeds", 2, 10_000)
    metrics = None if values["metrics"] is None else _strings(values, "metrics", False)
    baseline = values["baseline"]
    return Options(sweep.resolve(), None if baseline is None else str(baseline),
                   _int(values, "worlds", 2, 100_000), seeds,
                   _strings(values, "params", empty_ok=False), _strings(values, "exclude"),
                   metrics, float(level), _int(values, "sample_seed", 0, 2**32 - 1),
                   values["launcher"], n_jobs, _strings(values, "launcher_overrides"))


# --------------------------------------------------------------------------- the sweep


@dataclass
class Variant:
    label: str
    overrides: list[str]      # what its runs are made with, without the seed
    plain: dict               # its run config (sim.progress off), as a dict


def sweep_variants(sweep: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The sweep's runs table and each variant's overrides (from its first finished job)."""
    try:
        runs = C.load_runs(sweep)
    except C.InputError as exc:
        raise ConfigError(f"sweep: {exc}") from None
    overrides: dict[str, list[str]] = {}
    for _, row in runs.iterrows():
        label = str(row["variant"])
        if label not in overrides:
            job = C.read_overrides(sweep / str(row["job"]))
            overrides[label] = [o for o in job if C.parse_override(o)[0] not in _NOT_RUN_KEYS]
    return runs, overrides


def pick_baseline(labels: list[str], overrides: dict[str, list[str]], wanted: str | None
                  ) -> str:
    """A label, or a variant whose overrides include every ``k=v`` of `wanted`."""
    if wanted is None:
        found = [v for v in labels if "policy=baseline" in overrides[v]]
        return found[0] if len(found) == 1 else labels[0]
    if wanted in labels:
        return wanted
    items = {C.parse_override(o) for o in wanted.split(",")}
    found = [v for v in labels if items <= {C.parse_override(o) for o in overrides[v]}]
    if len(found) != 1:
        raise ConfigError(f"baseline: {wanted!r} names {len(found)} variants; one of: "
                          f"{'; '.join(labels)}")
    return found[0]


def common_seeds(runs: pd.DataFrame, labels: list[str], limit: int | None) -> list[int]:
    per = [set(runs.loc[runs["variant"] == v, "seed"].dropna().astype(int)) for v in labels]
    seeds = sorted(set.intersection(*per)) if per else []
    if limit and limit > len(seeds):
        raise ConfigError(f"seeds: must be at most {len(seeds)}, the seeds common to every "
                          f"variant of the sweep ({', '.join(map(str, seeds))}), got {limit}; "
                          "add seeds to the sweep first")
    seeds = seeds[:limit] if limit else seeds
    if len(seeds) < 2:
        raise ConfigError(f"sweep: needs at least 2 seeds common to every variant for paired "
                          f"intervals, found {len(seeds)}")
    return seeds


# --------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    options: Options
    runs: pd.DataFrame
    variants: list[Variant]
    baseline: str
    seeds: list[int]
    metrics: list[str]
    selection: A.Selection
    unit: np.ndarray            # worlds x numbers, in [0, 1]
    points: dict[str, dict]     # world option -> values

    @property
    def n_runs(self) -> int:
        return len(self.points) * len(self.seeds) * len(self.variants)


def _compose_plain(overrides: list[str]) -> dict:
    from sim.compose import compose_config

    plain = OmegaConf.to_container(compose_config([*overrides, "sim.progress=false"]),
                                   resolve=True)
    plain.pop("hydra", None)
    return plain


def make_plan(cfg: DictConfig | dict, check: bool = True) -> Plan:
    values = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) \
        else dict(cfg)
    extra = sorted(set(values) - set(KEYS) - {"hydra"})
    if extra:
        raise ConfigError(f"{extra[0]}: not an option of experiments.robustness (it reruns "
                          f"the sweep's own runs); options: {', '.join(KEYS)}")
    opts = options_from(values)
    runs, overrides = sweep_variants(opts.sweep)
    labels = list(overrides)
    if len(labels) < 2:
        raise ConfigError(f"sweep: needs at least two variants to compare, found {labels}")
    baseline = pick_baseline(labels, overrides, opts.baseline)
    seeds = common_seeds(runs, labels, opts.seeds)
    variants = []
    for label in labels:
        try:
            plain = _compose_plain(overrides[label])
            parse_config(plain)
        except ConfigError as exc:
            raise ConfigError(f"sweep: variant {label} no longer composes: {exc}") from None
        variants.append(Variant(label, overrides[label], plain))
    available = C.metric_columns(runs)
    metrics = opts.metrics if opts.metrics is not None else [
        m for m in available if _direction(m) != 0]
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise ConfigError(f"metrics: {unknown[0]!r} is not in the sweep; known: "
                          f"{', '.join(available)}")
    base = next(v for v in variants if v.label == baseline)
    selection = A.select(base.plain, opts.params, opts.exclude)
    unit = stats.qmc.LatinHypercube(d=len(selection.assumptions),
                                    seed=opts.sample_seed).random(opts.worlds)
    lows = np.array([a.low for a in selection.assumptions])
    highs = np.array([a.high for a in selection.assumptions])
    points = {A.option_name("w", i): A.realise(selection, lows + row * (highs - lows))
              for i, row in enumerate(unit)}
    if check:
        for v in variants:
            A.check_points(v.plain, list(points.values()), what=f"variant {v.label}: world")
    return Plan(opts, runs, variants, baseline, seeds, metrics, selection, unit, points)


# --------------------------------------------------------------------------- verdicts


def _direction(metric: str) -> int:
    from experiments.analysis.metrics_meta import direction

    return direction(metric)


def paired(diffs: np.ndarray, level: float) -> tuple[int, float, float, float]:
    """(pairs, mean, ci_low, ci_high) of paired differences; a t interval."""
    d = diffs[np.isfinite(diffs)]
    n = len(d)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    mean = float(d.mean())
    if n < 2:
        return n, mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return n, mean, mean - half, mean + half


def verdict(metric: str, n: int, lo: float, hi: float) -> str:
    if n < 2 or not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    if lo <= 0 <= hi:
        return NO_DIFF
    up = lo > 0
    sign = _direction(metric)
    if sign == 0:
        return "higher" if up else "lower"
    return "better" if up == (sign > 0) else "worse"


def _diffs(values: dict, variant: str, baseline: str, seeds: list[int]) -> np.ndarray:
    return np.array([values.get((variant, s), math.nan) - values.get((baseline, s), math.nan)
                     for s in seeds], float)


def original_verdicts(plan: Plan) -> pd.DataFrame:
    """The sweep's own verdicts, over the same seeds."""
    rows = []
    runs = plan.runs
    for metric in plan.metrics:
        values = {(str(r["variant"]), int(r["seed"])): float(r[metric])
                  for _, r in runs.dropna(subset=["seed"]).iterrows()}
        for v in plan.variants:
            if v.label == plan.baseline:
                continue
            n, mean, lo, hi = paired(_diffs(values, v.label, plan.baseline, plan.seeds),
                                     plan.options.level)
            rows.append({"metric": metric, "variant": v.label, "diff": mean, "ci_low": lo,
                         "ci_high": hi, "verdict": verdict(metric, n, lo, hi)})
    return pd.DataFrame(rows)


def world_verdicts(plan: Plan, results: dict[str, dict], original: pd.DataFrame
                   ) -> pd.DataFrame:
    """One row per world, metric and variant; `results[label][(world, seed)]` = metrics."""
    orig = original.set_index(["metric", "variant"])["verdict"]
    rows = []
    for w, world in enumerate(plan.points):
        for metric in plan.metrics:
            values = {(label, s): res.get((world, s), {}).get(metric, math.nan)
                      for label, res in results.items() for s in plan.seeds}
            for v in plan.variants:
                if v.label == plan.baseline:
                    continue
                n, mean, lo, hi = paired(_diffs(values, v.label, plan.baseline, plan.seeds),
                                         plan.options.level)
                said = verdict(metric, n, lo, hi)
                rows.append({"world": w, "metric": metric, "variant": v.label, "n_pairs": n,
                             "diff": mean, "ci_low": lo, "ci_high": hi, "verdict": said,
                             "holds": said == orig[(metric, v.label)]})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["world"] = frame["world"].astype("Int64")
        frame["n_pairs"] = frame["n_pairs"].astype("Int64")
        frame["holds"] = frame["holds"].astype("boolean")
    return frame


def auc(values: np.ndarray, flips: np.ndarray) -> tuple[float, float]:
    """P(a flipping world's value > a holding world's), ties counted half, and the two-sided
    Mann-Whitney p-value of no difference."""
    a, b = values[flips], values[~flips]
    if not len(a) or not len(b):
        return math.nan, math.nan
    test = stats.mannwhitneyu(a, b)
    return float(test.statistic / (len(a) * len(b))), float(test.pvalue)


def best_split(values: np.ndarray, holds: np.ndarray, min_side: int = 2
               ) -> tuple[float, int, int, int, int] | None:
    """The threshold t on one number that best separates holding from flipping worlds:
    (t, holds below, worlds below, holds above, worlds above), or None."""
    order = np.argsort(values)
    v, h = values[order], holds[order]
    best, out = -1.0, None
    for i in range(min_side, len(v) - min_side + 1):
        if v[i - 1] == v[i]:
            continue
        below, above = h[:i], h[i:]
        gap = abs(below.mean() - above.mean())
        if gap > best:
            best = gap
            out = ((v[i - 1] + v[i]) / 2, int(below.sum()), len(below), int(above.sum()),
                   len(above))
    return out


def world_values(plan: Plan) -> np.ndarray:
    """Worlds x assumptions: the values each world ran with (``worlds.csv``): integers
    rounded, shares of a table that must sum to 1 after normalisation.  Without recorded
    worlds (``plan.points`` empty), the sampled values."""
    sel = plan.selection
    if plan.points:
        return np.array([[float(values[a.name]) for a in sel.assumptions]
                         for values in plan.points.values()], float)
    lows = np.array([a.low for a in sel.assumptions], float)
    highs = np.array([a.high for a in sel.assumptions], float)
    return lows + plan.unit * (highs - lows)


PERMUTATION_SEED = 0     # Monte Carlo permutations are seeded: the same report every time
_BLOCK = 10_000          # permutations per block (memory)


def spearman_permutation_p(x: np.ndarray, y: np.ndarray, resamples: int,
                           seed: int = PERMUTATION_SEED) -> tuple[float, float]:
    """Spearman's rho of x and y and its two-sided permutation p-value (pairings):
    exact when n! <= `resamples` (the observed pairing counted), else Monte Carlo with
    `resamples` seeded random pairings, p = (count + 1) / (resamples + 1).

    scipy's ``spearmanr`` p-value (a t approximation) is 0 at |rho| = 1 and too small in the
    tail at 20 worlds, so a Bonferroni-adjusted driver was named from noise."""
    rx = stats.rankdata(x) - (len(x) + 1) / 2
    ry = stats.rankdata(y) - (len(y) + 1) / 2
    n = len(x)
    scale = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if scale == 0:
        return math.nan, math.nan
    rho = float(rx @ ry) / scale
    bar = abs(rho) * scale * (1 - 1e-9) - 1e-9   # |sum| at least this: as extreme
    if math.factorial(n) <= resamples:
        from itertools import permutations

        perms = np.array(list(permutations(ry)), float)
        return rho, float(np.mean(np.abs(perms @ rx) >= bar))
    rng = np.random.default_rng(seed)
    count, left = 0, resamples
    while left:
        size = min(left, _BLOCK)
        perms = rng.permuted(np.tile(ry, (size, 1)), axis=1)
        count += int(np.sum(np.abs(perms @ rx) >= bar))
        left -= size
    return rho, (count + 1) / (resamples + 1)


def resamples_for(k: int) -> int:
    """Monte Carlo permutations enough for p x k to fall well below SIGNIFICANT: the smallest
    possible p, 1 / (resamples + 1), is a twentieth of SIGNIFICANT / k."""
    return max(9_999, math.ceil(20 * k / SIGNIFICANT))


def drivers(plan: Plan, verdicts: pd.DataFrame, metric: str, variant: str) -> dict:
    """The flip driver (with its split) and the effect driver for one verdict.

    Both use the values the worlds ran with (:func:`world_values`).  The effect driver is
    the number with the largest |Spearman rho|; its p-value is a permutation p-value
    (:func:`spearman_permutation_p`), times k, the number of assumptions tested."""
    sel = plan.selection
    rows = verdicts[(verdicts["metric"] == metric) & (verdicts["variant"] == variant)]
    rows = rows[rows["verdict"] != "inconclusive"]
    worlds = rows["world"].astype(int).to_numpy()
    holds = rows["holds"].astype(bool).to_numpy()
    u = world_values(plan)[worlds]
    k = u.shape[1]
    out: dict = {"flip_driver": pd.NA, "flip_auc": math.nan, "flip_p": math.nan,
                 "flip_rule": pd.NA, "effect_driver": pd.NA, "effect_rho": math.nan,
                 "effect_p": math.nan}
    if 0 < holds.sum() < len(holds):
        flips = ~holds
        tests = np.array([auc(u[:, j], flips) for j in range(k)])
        j = int(np.nanargmax(np.abs(tests[:, 0] - 0.5)))
        a = sel.assumptions[j]
        # The best of k numbers: its p-value times k (Bonferroni, Holm's first step).
        out.update(flip_driver=a.name, flip_auc=float(tests[j, 0]),
                   flip_p=min(1.0, float(tests[j, 1]) * k))
        split = best_split(u[:, j], holds)
        if split is not None:
            value, hb, nb, ha, na = split
            out["flip_rule"] = (f"holds in {hb}/{nb} worlds with {a.name} < {value:.4g}, "
                                f"{ha}/{na} above")
    diffs = rows["diff"].to_numpy(float)
    ok = np.isfinite(diffs)
    if ok.sum() >= 3 and np.ptp(diffs[ok]) > 0:
        rhos = np.array([stats.spearmanr(u[ok, j], diffs[ok])[0]
                         if np.ptp(u[ok, j]) > 0 else math.nan for j in range(k)])
        if np.isfinite(rhos).any():
            # Only the strongest is reported; its permutation p-value, times k.
            j = int(np.nanargmax(np.abs(rhos)))
            rho, p = spearman_permutation_p(u[ok, j], diffs[ok], resamples_for(k))
            out.update(effect_driver=sel.assumptions[j].name, effect_rho=rho,
                       effect_p=min(1.0, p * k))
    return out


def summarise(plan: Plan, original: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, o in original.iterrows():
        rows_w = verdicts[(verdicts["metric"] == o["metric"])
                          & (verdicts["variant"] == o["variant"])
                          & (verdicts["verdict"] != "inconclusive")]
        n = len(rows_w)
        k = int(rows_w["holds"].astype(bool).sum())
        share = k / n if n else math.nan
        lo = hi = same = math.nan
        if n:
            ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
            lo, hi = float(ci.low), float(ci.high)
            if o["diff"] != 0 and math.isfinite(o["diff"]):
                same = float((np.sign(rows_w["diff"]) == np.sign(o["diff"])).mean())
        others = rows_w.loc[~rows_w["holds"].astype(bool), "verdict"].value_counts()
        flipped = "; ".join(f"{v} in {c}" for v, c in others.items()) or pd.NA
        rows.append({"metric": o["metric"], "variant": o["variant"], "baseline": plan.baseline,
                     "verdict": o["verdict"], "diff": o["diff"], "ci_low": o["ci_low"],
                     "ci_high": o["ci_high"], "worlds": n, "holds_share": share,
                     "holds_ci_low": lo, "holds_ci_high": hi, "same_direction_share": same,
                     "flipped_to": flipped,
                     **drivers(plan, verdicts, o["metric"], o["variant"])})
    frame = pd.DataFrame(rows)
    frame["worlds"] = frame["worlds"].astype("Int64")
    return frame


def worlds_table(plan: Plan) -> pd.DataFrame:
    frame = pd.DataFrame([{"world": i, **values} for i, values in
                          enumerate(plan.points.values())])
    frame["world"] = frame["world"].astype("Int64")
    return frame


# --------------------------------------------------------------------------- reporting


def _num(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.3g}"


def line(row: pd.Series) -> str:
    head = (f"{row['metric']}, {row['variant']} vs {row['baseline']}: {row['verdict']} "
            f"({_num(row['diff'])} [{_num(row['ci_low'])}, {_num(row['ci_high'])}])")
    if not row["worlds"]:
        return head + "; no world gave a verdict"
    holds = round(row["holds_share"] * row["worlds"])
    text = (f"{head} holds in {holds}/{row['worlds']} plausible worlds "
            f"({row['holds_share']:.0%}; 95 % CI {row['holds_ci_low']:.0%} to "
            f"{row['holds_ci_high']:.0%})")
    if isinstance(row["flipped_to"], str):
        text += f"; elsewhere {row['flipped_to']}"
    if isinstance(row["flip_driver"], str):
        if row["flip_p"] < SIGNIFICANT:
            text += (f"; flips with {row['flip_driver']} (AUC {row['flip_auc']:.2f}, adjusted "
                     f"p {row['flip_p']:.2g})")
            if isinstance(row["flip_rule"], str):
                text += f": {row['flip_rule']}"
        else:
            text += (f"; no single assumption explains the flips (closest: "
                     f"{row['flip_driver']}, AUC {row['flip_auc']:.2f}, adjusted p "
                     f"{row['flip_p']:.2g})")
    if isinstance(row["effect_driver"], str) and row["effect_p"] < SIGNIFICANT:
        text += (f"; the effect's size follows {row['effect_driver']} "
                 f"(Spearman {row['effect_rho']:+.2f}, adjusted p {row['effect_p']:.2g})")
    return text


def report_text(plan: Plan, summary: pd.DataFrame, wall: str, n_done: int) -> str:
    o = plan.options
    lines = [f"# Robustness of {o.sweep.name} over plausible worlds", "",
             f"{len(plan.points)} worlds (Latin hypercube over {len(plan.selection.assumptions)} "
             f"assumed numbers) x {len(plan.variants)} variants x seeds "
             f"{', '.join(map(str, plan.seeds))} = {plan.n_runs} runs ({n_done} finished); "
             f"wall time {wall}. Baseline: {plan.baseline}.", "",
             "A verdict holds in a world when that world's paired "
             f"{o.level * 100:g} % interval gives the same verdict as the original sweep.", ""]
    lines += [f"- {line(r)}" for _, r in summary.iterrows()]
    if plan.selection.notes():
        lines += ["", "## Notes", "", *[f"- {n}" for n in plan.selection.notes()]]
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- running


def run(plan: Plan, outdir: Path, log=print) -> int:
    started = time.perf_counter()
    o = plan.options
    conf_dir = outdir / "conf"
    for note in plan.selection.notes():
        log(f"note: {note}")
    log(f"{len(plan.points)} worlds x {len(plan.variants)} variants x {len(plan.seeds)} seeds "
        f"= {plan.n_runs} runs; to resume if interrupted: the same command with "
        f"hydra.run.dir={outdir}")
    code = 0
    results: dict[str, dict] = {}
    for k, v in enumerate(plan.variants):
        sweep_dir = outdir / "runs" / f"v{k}"
        todo = A.missing(plan.points, plan.seeds, sweep_dir, v.plain)
        log(f"variant {v.label}: {len(todo) * len(plan.seeds)} runs to make")
        code |= A.execute(v.plain, plan.points,
                          A.Launch(v.overrides, "world", todo, plan.seeds, conf_dir, sweep_dir,
                                   o.launcher, o.n_jobs, o.launcher_overrides),
                          outdir / "runs.log", log)
        results[v.label] = A.metrics_of(sweep_dir, plan.points, plan.seeds)
    n_done = sum(len(r) for r in results.values())
    original = original_verdicts(plan)
    verdicts = world_verdicts(plan, results, original)
    summary = summarise(plan, original, verdicts)
    for name, frame in (("worlds.csv", worlds_table(plan)), ("verdicts.csv", verdicts),
                        ("robustness.csv", summary)):
        atomic_write(outdir / name, lambda tmp, f=frame: f.to_csv(tmp, index=False))
    write_text(outdir / "problem.json", json.dumps(
        {"sweep": str(o.sweep), "baseline": plan.baseline, "seeds": plan.seeds,
         "variants": {v.label: v.overrides for v in plan.variants},
         "assumptions": [a.__dict__ for a in plan.selection.assumptions]}, indent=1) + "\n")
    text = report_text(plan, summary, A.seconds(started), n_done)
    write_text(outdir / "robustness.md", text)
    log(text)
    log(f"outputs: {outdir}")
    return 0 if code == 0 and n_done == plan.n_runs else 1


_PLANNED: Plan | None = None


@hydra.main(config_path=str(CONF_DIR), config_name="robustness", version_base="1.3")
def app(cfg: DictConfig) -> int:
    from hydra.core.hydra_config import HydraConfig

    # The plan main() checked (composing again inside a running Hydra app is not safe).
    plan = _PLANNED or make_plan(cfg, check=False)
    code = run(plan, Path(HydraConfig.get().runtime.output_dir))
    if code:
        raise SystemExit(code)
    return code


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if {"-h", "--help"} & set(argv):
        print(USAGE)
        print(__doc__)
        return 0
    positional = [a for a in argv if "=" not in a and not a.startswith("-")]
    if len(positional) != 1:
        print(f"error: {USAGE.removeprefix('usage: ')}: give one sweep folder", file=sys.stderr)
        return EXIT_BAD_CONFIG
    argv = [a for a in argv if a not in positional]
    # A variant label holds '=' and ',': quote it for Hydra's override grammar.
    argv = [f"baseline={_quote(a.split('=', 1)[1])}"
            if a.startswith("baseline=") and a[len("baseline="):][:1] not in ("'", '"') else a
            for a in argv]
    argv = [f"sweep={_quote(str(Path(positional[0]).resolve()))}",
            *A.split_list_overrides(argv, LIST_KEYS)]
    overrides = [a for a in argv if not a.startswith("-")]
    try:
        for o in overrides:
            key = o.partition("=")[0].lstrip("+~")
            if key not in KEYS and not key.startswith("hydra"):
                raise ConfigError(f"{key}: not an option of experiments.robustness (it reruns "
                                  f"the sweep's own runs); options: {', '.join(KEYS[1:])}")
        from sim.compose import compose_config

        started = time.perf_counter()
        plan = make_plan(compose_config(overrides, "robustness"))
        print(f"checked {len(plan.points) * len(plan.variants)} configurations "
              f"({A.seconds(started)})")
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
