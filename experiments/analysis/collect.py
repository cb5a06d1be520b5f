"""Collect a Hydra multirun sweep into sweep-level tables.

``python -m experiments.collect <sweep dir>`` reads every finished job folder
(``<sweep dir>/<job num>/`` with a ``DONE`` marker), and writes into the sweep dir:

* ``runs.parquet``      one row per run: override label columns (typed: ``policy.grids=50``
  gives an integer column), ``variant``, ``seed``, ``job``, ``wall_seconds`` and one column
  per summary metric;
* ``incidents.parquet``, ``disputes.parquet`` and ``timeseries.parquet``: the per-run tables
  stacked, with ``variant``, ``seed`` and ``job`` columns added;
* with ``--csv``, a ``.csv`` beside each of them (also for a single run's folder).

Columns are described in ``docs/data-dictionary.md`` (generated from ``sim/tables.py``).
``load_runs`` and ``load_long_table`` collect first when a table is missing or stale (a job
finished, was added or removed since), so a reader never sees yesterday's sweep.

Job folders without ``DONE`` are skipped and reported, never half-read: a crashed or
still-running job must not silently bias the means. Every write is atomic (temp file in
the same directory, then ``os.replace``) so a reader never sees a truncated parquet file.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.output import atomic_write

DONE_MARKER = "DONE"
SUMMARY_FILE = "summary.json"
RUNS_FILE = "runs.parquet"
INCIDENTS_FILE = "incidents.parquet"
DISPUTES_FILE = "disputes.parquet"
TIMESERIES_FILE = "timeseries.parquet"
LONG_TABLES = (INCIDENTS_FILE, DISPUTES_FILE, TIMESERIES_FILE)
# Parquet metadata key listing the finished jobs a sweep-level table was built from.
JOBS_KEY = b"district_sim.jobs"
DEFAULT_VARIANT = "default"

# Columns of runs.parquet that are neither override labels nor metrics.
META_COLUMNS = ("variant", "seed", "job", "wall_seconds", "git_commit")
# Sweep-level outputs that live next to the job folders and must never be mistaken for jobs.
_NOT_JOB_DIRS = {"figures"}
# Label columns whose override key would shadow a metric or meta column get this prefix.
_SHADOW_PREFIX = "override."


class InputError(Exception):
    """Bad user input (missing dir, nothing to analyse, unknown label); CLIs exit with 2."""


@dataclass
class CollectResult:
    """Outcome of :func:`collect`: the runs table plus what was skipped and why."""

    runs: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------- atomic writes


def atomic_write_parquet(path: Path, data: pd.DataFrame | pa.Table,
                         jobs: Iterable[str] | None = None) -> Path:
    """Write a DataFrame or Arrow table to ``path`` as parquet, atomically; `jobs` (the
    finished jobs it was built from) go into the file's metadata, to tell when it is stale."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    if jobs is not None:
        meta = dict(table.schema.metadata or {})
        meta[JOBS_KEY] = json.dumps(sorted(jobs)).encode()
        table = table.replace_schema_metadata(meta)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


# --------------------------------------------------------------------------- job discovery


def require_dir(sweep_dir: str | os.PathLike) -> Path:
    """Return ``sweep_dir`` as a Path or raise InputError if it is not a directory."""
    path = Path(sweep_dir)
    if not path.is_dir():
        raise InputError(f"sweep directory not found: {path}")
    return path


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """List the job folders of a sweep, in Hydra job-number order."""
    jobs = []
    for child in Path(sweep_dir).iterdir():
        if not child.is_dir() or child.name.startswith(".") or child.name in _NOT_JOB_DIRS:
            continue
        looks_like_job = (
            child.name.isdigit()
            or (child / ".hydra").is_dir()
            or (child / SUMMARY_FILE).exists()
            or (child / DONE_MARKER).exists()
        )
        if looks_like_job:
            jobs.append(child)
    # Numeric order, so that variant order follows the sweep order rather than "1, 10, 2".
    return sorted(jobs, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit()
                                       else 0, p.name))


