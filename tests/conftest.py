"""Shared fixtures: small, fast runs of the shipped scenarios; slow tests start first."""

from __future__ import annotations

import json

import pytest
from filelock import FileLock

from sim import Simulation


def pytest_collection_modifyitems(items):
    """Run the tests marked slow first. With `-n auto` each worker takes one test at a time
    (`--maxschedchunk 1` in the Makefile), so the long ones spread over the workers at the start
    instead of leaving one worker alone with them at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def run(*overrides: str):
    """Run the scenario the CLI would run with these overrides, without a progress bar."""
    return Simulation.from_overrides(["sim.progress=false", *overrides]).run()


@pytest.fixture(scope="session")
def default_short():
    """The default district over 20 days."""
    return run("sim.days=20")


class YearSummary:
    """What the calibration tests read from a run: its metrics and summary."""

    def __init__(self, summary: dict):
        self.summary = summary
        self.metrics = summary["metrics"]


@pytest.fixture(scope="session")
def default_year(tmp_path_factory, worker_id):
    """The default district over one year (about 30 s): the calibration run. Built once per
    test session: xdist workers share it through a file, under a lock, as xdist's docs show."""
    if worker_id == "master":  # no workers: the parent folder would outlive this session
        return YearSummary(run().summary)
    shared = tmp_path_factory.getbasetemp().parent / "default_year.json"
    with FileLock(f"{shared}.lock"):
        if not shared.exists():
            summary = run().summary
            shared.with_suffix(".tmp").write_text(json.dumps(summary, default=str))
            shared.with_suffix(".tmp").rename(shared)
    return YearSummary(json.loads(shared.read_text()))
