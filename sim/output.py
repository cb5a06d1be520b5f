"""Output tables and files: the contract that sweeps, reports and the browser page build on.

Every file is written to a temporary name in the same folder and renamed into place, so a
killed run never leaves a half-written file; ``DONE`` is written last and marks a finished run.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import fields
from operator import attrgetter
from pathlib import Path

import numpy as np
import pandas as pd

from agents.dispute import Dispute
from sim.incidents import Incident

INCIDENT_COLUMNS = [
    "incident_id", "source", "kind", "priority", "grid", "community", "x_km", "y_km",
    "t_reported", "t_dispatched", "t_arrived", "t_cleared", "unit_id", "unit_type",
    "cross_grid", "overflow",
    # beyond the contract's minimum:
    "violent", "support_unit_id", "caller", "abandoned", "t_abandoned", "t_unit_free",
]
DISPUTE_COLUMNS = [
    "dispute_id", "category", "severity", "amount_yuan", "community", "street", "t_raised",
    "t_first_session", "t_closed", "outcome", "level", "escalations", "mediator_id",
    "mediator_kind",
    # beyond the contract's minimum:
    "sessions", "raiser", "source", "n_parties", "intake_level",
]
_RENAME = {"x": "x_km", "y": "y_km"}
RUN_TABLES = ("incidents", "disputes", "timeseries")   # a run's parquet tables
DISPUTE_VIOLENCE = "dispute_violence"   # the kind of a dispute that turned violent


# Columns of these declared types are read straight into typed arrays: no list per column, no
# type inference (this runs on every batch a long run spools).
_ARRAY_TYPES = {"float": np.float64, "int": np.int64, "bool": np.bool_}


def _frame(records: list, cls: type, columns: list[str]) -> pd.DataFrame:
    declared = {_RENAME.get(f.name, f.name): f for f in fields(cls)}
    data = {}
    for name in columns:
        f = declared[name]
        values = map(attrgetter(f.name), records)
        dtype = _ARRAY_TYPES.get(f.type)
        data[name] = np.fromiter(values, dtype, len(records)) if dtype else list(values)
    return pd.DataFrame(data)


def incidents_frame(incidents: list[Incident], cfg=None) -> pd.DataFrame:
    """The incidents table, typed as ``sim.tables.Incidents`` says (no sentinels: an incident
    without a caller, unit or support team has a null there).  With the run's config, kinds
    and unit types are categoricals over every value the config defines, so every run of a
    sweep has the same categories, in the config's order."""
    from sim.tables import typed  # pandera: imported by the processes that make tables only

    df = _frame(incidents, Incident, INCIDENT_COLUMNS)
    df["caller"] = df["caller"].astype("Int64").mask(df["caller"] < 0)
    for col in ("unit_id", "unit_type", "support_unit_id"):
        df[col] = df[col].astype("string").replace("", pd.NA)
    known = {}
    if cfg is not None:
        calls = cfg.scenario.calls
        known = {"kind": [*calls.kinds, *calls.found_kinds, DISPUTE_VIOLENCE],
                 "unit_type": list(cfg.scenario.units)}
    return typed(df, "incidents", known)


def disputes_frame(disputes: list[Dispute], cfg=None) -> pd.DataFrame:
    """The disputes table, typed as ``sim.tables.Disputes`` says (a dispute no mediator has
    taken yet has a null mediator); with the run's config, categories in its order."""
    from sim.tables import typed

    df = _frame(disputes, Dispute, DISPUTE_COLUMNS)
    df["mediator_id"] = df["mediator_id"].astype("Int64").mask(df["mediator_id"] < 0)
    df["mediator_kind"] = df["mediator_kind"].astype("string").replace("", pd.NA)
    known = {"category": list(cfg.scenario.disputes.categories)} if cfg is not None else {}
    return typed(df, "disputes", known)


def timeseries_frame(rows: list[dict]) -> pd.DataFrame:
    """The time series (one row per tick), typed as ``sim.tables.Timeseries`` says."""
    from sim.tables import typed

    return typed(pd.DataFrame(rows), "timeseries")


def atomic_write(path: Path, write) -> Path:
    """Run ``write(tmp)`` on a temp file beside `path`, then rename it into place: a reader
    never sees a half-written file, and a killed writer leaves only a ``.*.tmp`` behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private (0600); give it the usual mode so a shared sweep folder
    # (Slurm, Ray) stays readable by the team.
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write a DataFrame to parquet atomically."""
    return atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    """Write bytes atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def json_ready(obj):
    """`obj` as JSON would give it back: NaN and inf as None, numpy scalars as Python."""
    return _json_safe(obj)


def _json_safe(obj):
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return _json_safe(obj.item())
    return obj


def write_json(obj: dict, path: Path) -> None:
    """Write JSON atomically (NaN and inf become null, so any JSON reader can load it)."""
    text = json.dumps(_json_safe(obj), indent=2, ensure_ascii=False, allow_nan=False)
    write_text(path, text + "\n")


def write_table(table: pd.DataFrame | Path, path: Path) -> Path:
    """Write a table atomically: a DataFrame, or a finished parquet file copied as it is."""
    if isinstance(table, pd.DataFrame):
        return write_parquet(table, path)
    return atomic_write(path, lambda tmp: shutil.copyfile(table, tmp))


def write_run(outdir: Path, incidents: pd.DataFrame | Path, disputes: pd.DataFrame | Path,
              timeseries: pd.DataFrame, summary: dict, district: dict | None = None) -> Path:
    """Write one run's tables, summary and map (district.geojson), then the DONE marker.  The
    incident and dispute tables may be parquet files already (a run's spool)."""
    outdir = Path(outdir)
    (outdir / "DONE").unlink(missing_ok=True)
    # Temp files of an earlier attempt that was killed mid-write: never half-written outputs.
    for stale in outdir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    # CSV copies of an earlier run's tables (`experiments.collect --csv`) would sit beside the
    # new tables and describe the run they replace.
    for table in RUN_TABLES:
        (outdir / f"{table}.csv").unlink(missing_ok=True)
    write_table(incidents, outdir / "incidents.parquet")
    write_table(disputes, outdir / "disputes.parquet")
    write_parquet(timeseries, outdir / "timeseries.parquet")
    write_json(summary, outdir / "summary.json")
    if district is not None:
        write_json(district, outdir / "district.geojson")
    write_json({"finished": True}, outdir / "DONE")
    return outdir