def read_overrides(job_dir: Path) -> list[str]:
    """Return the Hydra overrides of a job (``[]`` if the job has no .hydra/overrides.yaml)."""
    path = Path(job_dir) / ".hydra" / "overrides.yaml"
    if not path.exists():
        return []
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(loaded, list):
        raise ValueError(f"{path} is not a YAML list")
    return [str(item) for item in loaded]


def parse_override(override: str) -> tuple[str, str]:
    """Split ``key=value`` (also ``+key=value``, ``~key``) into a (key, value) pair."""
    key, sep, value = override.partition("=")
    key = key.lstrip("+")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key.strip(), value if sep else ""


def override_value(override: str, fallback: str):
    """The value of ``key=value`` as Hydra types it (int, float, bool, string), or
    `fallback` (the text) for anything else (lists, sweeps, interpolations)."""
    try:
        value = _override_parser().parse_override(override).value()
    except Exception:   # Hydra's grammar errors have several types; the text is still a label
        return fallback
    return value if isinstance(value, (bool, int, float, str)) else fallback


@functools.cache
def _override_parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _label_column(values: pd.Series) -> pd.Series:
    """One dtype per label column: nullable boolean or integer, float, else string."""
    present = [v for v in values if v is not None and not (isinstance(v, float)
                                                            and math.isnan(v))]
    if present and all(isinstance(v, bool) for v in present):
        return values.astype("boolean")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return values.astype("Int64")
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in present):
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return values.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                      else str(v)).astype("string")


def variant_overrides(overrides: Iterable[str]) -> list[str]:
    """Drop the seed override: what remains identifies the variant."""
    return [o for o in overrides if parse_override(o)[0] != "seed"]


def variant_label(overrides: Iterable[str], varying: Collection[str] | None = None) -> str:
    """Join the non-seed overrides into the variant string, e.g. ``policy=grids_50``.

    With ``varying`` (override keys), only overrides whose key is in it are kept: settings
    shared by the whole sweep (``scenario=small_district``) would only lengthen every label.
    """
    parts = variant_overrides(overrides)
    if varying is not None:
        parts = [o for o in parts if parse_override(o)[0] in varying]
    return ",".join(parts) if parts else DEFAULT_VARIANT


def varying_keys(override_lists: Iterable[Iterable[str]]) -> set[str]:
    """Override keys (seed excluded) whose value differs between runs, or that some lack."""
    values: dict[str, set] = {}
    lists = [dict(parse_override(o) for o in variant_overrides(ovs)) for ovs in override_lists]
    for pairs in lists:
        for key in pairs:
            values.setdefault(key, set())
    for pairs in lists:
        for key, seen in values.items():
            seen.add(pairs.get(key))  # None: this run does not set the key at all
    return {key for key, seen in values.items() if len(seen) > 1}


def constant_overrides(runs: pd.DataFrame) -> list[str]:
    """``key=value`` overrides that every run of a runs table shares (seed excluded).

    These are left out of the variant labels; reports print them once in a header line.
    """
    common = []
    for column in label_columns(runs):
        values = runs[column]
        if len(values) and values.notna().all() and values.nunique() == 1:
            key = column.removeprefix(_SHADOW_PREFIX)
            common.append(f"{key}={values.iloc[0]}")
    return common


def common_settings_line(runs: pd.DataFrame) -> str:
    """One sentence naming the settings shared by all runs, or '' if there are none."""
    common = constant_overrides(runs)
    return ("Common to all runs: " + ", ".join(f"`{o}`" for o in common) + ".") if common \
        else ""


def _run_seed(summary: dict, overrides: list[str]) -> int | None:
    """Prefer the seed the run reports it used; fall back to config, then the override."""
    candidates = [summary.get("seed"), (summary.get("config") or {}).get("seed")]
    candidates += [parse_override(o)[1] for o in overrides if parse_override(o)[0] == "seed"]
    for value in candidates:
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None


def _as_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# --------------------------------------------------------------------------- collection


