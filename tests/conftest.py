"""Shared fixtures: small, fast runs of the shipped scenarios."""

from __future__ import annotations

import pytest

from sim import Simulation


def run(*overrides: str):
    """Run the scenario the CLI would run with these overrides, without a progress bar."""
    return Simulation.from_overrides(["sim.progress=false", *overrides]).run()


@pytest.fixture(scope="session")
def default_short():
    """The default district over 20 days."""
    return run("sim.days=20")


@pytest.fixture(scope="session")
def default_year():
    """The default district over one year (about 12 s): the calibration run."""
    return run()
