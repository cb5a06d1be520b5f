"""The synthetic district: a square raster of cells grouped into streets, communities and
patrol grids, with hotspot venues.

Everything is generated from the seed.  The patrol-grid partition uses its own stream keyed by
the grid count, so changing the number of grids re-partitions the *same* streets, communities,
hotspots and residents: variants stay comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.config import Geography
from sim.streams import Streams


def largest_remainder(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    """Split the integer `total` in proportion to `weights`, each share at least `minimum`."""
    weights = np.asarray(weights, dtype=float)
    n = len(weights)
    base = np.full(n, minimum, dtype=np.int64)
    rest = total - minimum * n
    if rest <= 0 or weights.sum() <= 0:
        if rest > 0:  # no weights: spread evenly
            base += rest // n
            base[: rest % n] += 1
        return base
    exact = weights / weights.sum() * rest
    share = np.floor(exact).astype(np.int64)
    short = rest - share.sum()
    # Stable sort so ties always break the same way (reproducibility).
    order = np.argsort(-(exact - share), kind="stable")
    share[order[:short]] += 1
    return base + share


def _nearest(px: np.ndarray, py: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """Index of the nearest seed (Euclidean) for each point; ties go to the lowest index."""
    d2 = (px[:, None] - sx[None, :]) ** 2 + (py[:, None] - sy[None, :]) ** 2
    return np.argmin(d2, axis=1)


@dataclass
class Grouping:
    """Cells sorted by group, so the cells of group g are ``cells[start[g]:start[g + 1]]``."""

    cells: np.ndarray
    start: np.ndarray

    @classmethod
    def of(cls, labels: np.ndarray, n_groups: int) -> Grouping:
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=n_groups)
        start = np.concatenate([[0], np.cumsum(counts)])
        return cls(cells=order, start=start)

    def count(self, g) -> np.ndarray:
        return self.start[np.asarray(g) + 1] - self.start[np.asarray(g)]

    def members(self, g: int) -> np.ndarray:
        return self.cells[self.start[g] : self.start[g + 1]]

    def pick(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One cell of each given group, chosen by the uniforms `u` (vectorised)."""
        groups = np.asarray(groups)
        k = np.minimum((u * self.count(groups)).astype(np.int64), self.count(groups) - 1)
        return self.cells[self.start[groups] + k]


