"""The cycle collector's settings during a run (sim/collector.py)."""

from __future__ import annotations

import contextlib
import gc

import pandas as pd
import pytest

import sim.simulation
from sim.collector import YOUNG_THRESHOLD, long_run
from tests.conftest import run


def test_long_run_tunes_the_collector_and_restores_it():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    model = [[] for _ in range(1000)]                # alive before the run: frozen in it
    with long_run():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() >= frozen + len(model)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0                # collectable again afterwards


def test_long_run_restores_the_collector_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), long_run():
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_run_inside_a_run_leaves_the_outer_settings_alone():
    before = gc.get_threshold()
    with long_run():
        with long_run():
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before


def test_results_do_not_depend_on_the_collector(monkeypatch):
    args = ("scenario=small_district", "sim.days=3", "seed=5")
    tuned = run(*args)
    monkeypatch.setattr(sim.simulation, "long_run", contextlib.nullcontext)
    plain = run(*args)
    assert len(tuned.incidents) > 50
    pd.testing.assert_frame_equal(tuned.incidents, plain.incidents)
    pd.testing.assert_frame_equal(tuned.disputes, plain.disputes)
    assert pd.Series(tuned.metrics).equals(pd.Series(plain.metrics))   # NaN equals NaN here
