"""Python's cycle collector during a run.

A run allocates millions of short-lived objects (SimPy events, incident records), so the
collector's youngest generation fills every 700 allocations, and each collection of the older
generations walks every object alive: the district, its road graph, the config, the imported
libraries, a few hundred thousand objects that live as long as the run. On the default scenario
that was about 9 % of a run's CPU time (60 days: 0.41-0.47 CPU-s of 4.7-5.4 s, each collection
timed with `gc.callbacks`; 0.06 s with this module). For the length of a run the objects alive
at its start go to the permanent generation (never scanned) and the youngest generation is
collected every ``YOUNG_THRESHOLD`` allocations; both are undone afterwards (the unfreeze also
returns whatever the process had frozen before, e.g. the interpreter's few hundred objects at
start-up, to the oldest generation: a model built before the run must become collectable again,
and a partial unfreeze does not exist). Nothing the model computes depends on when garbage is
collected, so a run's results are the same with or without it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Container allocations between young collections (Python's default 700).  Garbage in cycles
# then waits a little longer: 50,000 small objects are a few MB.
YOUNG_THRESHOLD = 50_000
# Young collections are rare at that threshold (about ten a simulated year of the default
# district: most objects die by reference counting), so the older generations, which hold only
# what the run created and is still alive (open cases), are collected at every second young
# collection and every second of those.  With Python's (10, 10) a full collection came about
# once in ten simulated years, and cycles that had outlived a young collection piled up:
# 30-40 MB a simulated year (`python -m benchmarks.bench_memory`).
OLDER_THRESHOLDS = (1, 1)

_depth = 0      # runs inside runs (a sweep in one process): only the outermost tunes


@contextmanager
def long_run() -> Iterator[None]:
    """Collect garbage for a long simulation run: skip what existed before it, and collect
    the young generation less often."""
    global _depth
    _depth += 1
    if _depth > 1:
        try:
            yield
        finally:
            _depth -= 1
        return
    before = gc.get_threshold()
    # Garbage left by earlier work (a previous run's model, once its caller let go of it) is
    # collected first: frozen, it would never be freed, and runs in one process would pile up
    # (about 90 MB a 14-day default run).
    gc.collect()
    gc.freeze()
    # A full collection now finds nothing to walk, and resets the collector's count of
    # long-lived objects, which it otherwise keeps at the frozen heap's size: full collections
    # would then wait until the run's own survivors reach a quarter of that heap.
    gc.collect()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
        _depth -= 1
