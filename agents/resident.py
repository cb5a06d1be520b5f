"""Residents: every one individual, held as numpy columns.

A million Mesa ``Agent`` objects cost seconds and half a gigabyte; the same people as columns
cost milliseconds and tens of megabytes.  ``Residents[i]`` gives a ``Resident`` view of one
person whose attributes read and write the columns, so code can still talk about "a resident".
"""

from __future__ import annotations

import numpy as np

from sim.config import Residents as ResidentsConfig
from sim.geography import District


class Resident:
    """View of one resident; attribute access goes straight to the population's columns."""

    __slots__ = ("_pop", "id")

    def __init__(self, population: Residents, rid: int):
        self._pop = population
        self.id = int(rid)

    @property
    def community(self) -> int:
        return int(self._pop.community[self.id])

    @property
    def location(self) -> tuple[float, float]:
        return float(self._pop.x[self.id]), float(self._pop.y[self.id])

    @property
    def propensity(self) -> float:
        return float(self._pop.propensity[self.id])

    @property
    def satisfaction(self) -> float:
        return float(self._pop.satisfaction[self.id])

    def __repr__(self) -> str:
        return (f"Resident({self.id}, community={self.community}, "
                f"satisfaction={self.satisfaction:.2f})")


class Residents:
    """The whole population: home community and location, dispute propensity, satisfaction."""

    def __init__(self, district: District, cfg: ResidentsConfig, geo_rng, rng):
        counts = district.community_pop
        self.n = int(counts.sum())
        self.community = np.repeat(np.arange(district.n_communities), counts).astype(np.int32)
        cells = district.community_cells.pick(self.community, geo_rng.random(self.n))
        x, y = district.random_points_in_cells(cells, geo_rng)
        self.x = x.astype(np.float32)
        self.y = y.astype(np.float32)
        # Mean-one lognormal: a few residents are far more dispute-prone than most.
        sigma = cfg.propensity_sigma
        self.propensity = rng.lognormal(-sigma**2 / 2, sigma, self.n).astype(np.float32)
        self._cum_propensity = np.cumsum(self.propensity, dtype=np.float64)
        self.satisfaction = np.full(self.n, cfg.satisfaction_init, dtype=np.float64)
        # Running sum so the per-tick mean costs nothing for a million residents.
        self._satisfaction_sum = float(cfg.satisfaction_init) * self.n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rid: int) -> Resident:
        if not 0 <= rid < self.n:
            raise IndexError(rid)
        return Resident(self, rid)

    def pick_by_propensity(self, u: np.ndarray) -> np.ndarray:
        """The residents whose shares of total propensity cover the uniform draws `u`."""
        i = np.searchsorted(self._cum_propensity, u * self._cum_propensity[-1], side="right")
        return np.minimum(i, self.n - 1)

    def adjust_satisfaction(self, rid: int, delta: float) -> None:
        """Move one resident's satisfaction by `delta`, kept within [0, 1]."""
        old = float(self.satisfaction[rid])
        new = min(1.0, max(0.0, old + delta))
        self.satisfaction[rid] = new
        self._satisfaction_sum += new - old

    @property
    def mean_satisfaction(self) -> float:
        return self._satisfaction_sum / self.n if self.n else float("nan")
