"""``Simulation``: the simulator as a pure function of a plain config.

    from sim import Simulation
    result = Simulation(cfg).run()          # cfg: DictConfig or plain dict, as the CLI uses
    result.incidents, result.disputes, result.timeseries, result.summary

The same config and seed always give the same tables.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sim import reported
from sim.clock import DAY
from sim.collector import long_run
from sim.config import RunConfig, parse_config, to_dict
from sim.district_map import district_geojson
from sim.metrics import METRIC_COLUMNS, IncidentStats, summarise
from sim.model import DistrictModel
from sim.output import disputes_frame, incidents_frame, timeseries_frame, write_run
from sim.records import RecordBook, Spool, read_batches

PACKAGES = ("mesa", "simpy", "numpy", "pandas", "pyarrow", "hydra-core", "seaborn")


class RunResult:
    """The outputs of one run: its three tables, summary and map.  A batch run's incident and
    dispute tables stay in parquet files (its spool, removed with this object) and are read on
    first access, so a long run's records never have to sit in memory all at once."""

    def __init__(self, incidents: pd.DataFrame | Path, disputes: pd.DataFrame | Path,
                 timeseries: pd.DataFrame, summary: dict, district: dict | None = None,
                 spool: Spool | None = None):
        self._tables: dict[str, pd.DataFrame | Path] = {"incidents": incidents,
                                                         "disputes": disputes}
        self._files = {k: v for k, v in self._tables.items() if isinstance(v, Path)}
        self.timeseries = timeseries
        self.summary = summary
        self.district = district         # the map as GeoJSON (district.geojson)
        self._spool = spool

    def _table(self, name: str) -> pd.DataFrame:
        table = self._tables[name]
        if isinstance(table, Path):
            table = self._tables[name] = pd.read_parquet(table)
        return table

    @property
    def incidents(self) -> pd.DataFrame:
        return self._table("incidents")

    @property
    def disputes(self) -> pd.DataFrame:
        return self._table("disputes")

    @property
    def metrics(self) -> dict[str, float]:
        return self.summary["metrics"]

    def write(self, outdir: str | Path) -> Path:
        """Write the tables, summary and map into `outdir` (atomically, DONE last)."""
        inc = self._files.get("incidents", self._tables["incidents"])
        dis = self._files.get("disputes", self._tables["disputes"])
        return write_run(Path(outdir), inc, dis, self.timeseries, self.summary,
                         district=self.district)


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def simulator_version() -> str:
    try:
        return importlib.metadata.version("district-sim")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def git_dirty() -> bool | None:
    """Whether the checkout has uncommitted changes to tracked files (None: not a git
    checkout): a run from a dirty tree is not reproducible from its commit alone."""
    try:
        root = Path(__file__).resolve().parent.parent
        proc = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                              cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(proc.stdout.strip()) if proc.returncode == 0 else None


def structure(model: DistrictModel) -> dict[str, int]:
    """What the run built: the counts the default scenario must match exactly."""
    meds = model.mediation.mediators
    committee = [m for m in meds if m.kind != "xiaoma"]
    units: dict[str, int] = {}
    for u in model.units:
        units[u.unit_type] = units.get(u.unit_type, 0) + 1
    return {
        "streets": model.district.n_streets,
        "communities": model.district.n_communities,
        "grids": model.district.n_grids,
        "committees": model.cfg.scenario.mediators.committees,
        "committee_mediators": len(committee),
        "committee_full_time": sum(m.kind == "full_time" for m in committee),
        "committee_part_time": sum(m.kind == "part_time" for m in committee),
        "xiaoma_full_time": sum(m.kind == "xiaoma" for m in meds),
        "working_groups": len(model.mediation.group_pools),
        "residents": model.residents.n,
        "grids_from_file": bool(model.district.map_key[2]),   # the folder's grids.geojson
        **{f"units_{k}": v for k, v in units.items()},
    }