def _read_job(job_dir: Path) -> tuple[dict | None, str | None]:
    """Return (row, None) for a usable job or (None, reason) for a skipped one."""
    if not (job_dir / DONE_MARKER).exists():
        return None, "no DONE marker (job failed or still running)"
    try:
        summary = json.loads((job_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"unreadable {SUMMARY_FILE}: {exc}"
    metrics = summary.get("metrics")
    if not isinstance(metrics, dict):
        return None, f"{SUMMARY_FILE} has no 'metrics' mapping"
    try:
        overrides = read_overrides(job_dir)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return None, f"unreadable .hydra/overrides.yaml: {exc}"

    row: dict = {}
    for override in variant_overrides(overrides):
        key, value = parse_override(override)
        if key in META_COLUMNS or key in metrics:
            key = f"{_SHADOW_PREFIX}{key}"  # never let a label shadow a metric or meta column
        row[key] = override_value(override, value)
    # The label depends on the whole sweep (which keys vary), so collect() sets it.
    row["variant"] = None
    row["_overrides"] = overrides
    row["seed"] = _run_seed(summary, overrides)
    row["job"] = job_dir.name
    row["wall_seconds"] = _as_float(summary.get("wall_seconds"))
    row["git_commit"] = str(summary.get("git_commit", ""))
    row["_metrics"] = {str(k): _as_float(v) for k, v in metrics.items()}
    return row, None


def _build_runs_frame(rows: list[dict]) -> pd.DataFrame:
    label_keys: list[str] = []
    metric_keys: list[str] = []
    for row in rows:
        for key in row:
            if key not in META_COLUMNS and not key.startswith("_") and key not in label_keys:
                label_keys.append(key)
        for key in row["_metrics"]:
            if key not in metric_keys:
                metric_keys.append(key)
    records = []
    for row in rows:
        record = {k: row.get(k) for k in label_keys}
        record.update({k: row[k] for k in META_COLUMNS})
        record.update({k: row["_metrics"].get(k, math.nan) for k in metric_keys})
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=label_keys + list(META_COLUMNS)
                                      + metric_keys)
    # Labels are typed as Hydra parsed them: policy.grids=50 is an integer column,
    # policy.part_time_factor=0.5 a float one (the dot in the key tells it from a metric).
    for key in label_keys:
        frame[key] = _label_column(frame[key])
    frame["variant"] = frame["variant"].astype("string")
    frame["job"] = frame["job"].astype("string")
    frame["git_commit"] = frame["git_commit"].astype("string")
    frame["seed"] = frame["seed"].astype("Int64")
    for key in metric_keys:
        frame[key] = pd.to_numeric(frame[key], errors="coerce").astype("float64")
    return frame


def _stack_long_table(jobs: list[tuple[Path, dict]], filename: str,
                      notes: list[str]) -> pa.Table | None:
    tables = []
    for job_dir, row in jobs:
        path = job_dir / filename
        if not path.exists():
            notes.append(f"job {job_dir.name}: {filename} missing")
            continue
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            notes.append(f"job {job_dir.name}: unreadable {filename}: {exc}")
            continue
        n = table.num_rows
        for name in ("variant", "seed", "job"):
            if name in table.column_names:  # the run's own column would be ambiguous
                table = table.drop_columns([name])
        seed = row["seed"]
        # Dictionary-encoded (pandas categoricals): one label repeated on a million rows.
        label = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                               pa.array([row["variant"]], pa.string()))
        job = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                             pa.array([job_dir.name], pa.string()))
        table = table.append_column("variant", label)
        table = table.append_column("seed", pa.array([seed] * n, pa.int64()))
        table = table.append_column("job", job)
        tables.append(table)
    if not tables:
        return None
    # "permissive" lets an all-null column from a quiet run unify with a typed column.
    return pa.concat_tables(tables, promote_options="permissive")


