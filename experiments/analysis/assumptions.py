"""The assumed numbers as random inputs: which ones, over what range, and how to run the model
at many points of that space.  Shared by ``experiments.sensitivity`` (Morris, Sobol) and
``experiments.robustness`` (a policy comparison across a Latin hypercube of plausible worlds).

**Which.** Every leaf the schema marks ``assumed`` that is a single number with a plausible
range (``sim/config.py``, ``sim/provenance.py``), chosen by ``params`` globs over the dotted
names ``experiments.params`` prints, minus ``exclude`` globs.  Left out, and said so:
list-valued assumptions (hourly profile, shift start hours: a pattern, not a number), booleans
and labels, and ranges of zero width (a kind's priority).

**Over what.** The value is the scenario's own (before a policy scales it, so a policy's factor
still applies on top).  A range given in absolute terms for the default district (e.g. 500-680
part-time community mediators) does not fit a smaller scenario whose value lies outside it;
such a range is scaled by the ratio of this scenario's value to the default's (36 of 600 gives
30-40.8), and the notes list every one.  Integers are rounded.  Shares of a table that must sum
to 1 (dispute categories, incident kinds) are sampled as weights and divided by their table's
sum, so each run gets a valid table.

**How.** Every point and seed is one ordinary run folder, ``<sweep dir>/<point>_seed<k>/``
(the run's files, ``.hydra/overrides.yaml``, ``DONE`` last), so ``experiments.collect`` reads
them and a killed analysis resumes like a killed sweep: a folder with ``DONE`` and the same
config is kept, only the missing runs are made.  Every point's config is validated in-process
before the first run.  Two ways to make the runs:

* ``launcher=local`` (the default): a joblib process pool here, ``n_jobs`` workers (-1: every
  core), as the sweeps' default Hydra joblib launcher does, each worker calling
  ``Simulation(config).run()``.  Chosen over a Hydra multirun for the local case because Hydra
  composes every job's config twice (once to check the batch, once in the worker, ~0.2-0.4 s
  each), which doubles the cost of the short runs a screening is made of;
* ``launcher=joblib|basic|submitit_local|slurm|ray``: the same runs as one Hydra multirun of
  ``experiments.run``'s job, through that Hydra launcher, for a cluster.  Each point is an
  option of a config group, a file ``<run dir>/conf/<group>/<point>.yaml`` holding its values
  under ``# @package _global_``, and the multirun sweeps that group and the seeds
  (``+sample=s00000,s00001,... seed=0,1``); it is launched in a subprocess without
  ``experiments.run``'s own up-front check of every combination (done here already).
"""

from __future__ import annotations

import fnmatch
import math
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from sim.compose import CONF_DIR
from sim.config import ConfigError, RunConfig, Scenario, parse_config, to_dict
from sim.output import json_ready, write_text
from sim.provenance import ASSUMED, Parameter, parameters

REPO = CONF_DIR.parent
LOCAL = "local"
LAUNCHERS = (LOCAL, "joblib", "basic", "submitit_local", "submitit_slurm", "slurm", "ray")
# experiments.run's job, without its command's up-front check of every combination.
RUN_JOB = "from experiments.run import run_job; run_job()"
_SHARE = re.compile(r"^(?P<table>.+)\.[^.]+\.share$")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Assumption:
    """One assumed number the analysis varies, over [low, high]."""

    name: str
    value: float
    low: float
    high: float
    unit: str = ""
    integer: bool = False
    scaled: bool = False        # an absolute range for the default district, scaled here
    share_table: str | None = None   # a weight in this table of shares


@dataclass
class Selection:
    assumptions: list[Assumption]
    skipped: dict[str, list[str]] = field(default_factory=dict)   # reason -> names
    base: dict[str, Parameter] = field(default_factory=dict)      # every leaf, by name

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.assumptions]

    @property
    def scaled(self) -> list[Assumption]:
        return [a for a in self.assumptions if a.scaled]

    def notes(self) -> list[str]:
        """What was left out and what was adapted, one line each."""
        lines = [f"{len(names)} assumed {reason}, left out: {', '.join(_short(names))}"
                 for reason, names in self.skipped.items() if names]
        if self.scaled:
            lines.append(
                f"{len(self.scaled)} ranges given for the default district were scaled to this "
                "scenario's values: " + ", ".join(
                    f"{a.name} {_fmt(a.low)}-{_fmt(a.high)}" for a in self.scaled))
        tables = sorted({a.share_table for a in self.assumptions if a.share_table})
        if tables:
            lines.append("shares sampled as weights and normalised to sum to 1 in: "
                         + ", ".join(tables))
        return lines

    def problem(self) -> dict:
        """The SALib problem: names and bounds."""
        return {"num_vars": len(self.assumptions), "names": self.names,
                "bounds": [[a.low, a.high] for a in self.assumptions]}