class District:
    """Streets, communities, hotspots and the patrol-grid partition of one district."""

    def __init__(self, geo: Geography, n_grids: int, streams: Streams, lloyd_iterations: int = 6):
        rng = streams["geography"]
        self.cell_km = geo.cell_km
        self.n_side = max(1, math.ceil(math.sqrt(geo.area_km2) / geo.cell_km))
        self.side_km = self.n_side * geo.cell_km
        self.n_cells = self.n_side**2
        idx = np.arange(self.n_cells)
        self.cx = (idx % self.n_side + 0.5) * geo.cell_km
        self.cy = (idx // self.n_side + 0.5) * geo.cell_km

        # Streets: Voronoi regions of distinct seed cells (each seed owns at least its own cell).
        seeds = rng.choice(self.n_cells, size=geo.streets, replace=False)
        self.cell_street = _nearest(self.cx, self.cy, self.cx[seeds], self.cy[seeds])
        self.n_streets = geo.streets
        street_cells = Grouping.of(self.cell_street, self.n_streets)

        # Communities: each street split into Voronoi regions, the count per street by its area.
        per_street = largest_remainder(street_cells.count(np.arange(self.n_streets)),
                                       geo.communities, minimum=1)
        per_street = np.minimum(per_street, street_cells.count(np.arange(self.n_streets)))
        # If a street had fewer cells than its share, hand the excess to the largest streets.
        while per_street.sum() < geo.communities:
            room = street_cells.count(np.arange(self.n_streets)) - per_street
            per_street[int(np.argmax(room))] += 1
        self.cell_community = np.empty(self.n_cells, dtype=np.int64)
        community_street = []
        next_id = 0
        for s in range(self.n_streets):
            cells = street_cells.members(s)
            k = int(per_street[s])
            cseeds = cells[rng.choice(len(cells), size=k, replace=False)]
            local = _nearest(self.cx[cells], self.cy[cells], self.cx[cseeds], self.cy[cseeds])
            self.cell_community[cells] = next_id + local
            community_street.extend([s] * k)
            next_id += k
        self.n_communities = next_id
        self.community_street = np.array(community_street, dtype=np.int64)
        self.community_cells = Grouping.of(self.cell_community, self.n_communities)

        # Populations: lognormal community sizes summing exactly to the census figure.
        weights = rng.lognormal(0.0, geo.community_pop_sigma, self.n_communities)
        self.community_pop = largest_remainder(weights, geo.population)
        cell_pop = np.zeros(self.n_cells)
        counts = self.community_cells.count(np.arange(self.n_communities))
        np.add.at(cell_pop, self.community_cells.cells,
                  np.repeat(self.community_pop / np.maximum(counts, 1), counts))
        self.cell_pop = cell_pop

        # Hotspots sit where people are.
        kinds, hx, hy = [], [], []
        p = cell_pop / cell_pop.sum() if cell_pop.sum() > 0 else None
        for kind, n in geo.hotspots.items():
            if n <= 0:
                continue
            cells = rng.choice(self.n_cells, size=n, replace=True, p=p)
            kinds.extend([kind] * n)
            hx.append(self.cx[cells] + rng.uniform(-0.5, 0.5, n) * geo.cell_km)
            hy.append(self.cy[cells] + rng.uniform(-0.5, 0.5, n) * geo.cell_km)
        self.hotspot_kind = np.array(kinds, dtype=object)
        self.hx = np.concatenate(hx) if hx else np.zeros(0)
        self.hy = np.concatenate(hy) if hy else np.zeros(0)
        self.hotspot_radius_km = geo.hotspot_radius_km

        self.partition(n_grids, streams.derived("grids", n_grids), lloyd_iterations)

    # ------------------------------------------------------------------ patrol grids

    def partition(self, n_grids: int, rng: np.random.Generator, iterations: int) -> None:
        """Split the cells into `n_grids` compact, workload-balanced patrol grids."""
        self.n_grids = n_grids
        # Weight cells by people plus a little area, so empty land still belongs to some grid.
        w = self.cell_pop + self.cell_pop.mean() * 0.25 + 1e-9
        seeds = rng.choice(self.n_cells, size=n_grids, replace=False, p=w / w.sum())
        sx, sy = self.cx[seeds], self.cy[seeds]
        labels = _nearest(self.cx, self.cy, sx, sy)
        for _ in range(iterations):
            # Lloyd step on the weighted centroids; keep the last partition with no empty grid.
            tot = np.bincount(labels, weights=w, minlength=n_grids)
            if (tot <= 0).any():
                break
            nx = np.bincount(labels, weights=w * self.cx, minlength=n_grids) / tot
            ny = np.bincount(labels, weights=w * self.cy, minlength=n_grids) / tot
            new = _nearest(self.cx, self.cy, nx, ny)
            if np.bincount(new, minlength=n_grids).min() == 0:
                break
            labels = new
        self.cell_grid = labels
        self.grid_cells = Grouping.of(labels, n_grids)
        self.grid_pop = np.bincount(labels, weights=self.cell_pop, minlength=n_grids)
        self.hotspot_grid = self.grid_of(self.hx, self.hy) if len(self.hx) else np.zeros(0, int)
        self.grid_hotspots = [np.flatnonzero(self.hotspot_grid == g) for g in range(n_grids)]

    # ------------------------------------------------------------------ lookups

    def cell_of(self, x, y):
        """Cell index of point(s) (km); points on the far edge fall into the last cell."""
        i = np.clip((np.asarray(x) / self.cell_km).astype(np.int64), 0, self.n_side - 1)
        j = np.clip((np.asarray(y) / self.cell_km).astype(np.int64), 0, self.n_side - 1)
        return j * self.n_side + i

    def grid_of(self, x, y):
        return self.cell_grid[self.cell_of(x, y)]

    def cell_at(self, x: float, y: float) -> int:
        """Scalar `cell_of` without numpy's per-call overhead (the incident hot path)."""
        last = self.n_side - 1
        i = min(max(int(x / self.cell_km), 0), last)
        j = min(max(int(y / self.cell_km), 0), last)
        return j * self.n_side + i

    def random_points_in_cells(self, cells: np.ndarray, rng: np.random.Generator):
        """Uniform points inside the given cells."""
        n = len(cells)
        x = self.cx[cells] + (rng.random(n) - 0.5) * self.cell_km
        y = self.cy[cells] + (rng.random(n) - 0.5) * self.cell_km
        return x, y

    def near_hotspots(self, h: np.ndarray, rng: np.random.Generator):
        """Points scattered within the hotspot radius (street-grid) of hotspots `h`."""
        n = len(h)
        r = self.hotspot_radius_km
        x = np.clip(self.hx[h] + rng.uniform(-r, r, n), 0, self.side_km)
        y = np.clip(self.hy[h] + rng.uniform(-r, r, n), 0, self.side_km)
        return x, y


def travel_minutes(dx_km: float, dy_km: float, speed_kmh: float) -> float:
    """Street-grid (Manhattan) travel time in minutes."""
    return (abs(dx_km) + abs(dy_km)) / speed_kmh * 60.0