def collect(sweep_dir: str | os.PathLike, write: bool = True,
            tables: Collection[str] = LONG_TABLES) -> CollectResult:
    """Collect all finished jobs of ``sweep_dir``; write runs.parquet and the stacked
    `tables` if ``write``.

    Raises InputError if the directory is missing or holds no finished job.
    """
    sweep = require_dir(sweep_dir)
    job_dirs = find_job_dirs(sweep)
    if not job_dirs:
        hint = " (this looks like a single run folder)" if (sweep / DONE_MARKER).exists() else ""
        raise InputError(f"no job folders found in {sweep}{hint}; pass a Hydra multirun "
                         "sweep directory containing <job num>/ folders")
    good: list[tuple[Path, dict]] = []
    skipped: list[tuple[str, str]] = []
    for job_dir in job_dirs:
        row, reason = _read_job(job_dir)
        if row is None:
            skipped.append((job_dir.name, reason))
        else:
            good.append((job_dir, row))
    if not good:
        details = "; ".join(f"{job}: {why}" for job, why in skipped)
        raise InputError(f"no finished runs in {sweep} ({details})")

    notes: list[str] = []
    varying = varying_keys(row["_overrides"] for _, row in good)
    for _, row in good:
        row["variant"] = variant_label(row["_overrides"], varying)
    runs = _build_runs_frame([row for _, row in good])
    missing_seed = runs.loc[runs["seed"].isna(), "job"].tolist()
    if missing_seed:
        notes.append(f"no seed found for jobs {missing_seed}; they cannot be paired")
    dup = runs.dropna(subset=["seed"]).duplicated(subset=["variant", "seed"], keep=False)
    if dup.any():
        notes.append("duplicate (variant, seed) runs in jobs "
                     f"{runs.loc[dup[dup].index, 'job'].tolist()}; they will be averaged")

    result = CollectResult(runs=runs, skipped=skipped, warnings=notes)
    if write:
        jobs = [job_dir.name for job_dir, _ in good]
        result.written.append(atomic_write_parquet(sweep / RUNS_FILE, runs, jobs))
        for filename in tables:
            table = _stack_long_table(good, filename, notes)
            target = sweep / filename
            if table is None:
                # A stale table from an earlier collect would be silently mixed in later.
                target.unlink(missing_ok=True)
                continue
            result.written.append(atomic_write_parquet(target, table, jobs))
    return result


# --------------------------------------------------------------------------- loading helpers


def finished_jobs(sweep: Path) -> dict[str, float]:
    """The sweep's finished jobs (those with a DONE marker) and when each finished."""
    out = {}
    for job in find_job_dirs(sweep):
        try:
            out[job.name] = (job / DONE_MARKER).stat().st_mtime
        except OSError:
            continue
    return out


def is_stale(sweep: Path, filename: str) -> bool:
    """Whether a sweep-level table is missing, older than a finished job, or built from a
    different set of finished jobs (one was added, removed, or is being rerun)."""
    path = Path(sweep) / filename
    try:
        built = path.stat().st_mtime
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return True
    jobs = finished_jobs(Path(sweep))
    if any(done > built for done in jobs.values()):
        return True
    if JOBS_KEY in meta:
        return sorted(jobs) != json.loads(meta[JOBS_KEY])
    return False   # written before job lists were recorded: judged by time alone


def _runs_is_stale(sweep: Path) -> bool:
    return is_stale(sweep, RUNS_FILE)


def unfinished_jobs(sweep_dir: Path) -> list[str]:
    """The names of a sweep's job folders without a DONE marker (failed or still running)."""
    return [job.name for job in find_job_dirs(sweep_dir) if not (job / DONE_MARKER).exists()]


def unfinished_note(names: list[str], first: int = 5) -> str:
    """"left out 2 job folder(s) without DONE (failed or still running): 7, 9"."""
    more = f" and {len(names) - first} more" if len(names) > first else ""
    return (f"left out {len(names)} job folder(s) without DONE (failed or still running): "
            f"{', '.join(names[:first])}{more}")