def _short(names: list[str], n: int = 6) -> list[str]:
    return names if len(names) <= n else [*names[:n], f"... ({len(names) - n} more)"]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# --------------------------------------------------------------------------- which, over what


def pre_policy(plain: dict) -> RunConfig:
    """The validated config *before* the policy scales its counts: the scenario's own values,
    which is where an assumption lives (a policy's factor then applies to the sampled value)."""
    cfg = dict(plain)
    cfg.pop("hydra", None)
    return RunConfig.model_validate(cfg)


def _default_values() -> dict[str, object]:
    """Every leaf's value in the default district (the schema's defaults)."""
    return {p.name: p.value for p in parameters(RunConfig(scenario=Scenario(name="default")))}


def _matches(name: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def select(plain: dict, include: Sequence[str] = ("*",), exclude: Sequence[str] = ()
           ) -> Selection:
    """The assumed numbers to vary, with their ranges, for the run config `plain`.

    Raises ConfigError naming a glob that matches no assumed number.
    """
    leaves = list(parameters(pre_policy(plain)))
    defaults = _default_values()
    by_name = {p.name: p for p in leaves}
    chosen: list[Assumption] = []
    skipped: dict[str, list[str]] = {"lists (patterns, not single numbers)": [],
                                     "non-numbers (switches and labels)": [],
                                     "numbers with a zero-width range": [],
                                     "numbers without a range to scale": []}
    used_globs: set[str] = set()
    for p in leaves:
        if p.source != ASSUMED:
            continue
        hits = {g for g in include if fnmatch.fnmatchcase(p.name, g)}
        if not hits or _matches(p.name, exclude):
            continue
        used_globs |= hits
        if isinstance(p.value, list):
            skipped["lists (patterns, not single numbers)"].append(p.name)
            continue
        if not p.is_number or "[" in p.name:
            skipped["non-numbers (switches and labels)"].append(p.name)
            continue
        if p.plausible is None:
            skipped["numbers without a range to scale"].append(p.name)
            continue
        a = _assumption(p, defaults.get(p.name))
        if a is None:
            skipped["numbers without a range to scale"].append(p.name)
        elif a.high <= a.low:
            skipped["numbers with a zero-width range"].append(p.name)
        else:
            chosen.append(a)
    unused = [g for g in include if g not in used_globs]
    if unused:
        raise ConfigError(f"params: '{unused[0]}' matches no assumed number (see python -m "
                          f"experiments.params: the rows with source 'assumed')")
    if not chosen:
        raise ConfigError("params: no assumed single number left to vary (all were excluded "
                          "or are lists, switches or fixed)")
    chosen = _mark_share_tables(chosen, by_name)
    return Selection(chosen, skipped, by_name)


def _assumption(p: Parameter, default) -> Assumption | None:
    lo, hi = (float(v) for v in p.plausible)
    value = float(p.value)
    integer = isinstance(p.value, int)
    scaled = False
    if not lo <= value <= hi:
        # A range for the default district; this scenario's value lies outside it.
        if not isinstance(default, (int, float)) or default == 0 or not lo <= default <= hi:
            return None
        ratio = value / float(default)
        lo, hi = sorted((lo * ratio, hi * ratio))
        if integer:
            lo, hi = math.floor(lo), math.ceil(hi)
        scaled = True
    if p.range is not None:
        # A plausible range never leaves the allowed one, but a scaled one might.
        allowed_lo, allowed_hi = p.range
        lo = lo if allowed_lo is None else max(lo, allowed_lo)
        hi = hi if allowed_hi is None else min(hi, allowed_hi)
    return Assumption(p.name, value, lo, hi, p.unit, integer, scaled)


def _mark_share_tables(chosen: list[Assumption], by_name: dict[str, Parameter]
                       ) -> list[Assumption]:
    out = []
    for a in chosen:
        found = _SHARE.match(a.name)
        table = found.group("table") if found else None
        if table is not None:
            siblings = _share_siblings(table, by_name)
            if abs(sum(by_name[s].value for s in siblings) - 1.0) > 1e-6:
                table = None   # shares that need not sum to 1
        out.append(Assumption(a.name, a.value, a.low, a.high, a.unit, a.integer, a.scaled,
                              table))
    return out


def _share_siblings(table: str, by_name: dict[str, Parameter]) -> list[str]:
    pattern = re.compile(re.escape(table) + r"\.[^.]+\.share$")
    return [n for n in by_name if pattern.match(n)]


# --------------------------------------------------------------------------- points


def realise(selection: Selection, row: Sequence[float]) -> dict[str, float | int]:
    """The values one design point runs with: integers rounded, share tables normalised."""
    values: dict[str, float | int] = {}
    for a, x in zip(selection.assumptions, row, strict=True):
        values[a.name] = int(round(float(x))) if a.integer else float(x)
    for table in sorted({a.share_table for a in selection.assumptions if a.share_table}):
        siblings = _share_siblings(table, selection.base)
        weights = {s: float(values.get(s, selection.base[s].value)) for s in siblings}
        total = sum(weights.values())
        for s, w in weights.items():
            values[s] = w / total
    return values


def nest(values: dict[str, object]) -> dict:
    """{"a.b.c": 1} -> {"a": {"b": {"c": 1}}}."""
    out: dict = {}
    for name, value in values.items():
        node = out
        *path, leaf = name.split(".")
        for key in path:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def merged(plain: dict, values: dict[str, object]) -> dict:
    """`plain` (a run config as a dict) with `values` set; `plain` is not changed."""
    import copy

    out = copy.deepcopy(plain)
    for name, value in values.items():
        node = out
        *path, leaf = name.split(".")
        for key in path:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def parse(cfg: dict) -> RunConfig:
    """``parse_config`` for a dict that is already resolved (no ${...}), without its OmegaConf
    round trip (85 % of its time); the same result, and the same one-line error."""
    try:
        return parse_config(RunConfig.model_validate(cfg))
    except ValidationError:
        return parse_config(cfg)    # raises ConfigError with the explanation


def check_points(plain: dict, points: Sequence[dict], what: str = "sample") -> None:
    """Validate every point's config; ConfigError naming the first bad point and field."""
    for i, values in enumerate(points):
        try:
            parse(merged(plain, values))
        except ConfigError as exc:
            raise ConfigError(f"{what} {i}: {exc}") from None


def expected_config(plain: dict, values: dict, seed: int) -> dict:
    """The resolved config a run of this point and seed records in its summary.json."""
    cfg = merged(plain, values)
    cfg["seed"] = seed
    return json_ready(to_dict(parse(cfg)))


# --------------------------------------------------------------------------- running


def option_name(prefix: str, i: int) -> str:
    """A group option's name: letters first, or Hydra reads it as a number."""
    return f"{prefix}{i:05d}"


def run_folder(sweep_dir: Path, option: str, seed: int) -> Path:
    return Path(sweep_dir) / f"{option}_seed{seed}"


def write_group(conf_dir: Path, group: str, options: dict[str, dict]) -> None:
    """One YAML file per option, ``conf/<group>/<option>.yaml``, holding its values."""
    folder = Path(conf_dir) / group
    if folder.exists():
        for old in folder.glob("*.yaml"):
            old.unlink()
    for option, values in options.items():
        text = "# @package _global_\n" + yaml.safe_dump(nest(values), sort_keys=False)
        write_text(folder / f"{option}.yaml", text)


def read_summary(folder: Path) -> dict | None:
    """A finished run's summary (its DONE marker exists), else None."""
    import json

    if not (folder / "DONE").exists():
        return None
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _quote(path: Path) -> str:
    text = str(Path(path).resolve()).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


@dataclass
class Launch:
    """The runs to make, the options of a config group times the seeds, and how: here
    (``local``) or as one multirun of experiments.run's job through a Hydra launcher."""

    run_overrides: list[str]      # the runs' own overrides (scenario, sim.days, policy, ...)
    group: str                    # "sample" or "world"
    options: list[str]            # the group options to run (the missing ones)
    seeds: list[int]
    conf_dir: Path                # holds <group>/<option>.yaml
    sweep_dir: Path
    launcher: str = LOCAL
    n_jobs: int = -1
    launcher_overrides: list[str] = field(default_factory=list)

    def argv(self) -> list[str]:
        sub = f"${{hydra.runtime.choices.{self.group}}}_seed${{seed}}"
        args = [sys.executable, "-c", RUN_JOB, "-m", *self.run_overrides, "sim.progress=false",
                f"+{self.group}={','.join(self.options)}",
                f"seed={','.join(str(s) for s in self.seeds)}",
                f"hydra.sweep.dir={_quote(self.sweep_dir)}", f"hydra.sweep.subdir={sub}",
                f"hydra.searchpath=['file://{Path(self.conf_dir).resolve()}']",
                f"hydra/launcher={self.launcher}"]
        if self.launcher == "joblib":
            args.append(f"hydra.launcher.n_jobs={self.n_jobs}")
        return [*args, *self.launcher_overrides]

    def folders(self) -> list[Path]:
        return [run_folder(self.sweep_dir, o, s) for o in self.options for s in self.seeds]


def run_here(plain: dict, points: dict[str, dict], job: Launch, log: Log = print) -> int:
    """Make `job`'s runs in a joblib process pool in this process; 0 if every one finished.
    Each run's folder is what the Hydra route leaves, but for Hydra's own config files."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    tasks = []
    for option in job.options:
        for seed in job.seeds:
            cfg = merged(plain, points[option])
            cfg["seed"] = seed
            overrides = [*job.run_overrides, f"+{job.group}={option}", f"seed={seed}"]
            tasks.append(delayed(_run_point)(cfg, str(run_folder(job.sweep_dir, option, seed)),
                                             overrides))
    if not tasks:
        return 0
    failed = []
    bar = tqdm(total=len(tasks), unit="run", desc="runs", delay=2, leave=False,
               disable=not sys.stderr.isatty())
    pool = Parallel(n_jobs=job.n_jobs, return_as="generator_unordered")
    for error in pool(tasks):
        bar.update(1)
        if error is not None:
            failed.append(error)
    bar.close()
    for error in failed[:5]:
        log(f"error: {error}")
    return 1 if failed else 0


def _run_point(cfg: dict, folder: str, overrides: list[str]) -> str | None:
    """One run in a worker: None if it finished, else what went wrong."""
    import logging

    from sim.simulation import Simulation

    logging.getLogger("MESA").setLevel(logging.WARNING)
    try:
        result = Simulation(cfg).run(progress=False)
        hydra_dir = Path(folder) / ".hydra"
        hydra_dir.mkdir(parents=True, exist_ok=True)
        write_text(hydra_dir / "overrides.yaml", yaml.safe_dump(overrides))
        result.write(folder)
    except Exception as exc:   # reported with the folder; the other runs go on
        return f"{folder}: {type(exc).__name__}: {exc}"
    return None


def execute(plain: dict, points: dict[str, dict], job: Launch, log_path: Path,
            log: Log = print) -> int:
    """Make the runs here (``launcher=local``) or as a Hydra multirun; 0 if all finished."""
    if job.launcher == LOCAL:
        return run_here(plain, points, job, log)
    write_group(job.conf_dir, job.group, points)
    return launch(job, log_path, log)


def launch(job: Launch, log_path: Path, log: Log = print, poll_seconds: float = 2.0) -> int:
    """Run the multirun, its output into `log_path`, with a progress bar; its exit code."""
    if not job.options:
        return 0
    folders = job.folders()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(job.argv())}\n")
        out.flush()
        proc = subprocess.Popen(job.argv(), cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        _watch(proc, folders, log, poll_seconds)
    return proc.returncode


def _watch(proc: subprocess.Popen, folders: list[Path], log: Log, poll_seconds: float) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(folders), unit="run", desc="runs", delay=2, leave=False,
               disable=not sys.stderr.isatty())
    done = 0
    while proc.poll() is None:
        time.sleep(poll_seconds)
        now = sum((f / "DONE").exists() for f in folders)
        bar.update(now - done)
        done = now
    bar.update(sum((f / "DONE").exists() for f in folders) - done)
    bar.close()


def missing(points: dict[str, dict], seeds: Iterable[int], sweep_dir: Path, plain: dict
            ) -> list[str]:
    """Options with at least one seed not finished with exactly this config."""
    out = []
    for option, values in points.items():
        for seed in seeds:
            summary = read_summary(run_folder(sweep_dir, option, seed))
            if summary is None or summary.get("config") != expected_config(plain, values, seed):
                out.append(option)
                break
    return out


def metrics_of(sweep_dir: Path, options: Iterable[str], seeds: Iterable[int]
               ) -> dict[tuple[str, int], dict[str, float]]:
    """Each finished run's metrics, by (option, seed)."""
    out = {}
    for option in options:
        for seed in seeds:
            summary = read_summary(run_folder(sweep_dir, option, seed))
            if summary is not None:
                out[(option, seed)] = {k: (math.nan if v is None else float(v))
                                       for k, v in summary.get("metrics", {}).items()}
    return out


def metric_names(plain: dict) -> list[str]:
    """The summary metrics a run of this config reports (from one simulated tick)."""
    from sim.simulation import Simulation

    cfg = merged(plain, {"sim.days": plain["sim"]["tick_minutes"] / 1440.0,
                         "sim.progress": False})
    return list(Simulation(cfg).run(progress=False).metrics)


def split_list_overrides(argv: list[str], keys: Iterable[str]) -> list[str]:
    """``metrics=a,b`` -> ``metrics=[a,b]`` for list-valued options (outside a multirun a
    comma list is Hydra's sweep syntax)."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+") in keys and value and not value.startswith("["):
            arg = f"{key}=[{value}]"
        out.append(arg)
    return out


def launcher_error(launcher: str) -> str | None:
    extra = sorted(p.stem for p in (CONF_DIR / "hydra" / "launcher").glob("*.yaml"))
    allowed = sorted(set(LAUNCHERS) | set(extra))
    if launcher not in allowed:
        return f"launcher: must be one of {', '.join(allowed)}, got {launcher!r}"
    return None


def seconds(started: float) -> str:
    s = time.perf_counter() - started
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"