def _merged(base: dict, over: dict) -> dict:
    """`over` laid on `base`, mapping into mapping (as OmegaConf.merge, without its struct
    errors: an unknown key is left for the schema to name)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


class Simulation:
    """One run of one scenario: validate the config, build the model, step it to the end."""

    def __init__(self, cfg: Any):
        if isinstance(cfg, dict) and "scenario" not in cfg:
            # A partial plain dict ({"seed": 1, "sim": {"days": 3}}) overrides the default
            # config; a dict with a scenario is taken as complete.  Check its values before
            # merging, so that a bad one is named the same way as in a complete dict.
            from omegaconf import OmegaConf

            from sim.compose import compose_config
            from sim.config_errors import plain_values

            default = OmegaConf.to_container(compose_config(), resolve=True)
            cfg = _merged(default, plain_values(cfg, RunConfig))
        self.config: RunConfig = parse_config(cfg)

    @classmethod
    def from_overrides(cls, overrides: list[str] | tuple[str, ...] = ()) -> Simulation:
        """The run `python -m experiments.run <overrides>` would make."""
        from sim.compose import compose_config

        return cls(compose_config(overrides))

    def build(self, narrative: bool = False) -> DistrictModel:
        """A fresh model at time 0, for stepping by hand (e.g. the browser page)."""
        return DistrictModel(self.config, narrative=narrative)

    def run(self, progress: bool | None = None) -> RunResult:
        """Run to the end of the horizon and return the tables and the summary."""
        started = time.perf_counter()
        model = self.build()
        spool = self._spool(model)
        n_steps = int(-(-model.end_minutes // model.tick_minutes))
        show = self.config.sim.progress if progress is None else progress
        bar = None
        if show:
            from tqdm import tqdm

            # `delay`: short runs never show a bar; long ones get one after a few seconds.
            bar = tqdm(total=n_steps, unit="h" if model.tick_minutes == 60 else "tick",
                       desc=f"{self.config.scenario.name} seed {self.config.seed}", delay=3,
                       leave=False)
        with long_run():     # the model, built, lives as long as the run: not scanned
            while model.running:
                model.step()
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        return self.collect(model, time.perf_counter() - started, spool)

    @staticmethod
    def _spool(model: DistrictModel) -> Spool:
        """Stream the run's finished incidents and disputes to parquet files as it goes."""
        spool = Spool()
        disputes = model.mediation.disputes
        if not isinstance(disputes, RecordBook):
            model.mediation.disputes = disputes = RecordBook(
                partial(disputes_frame, cfg=model.cfg), lambda d: d.outcome != "open",
                disputes)
        model.desk.incidents.spool(spool / "incidents.parquet")
        disputes.spool(spool / "disputes.parquet")
        return spool

    def collect(self, model: DistrictModel, wall_seconds: float = float("nan"),
                spool: Spool | None = None) -> RunResult:
        """Tables and summary of a model at its current time (finished or paused)."""
        book = model.desk.incidents
        if book.path is not None:
            incidents = book.close()
            stats = IncidentStats(self.config.scenario.dispatch.p1_target_min, model.env.now,
                                  self.config.sim.warmup_days * DAY)
            for batch in read_batches(incidents, list(METRIC_COLUMNS)):
                stats.add(batch)
        else:
            incidents = stats = incidents_frame(list(book), self.config)
        disputes = model.mediation.disputes
        if isinstance(disputes, RecordBook):
            disputes.close()
            disputes_table = disputes.frame()
            disputes = disputes.path or disputes_table
        else:
            disputes = disputes_table = disputes_frame(disputes, self.config)
        timeseries = timeseries_frame(model.timeseries.frame())
        metrics = summarise(model, stats, disputes_table)
        summary = {
            "scenario": self.config.scenario.name,
            "seed": self.config.seed,
            "metrics": metrics,
            "structure": structure(model),
            "calibration": self._calibration(metrics),
            "config": to_dict(self.config),
            "versions": package_versions(),
            "simulator_version": simulator_version(),
            "python_version": platform.python_version(),
            "git_commit": git_commit(),
            "git_dirty": git_dirty(),
            "wall_seconds": wall_seconds,
        }
        return RunResult(incidents, disputes, timeseries, summary,
                         district=district_geojson(model.district), spool=spool)

    def _calibration(self, metrics: dict) -> dict | None:
        if not reported.applies(self.config.scenario):
            return None
        out = {}
        for name, (target, tol, how) in reported.OUTCOMES.items():
            value = metrics.get(name)
            out[name] = {"target": target, "tolerance": tol, "kind": how, "value": value,
                         "within": value is not None and reported.within(name, value)}
        return out
