"""Independent random streams, one per source of randomness, all spawned from one seed.

Each stream has a fixed slot, so adding a stream never shifts the others, and two policy
variants run with the same seed draw the same arrivals (common random numbers) even when they
consume durations or movements differently.
"""

from __future__ import annotations

import math

import numpy as np


def exp1(u: float) -> float:
    """An Exp(1) draw from the uniform `u` (inverse CDF), so an entity's own uniforms fix
    its waiting times."""
    return -math.log1p(-min(u, 1.0 - 1e-16))

# Append only: a stream's slot is its identity across versions.
STREAMS = (
    "geography",     # streets, communities, hotspots, resident homes
    "residents",     # propensities
    "grids",         # patrol-grid partition (depends on the grid count only)
    "disputes",      # dispute arrivals, raisers, categories, severities, amounts
    "calls",         # call arrivals, callers, kinds, locations
    "mediation",     # session durations, gaps, settlement draws
    "violence",      # time to violence of each dispute
    "service",       # on-scene times of incidents
    "movement",      # patrol positions
    "found",         # incidents found on patrol
    "staff",         # mediator skills and part-time days
    "deterrence",    # unused since calls carry their own deterrence draw (slot kept)
    "events",        # timeline events: extra calls, who is absent, injected cases
    "duties",        # when in its shift each unit takes its meal break and post duty
    "incident_draws",  # intrinsic draws of incidents reported without their own (disputes...)
)


class Streams:
    """Named ``numpy.random.Generator`` objects derived from one integer seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._gens = {
            name: np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(slot,)))
            for slot, name in enumerate(STREAMS)
        }

    def __getitem__(self, name: str) -> np.random.Generator:
        return self._gens[name]

    def derived(self, name: str, *key: int) -> np.random.Generator:
        """A stream for `name` further keyed by integers, e.g. the partition for a grid count."""
        slot = STREAMS.index(name)
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(slot, *key)))