def load_runs(sweep_dir: str | os.PathLike, recollect: bool = False,
              log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Return runs.parquet of a sweep, (re)collecting first if missing, stale or asked to.

    Read from an earlier collection, the runs leave out the unfinished jobs silently; ``log``
    is told of them (collecting afresh, ``describe`` lists them)."""
    sweep = require_dir(sweep_dir)
    if recollect or _runs_is_stale(sweep):
        result = collect(sweep, tables=())
        if log is not None:
            log(describe(result))
        return result.runs
    unfinished = unfinished_jobs(sweep)
    if log is not None and unfinished:
        log(f"warning: {unfinished_note(unfinished)}")
    return pd.read_parquet(sweep / RUNS_FILE)


def load_long_table(sweep_dir: str | os.PathLike, filename: str,
                    log: Callable[[str], None] | None = None) -> pd.DataFrame | None:
    """A sweep's stacked per-run table (incidents, disputes or timeseries), with the run
    labels; collected first if missing or stale.  None if no finished run has that table."""
    sweep = require_dir(sweep_dir)
    if filename not in LONG_TABLES:
        raise InputError(f"{filename}: not a per-run table; one of {', '.join(LONG_TABLES)}")
    if is_stale(sweep, filename):
        result = collect(sweep, tables=(filename,))
        if log is not None:
            log(describe(result))
    path = sweep / filename
    if not path.exists():
        return None
    table = pd.read_parquet(path)
    # The run labels as the dictionary types them (sim.tables.RunLabels): parquet's int64
    # comes back as numpy's, or as float where a run had no seed.
    table["seed"] = table["seed"].astype("Int64")
    return table


def export_csv(folder: str | os.PathLike) -> list[Path]:
    """A ``.csv`` beside every parquet table in `folder` (a sweep, after collecting, or one
    run's folder): nulls are empty cells, categories their labels."""
    written = []
    for path in sorted(Path(folder).glob("*.parquet")):
        frame = pd.read_parquet(path)
        target = path.with_suffix(".csv")
        written.append(atomic_write(target, lambda tmp, f=frame: f.to_csv(tmp, index=False)))
    return written


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Metric columns of a runs table: float columns that are neither meta columns nor
    settings (a setting's key has a dot, ``policy.part_time_factor``; a metric's never)."""
    return [c for c in runs.columns if c not in META_COLUMNS and "." not in str(c)
            and pd.api.types.is_float_dtype(runs[c])]


def label_columns(runs: pd.DataFrame) -> list[str]:
    """Override label columns of a runs table (everything that is neither meta nor metric)."""
    metrics = set(metric_columns(runs))
    return [c for c in runs.columns if c not in META_COLUMNS and c not in metrics]


def variant_order(runs: pd.DataFrame) -> list[str]:
    """Variants in sweep order (order of first appearance by job number)."""
    return list(dict.fromkeys(runs["variant"].astype(str)))


def describe(result: CollectResult) -> str:
    """One human-readable paragraph summarising a collection."""
    runs = result.runs
    lines = [f"collected {len(runs)} runs: {runs['variant'].nunique()} variants, "
             f"{runs['seed'].nunique()} seeds"]
    if common_settings_line(runs):
        lines.append(common_settings_line(runs).replace("`", ""))
    if result.skipped:
        lines.append(f"skipped {len(result.skipped)} job(s):")
        lines += [f"  job {job}: {why}" for job, why in result.skipped]
    lines += [f"warning: {note}" for note in result.warnings]
    lines += [f"wrote {path}" for path in result.written]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.collect",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory (or, with --csv, "
                        "one run's folder)")
    parser.add_argument("--csv", action="store_true",
                        help="also write every table as CSV beside its parquet file")
    args = parser.parse_args(argv)
    folder = Path(args.sweep_dir)
    single_run = (folder / DONE_MARKER).exists() and not find_job_dirs(folder) \
        if folder.is_dir() else False
    try:
        if args.csv and single_run:
            written = export_csv(folder)
            print("\n".join(f"wrote {p}" for p in written))
            return 0
        result = collect(folder)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(describe(result))
    if args.csv:
        print("\n".join(f"wrote {p}" for p in export_csv(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
