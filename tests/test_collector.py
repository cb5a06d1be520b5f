"""The cycle collector's settings during a run (sim/collector.py)."""

from __future__ import annotations

import contextlib
import gc
import weakref

import pandas as pd
import pytest

import sim.simulation
from sim.collector import OLDER_THRESHOLDS, YOUNG_THRESHOLD, long_run
from tests.conftest import run


def test_long_run_tunes_the_collector_and_restores_it():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    model = [[] for _ in range(1000)]                # alive before the run: frozen in it
    with long_run():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == OLDER_THRESHOLDS
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


class _Node:
    """A cycle the reference counts never free (like a process and its callbacks)."""

    def __init__(self):
        self.me = self


def _young_collection() -> None:
    """Allocate (and hold) enough containers for one young collection to run."""
    held = [[] for _ in range(YOUNG_THRESHOLD + 1000)]
    del held


def test_cycles_that_outlived_a_young_collection_are_freed_during_a_run():
    """Garbage in a cycle that was alive at one young collection (an open case) sits in an
    older generation when it dies; it must not wait for the end of the run (a ten-year run
    gained 30-40 MB a simulated year when it did)."""
    with long_run():
        case = _Node()
        gone = weakref.ref(case)
        _young_collection()                      # the case is alive: it moves up a generation
        del case                                 # closed: now garbage in an older generation
        for _ in range(6):
            _young_collection()
        assert gone() is None


def test_garbage_from_before_a_run_is_freed_not_frozen():
    """A previous run's model, dropped by its caller, is garbage in cycles when the next run
    starts; frozen with the live objects it would never be freed (runs in one process grew by
    about 90 MB each)."""
    earlier = _Node()
    gone = weakref.ref(earlier)
    del earlier
    with long_run():
        assert gone() is None
