"""The district map: streets, communities, hotspots, roads and the patrol-grid partition.

A map is data, fixed across seeds.  It comes from a district folder (``scenario.district.path``,
read by ``sim.district_files``) or, without one, from a synthetic square drawn from
``scenario.geography``.  Every random draw of a map (the synthetic square, hotspots a folder
does not give, resident homes, the patrol grids drawn for a grid count) comes from a stream
keyed by the district's content hash (and the grid count), never by the run's seed: two seeds
see the same district, and changing the number of grids re-partitions the *same* streets,
communities, hotspots and residents.

Internally the map is a square raster of cells in kilometres (``cell_km``): lookups (which
grid, which community) are one array index, and residents and incidents are drawn in the cells
of their community.  Cells outside the district take the labels of the nearest cell inside.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np

from sim.config import MAX_CELLS, ConfigError, Geography, Roads, Scenario


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
    def of(cls, labels: np.ndarray, n_groups: int, mask: np.ndarray | None = None) -> Grouping:
        """Group the cells by label; with `mask`, only the cells where it is true."""
        idx = np.arange(len(labels)) if mask is None else np.flatnonzero(mask)
        lab = labels[idx]
        order = np.argsort(lab, kind="stable")
        counts = np.bincount(lab, minlength=n_groups)
        start = np.concatenate([[0], np.cumsum(counts)])
        return cls(cells=idx[order], start=start)

    def count(self, g) -> np.ndarray:
        return self.start[np.asarray(g) + 1] - self.start[np.asarray(g)]

    def members(self, g: int) -> np.ndarray:
        return self.cells[self.start[g] : self.start[g + 1]]

    def pick(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One cell of each given group, chosen by the uniforms `u` (vectorised)."""
        groups = np.asarray(groups)
        k = np.minimum((u * self.count(groups)).astype(np.int64), self.count(groups) - 1)
        return self.cells[self.start[groups] + k]


def fixed_rng(key: str, *spawn: int) -> np.random.Generator:
    """A generator fixed by the district's content hash (never by the run's seed)."""
    return np.random.default_rng(np.random.SeedSequence(int(key[:24], 16), spawn_key=spawn))


# Spawn keys of the fixed streams of a map.
_MAP, _HOTSPOTS, _HOMES, _GRIDS = 0, 1, 2, 3


def _fill_nearest(labels: np.ndarray, valid: np.ndarray, n_side: int) -> np.ndarray:
    """`labels` with every invalid cell given the label of the nearest valid cell."""
    from scipy.ndimage import distance_transform_edt

    if valid.all():
        return labels
    _, (ii, jj) = distance_transform_edt(~valid.reshape(n_side, n_side), return_indices=True)
    return labels.reshape(n_side, n_side)[ii, jj].ravel()


class District:
    """Streets, communities, hotspots, roads and (after ``with_grids``) patrol grids."""

    # ------------------------------------------------------------------ construction

    def _raster(self, side_km: float, cell_km: float) -> None:
        self.cell_km = cell_km
        self.n_side = max(1, math.ceil(side_km / cell_km))
        self.side_km = self.n_side * cell_km
        self.n_cells = self.n_side**2
        idx = np.arange(self.n_cells)
        self.cx = (idx % self.n_side + 0.5) * cell_km
        self.cy = (idx // self.n_side + 0.5) * cell_km

    @classmethod
    def synthetic(cls, geo: Geography, roads: Roads) -> District:
        """A square of `geo.area_km2`: streets and communities as Voronoi regions of cells,
        lognormal community sizes, hotspots where people are; a street grid for roads."""
        from shapely.geometry import box

        from sim.district_files import Frame

        self = cls()
        self.key = hashlib.sha256(json.dumps(
            {"synthetic": geo.model_dump(mode="json")}, sort_keys=True).encode()).hexdigest()
        rng = fixed_rng(self.key, _MAP)
        self._raster(math.sqrt(geo.area_km2), geo.cell_km)
        self.inside = np.ones(self.n_cells, dtype=bool)
        # Streets: Voronoi regions of distinct seed cells (each seed owns at least its own cell).
        seeds = rng.choice(self.n_cells, size=geo.streets, replace=False)
        self.cell_street = _nearest(self.cx, self.cy, self.cx[seeds], self.cy[seeds])
        self.n_streets = geo.streets
        street_cells = Grouping.of(self.cell_street, self.n_streets)
        # Communities: each street split into Voronoi regions, the count per street by its area.
        sizes = street_cells.count(np.arange(self.n_streets))
        per_street = np.minimum(largest_remainder(sizes, geo.communities, minimum=1), sizes)
        # If a street had fewer cells than its share, hand the excess to the largest streets.
        while per_street.sum() < geo.communities:
            per_street[int(np.argmax(sizes - per_street))] += 1
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
        self.street_names = [f"Street {s + 1}" for s in range(self.n_streets)]
        self.community_names = [f"Community {c + 1}" for c in range(self.n_communities)]
        # Populations: lognormal community sizes summing exactly to the census figure.
        weights = rng.lognormal(0.0, geo.community_pop_sigma, self.n_communities)
        self.community_pop = largest_remainder(weights, geo.population)
        self._finish_communities()
        self._draw_hotspots(geo)
        self.hotspot_radius_km = geo.hotspot_radius_km
        self.maps = {}
        # Placed at Jiangbei's south-west corner (UTM 48N) so its map can be drawn.
        self.frame = Frame(crs="EPSG:32648", origin=(645_000.0, 3_270_000.0))
        self.community_geoms = None
        self.water = []
        self.grid_file = None
        land = box(0, 0, self.side_km, self.side_km)
        self._attach_roads(roads, land, lambda: _grid_roads(land, roads), [land])
        return self

    @classmethod
    def from_files(cls, data, geo: Geography, roads: Roads) -> District:
        """The district of a checked folder (`sim.district_files.DistrictData`)."""
        import shapely

        self = cls()
        self.key = data.key
        self.frame = data.frame
        geoms = data.community_geoms
        self.community_geoms = geoms
        self.community_names = data.community_names
        self.street_names = data.street_names
        self.n_streets = len(data.street_names)
        self.n_communities = len(geoms)
        self.community_street = data.community_street
        self.community_pop = data.community_pop
        land = shapely.union_all(geoms)
        _, _, maxx, maxy = land.bounds
        side = max(maxx, maxy) + 1.0
        n_cells = max(1, math.ceil(side / geo.cell_km)) ** 2
        if n_cells > MAX_CELLS:
            raise ConfigError(f"scenario.geography.cell_km: gives {n_cells:,} cells over the "
                              f"district's {side:,.0f} km square; must give at most "
                              f"{MAX_CELLS:,} (use a coarser cell)")
        self._raster(side, geo.cell_km)
        label = np.full(self.n_cells, -1, dtype=np.int64)
        cells, which = shapely.STRtree(geoms).query(shapely.points(self.cx, self.cy),
                                                     predicate="within")
        # Communities overlap by slivers at most (read_district).  A cell in two of them goes
        # to the one the STRtree lists last for it: tree order, not file order (neither "the
        # later feature" nor always the earlier one).
        label[cells] = which
        have = np.bincount(label[label >= 0], minlength=self.n_communities)
        for c in np.flatnonzero(have == 0):
            # Smaller than a cell: it gets the cell under its representative point.
            p = geoms[c].representative_point()
            cell = self.cell_at(p.x, p.y)
            if label[cell] >= 0 and have[label[cell]] <= 1:
                raise ConfigError(
                    f"{data.folder / 'communities.geojson'}: feature {c} "
                    f"({data.community_names[c]!r}): geometry: smaller than a cell of "
                    f"{geo.cell_km} km; lower scenario.geography.cell_km")
            if label[cell] >= 0:
                have[label[cell]] -= 1
            label[cell] = c
            have[c] = 1
        self.inside = label >= 0
        self.cell_community = _fill_nearest(np.maximum(label, 0), self.inside, self.n_side)
        self._finish_communities()
        if len(data.hx):
            self.hotspot_kind, self.hx, self.hy = data.hotspot_kind, data.hx, data.hy
        else:
            self._draw_hotspots(geo)
        self.hotspot_radius_km = geo.hotspot_radius_km
        self.maps = {}
        self.water = data.water
        self.grid_file = (data.grid_geoms, data.grid_names) if data.grid_geoms else None
        self._folder = data.folder
        if self.grid_file is not None:
            self._file_grid_cells()      # a grid too thin for a cell stops the run here
        # Banks: the land split by the rivers of the road file, so nobody is snapped to a road
        # across the water.
        banks = land
        if data.water:
            banks = land.difference(shapely.union_all([w.buffer(0.02) for w in data.water]))
        parts = list(getattr(banks, "geoms", [banks]))
        if data.road_file is not None:
            from sim.roads import graph_from_file

            def build():
                return graph_from_file(data.road_file, data.frame, roads)
        else:
            def build():
                return _grid_roads(land, roads)
        self._attach_roads(roads, land, build, parts, data.road_file)
        return self

    maps: dict    # district.geojson per grid partition, shared by the copies with grids

    def _finish_communities(self) -> None:
        self.cell_street = self.community_street[self.cell_community]
        self.community_cells = Grouping.of(self.cell_community, self.n_communities, self.inside)
        counts = self.community_cells.count(np.arange(self.n_communities))
        cell_pop = np.zeros(self.n_cells)
        np.add.at(cell_pop, self.community_cells.cells,
                  np.repeat(self.community_pop / np.maximum(counts, 1), counts))
        self.cell_pop = cell_pop

    def _draw_hotspots(self, geo: Geography) -> None:
        """Hotspots where people are (a folder without hotspots.geojson; the synthetic map)."""
        rng = fixed_rng(self.key, _HOTSPOTS)
        kinds, hx, hy = [], [], []
        p = self.cell_pop / self.cell_pop.sum() if self.cell_pop.sum() > 0 else None
        for kind, n in geo.hotspots.items():
            if n <= 0:
                continue
            cells = rng.choice(self.n_cells, size=n, replace=True, p=p)
            kinds.extend([kind] * n)
            hx.append(self.cx[cells] + rng.uniform(-0.5, 0.5, n) * self.cell_km)
            hy.append(self.cy[cells] + rng.uniform(-0.5, 0.5, n) * self.cell_km)
        self.hotspot_kind = np.array(kinds, dtype=object)
        self.hx = np.concatenate(hx) if hx else np.zeros(0)
        self.hy = np.concatenate(hy) if hy else np.zeros(0)

    def _attach_roads(self, roads: Roads, land, build, banks: list,
                      road_file=None) -> None:
        """Road network (cached on disk) and, per cell, the road node a point there joins:
        the nearest node on the same bank.  A folder's communities are checked against the
        network before its tables are computed or cached (`_check_reach`)."""
        from sim.roads import road_network

        def check(g):
            road_less = self._snap_cells(g, banks)
            if self.community_geoms is not None:
                self._check_reach(g, roads, road_less, road_file)

        self.roads = road_network(self.key, roads, build, check)
        self.land = land

    def _check_reach(self, g, roads: Roads, road_less: np.ndarray, road_file) -> None:
        """Every community of a folder near a road node of the kept network, and most of its
        cells on a bank that has one (else they would be snapped to a road across the water)."""
        import shapely

        comm = self._folder / "communities.geojson"
        source = road_file.name if road_file is not None else "the generated street grid"
        (which, _), dist = shapely.STRtree(shapely.points(g.x, g.y)).query_nearest(
            self.community_geoms, all_matches=False, return_distance=True)
        gap = np.zeros(self.n_communities)
        gap[which] = dist
        c = int(np.argmax(gap))
        if gap[c] > roads.max_snap_km:
            raise ConfigError(
                f"{comm}: feature {c} ({self.community_names[c]!r}): geometry: lies "
                f"{gap[c]:,.1f} km from the nearest road node of {source} (its largest "
                f"connected part); at most {roads.max_snap_km:g} km "
                f"(scenario.roads.max_snap_km)")
        if not self.water:       # no rivers read (roads.graphml, or none in roads.osm)
            return
        cells = self.community_cells
        for c in range(self.n_communities):
            mine = cells.members(c)
            if len(mine) and road_less[mine].mean() > 0.5:
                raise ConfigError(
                    f"{comm}: feature {c} ({self.community_names[c]!r}): geometry: no road of "
                    f"{source} (its largest connected part, {g.n:,} nodes) lies on its bank, so "
                    f"its residents would be snapped to a road across the water; add the "
                    f"bridge(s) joining the parts of the road network")

    def _snap_cells(self, g, banks: list) -> np.ndarray:
        """Set `cell_node`, the road node of each cell (the nearest on its bank); returns per
        cell whether its bank has no node (such cells take the nearest node anywhere)."""
        import shapely
        from scipy.spatial import cKDTree

        bank = np.full(self.n_cells, -1, dtype=np.int64)
        cells, which = shapely.STRtree(banks).query(shapely.points(self.cx, self.cy),
                                                     predicate="within")
        bank[cells[self.inside[cells]]] = which[self.inside[cells]]
        bank = _fill_nearest(np.maximum(bank, 0), bank >= 0, self.n_side) if (
            bank >= 0).any() else np.zeros(self.n_cells, dtype=np.int64)
        tol = max(self.cell_km, 0.1)
        nodes, nbank = shapely.STRtree(banks).query(shapely.points(g.x, g.y),
                                                    predicate="dwithin", distance=tol)
        node_bank = np.full(g.n, -1, dtype=np.int64)
        node_bank[nodes] = nbank
        self.cell_node = np.empty(self.n_cells, dtype=np.int64)
        road_less = np.zeros(self.n_cells, dtype=bool)
        everywhere = cKDTree(np.column_stack([g.x, g.y]))
        for b in range(len(banks)):
            on = np.flatnonzero(node_bank == b)
            cells = np.flatnonzero(bank == b)
            if len(on):
                _, k = cKDTree(np.column_stack([g.x[on], g.y[on]])).query(
                    np.column_stack([self.cx[cells], self.cy[cells]]))
                self.cell_node[cells] = on[k]
            else:
                _, k = everywhere.query(np.column_stack([self.cx[cells], self.cy[cells]]))
                self.cell_node[cells] = k
                road_less[cells] = True
        return road_less

    # ------------------------------------------------------------------ patrol grids

    def with_grids(self, n_grids: int, iterations: int, from_file: bool) -> District:
        """A copy with `n_grids` patrol grids: the folder's grids.geojson if `from_file`, else
        compact, workload-balanced grids drawn from a stream keyed by the district and the
        grid count (the same grids for every seed)."""
        d = copy.copy(self)
        d.map_key = (n_grids, iterations, from_file)   # district.geojson is cached under it
        if from_file:
            d._grids_from_file()
        else:
            d._partition(n_grids, fixed_rng(self.key, _GRIDS, n_grids), iterations)
        d.grid_cells = Grouping.of(d.cell_grid, d.n_grids, d.inside)
        d.grid_pop = np.bincount(d.cell_grid, weights=d.cell_pop, minlength=d.n_grids)
        d.hotspot_grid = d.grid_of(d.hx, d.hy) if len(d.hx) else np.zeros(0, int)
        d.grid_hotspots = [np.flatnonzero(d.hotspot_grid == g) for g in range(d.n_grids)]
        return d

    def _partition(self, n_grids: int, rng: np.random.Generator, iterations: int) -> None:
        """Split the cells inside into `n_grids` compact, workload-balanced patrol grids."""
        self.n_grids = n_grids
        self.grid_names = None
        cells = np.flatnonzero(self.inside)
        cx, cy = self.cx[cells], self.cy[cells]
        # Weight cells by people plus a little area, so empty land still belongs to some grid.
        pop = self.cell_pop[cells]
        w = pop + pop.mean() * 0.25 + 1e-9
        seeds = rng.choice(len(cells), size=n_grids, replace=False, p=w / w.sum())
        labels = _nearest(cx, cy, cx[seeds], cy[seeds])
        for _ in range(iterations):
            # Lloyd step on the weighted centroids; keep the last partition with no empty grid.
            tot = np.bincount(labels, weights=w, minlength=n_grids)
            if (tot <= 0).any():
                break
            nx = np.bincount(labels, weights=w * cx, minlength=n_grids) / tot
            ny = np.bincount(labels, weights=w * cy, minlength=n_grids) / tot
            new = _nearest(cx, cy, nx, ny)
            if np.bincount(new, minlength=n_grids).min() == 0:
                break
            labels = new
        full = np.zeros(self.n_cells, dtype=np.int64)
        full[cells] = labels
        self.cell_grid = _fill_nearest(full, self.inside, self.n_side)

    def _grids_from_file(self) -> None:
        self.n_grids = len(self.grid_file[0])
        self.grid_names = self.grid_file[1]
        self.cell_grid = self._file_grid_cells()

    def _file_grid_cells(self) -> np.ndarray:
        """The grid of each cell under grids.geojson: the grid a cell's centre lies in, cells
        between grids (and outside the district) the nearest such grid.  A grid holding no
        cell of a community is an error (checked when the district is read, before a run)."""
        import shapely

        geoms, names = self.grid_file
        label = np.full(self.n_cells, -1, dtype=np.int64)
        cells, which = shapely.STRtree(geoms).query(shapely.points(self.cx, self.cy),
                                                     predicate="within")
        label[cells] = which
        label[~self.inside] = -1
        empty = np.flatnonzero(np.bincount(label[label >= 0], minlength=len(geoms)) == 0)
        if len(empty):
            g = int(empty[0])
            raise ConfigError(f"{self._folder / 'grids.geojson'}: feature {g} ({names[g]!r}): "
                              f"geometry: covers no cell of a community (cells of "
                              f"{self.cell_km} km)")
        return _fill_nearest(np.maximum(label, 0), label >= 0, self.n_side)

    # ------------------------------------------------------------------ lookups

    def cell_of(self, x, y):
        """Cell index of point(s) (km); points beyond the edge fall into the edge cells."""
        i = np.clip((np.asarray(x) / self.cell_km).astype(np.int64), 0, self.n_side - 1)
        j = np.clip((np.asarray(y) / self.cell_km).astype(np.int64), 0, self.n_side - 1)
        return j * self.n_side + i

    def grid_of(self, x, y):
        return self.cell_grid[self.cell_of(x, y)]

    def cell_at(self, x: float, y: float) -> int:
        """Scalar `cell_of` without numpy's per-call overhead (the incident hot path)."""
        n = self.n_side
        i = int(x / self.cell_km)
        j = int(y / self.cell_km)
        if 0 <= i < n and 0 <= j < n:
            return j * n + i
        return min(max(j, 0), n - 1) * n + min(max(i, 0), n - 1)

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

    def home_rng(self) -> np.random.Generator:
        """The fixed stream that places residents' homes (the same homes for every seed)."""
        return fixed_rng(self.key, _HOMES)

    # ------------------------------------------------------------------ the map as shapes

    def community_shapes(self) -> list:
        """Community polygons in km: the folder's, or the union of its cells (synthetic)."""
        if self.community_geoms is not None:
            return self.community_geoms
        return self._cell_shapes(self.cell_community, self.n_communities)

    def grid_shapes(self) -> list:
        """Patrol-grid polygons in km: the folder's grids, or the union of each grid's cells
        inside the district, clipped to the communities."""
        if self.grid_names is not None and self.grid_file is not None:
            return self.grid_file[0]
        shapes = self._cell_shapes(self.cell_grid, self.n_grids)
        if self.community_geoms is None:
            return shapes
        return [s.intersection(self.land) for s in shapes]

    def _cell_shapes(self, labels: np.ndarray, n: int) -> list:
        import shapely

        half = self.cell_km / 2
        boxes = shapely.box(self.cx - half, self.cy - half, self.cx + half, self.cy + half)
        group = Grouping.of(labels, n, self.inside)
        return [shapely.union_all(boxes[group.members(g)]).simplify(0) for g in range(n)]

    def road_lines(self) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
        """Road segments in km (one per edge, each direction once), with class, bridge flag and
        name: for drawing the network."""
        from shapely.geometry import LineString

        g = self.roads.graph
        once = g.u < g.v
        rev = ~once & ~np.isin(g.v * g.n + g.u, g.u[once] * g.n + g.v[once])
        keep = once | rev
        lines = [LineString([(g.x[a], g.y[a]), (g.x[b], g.y[b])])
                 for a, b in zip(g.u[keep], g.v[keep], strict=True)]
        return lines, g.road_class[keep], g.bridge[keep], g.name[keep]


def _grid_roads(land, roads: Roads):
    from sim.roads import street_grid

    g = street_grid(land, roads.grid_spacing_km, roads.grid_road_class)
    if g.n > roads.max_nodes:
        raise ConfigError(f"scenario.roads.grid_spacing_km: {roads.grid_spacing_km} km gives "
                          f"{g.n:,} road nodes, more than scenario.roads.max_nodes="
                          f"{roads.max_nodes:,}; use a wider spacing")
    return g


# --------------------------------------------------------------------------- loading


@functools.lru_cache(maxsize=8)
def _base(path: str | None, content: str | None, geo_json: str, roads_json: str,
          max_gap_km: float) -> District:
    from sim.district_files import read_district

    del content   # part of the cache key only: an edited folder is read again

    geo = Geography.model_validate(json.loads(geo_json))
    roads = Roads.model_validate(json.loads(roads_json))
    if path is None:
        return District.synthetic(geo, roads)
    data = read_district(path, tuple(geo.hotspots), max_gap_km=max_gap_km)
    return District.from_files(data, geo, roads)


def base_district(s: Scenario) -> District:
    """The scenario's map without patrol grids (cached per process; errors are ConfigErrors
    naming the file, feature and field)."""
    from sim.district_files import content_key, resolve

    path = s.district.path
    folder = None if path is None else resolve(path)
    content = content_key(folder) if folder is not None and folder.is_dir() else None
    return _base(path, content, json.dumps(s.geography.model_dump(mode="json"), sort_keys=True),
                 json.dumps(s.roads.model_dump(mode="json"), sort_keys=True),
                 s.district.max_gap_km)


def load_district(s: Scenario) -> District:
    """The scenario's map with its patrol grids (the folder's, or `grids.count` drawn)."""
    base = base_district(s)
    from_file = base.grid_file is not None and s.grids.count == len(base.grid_file[0])
    return base.with_grids(s.grids.count, s.grids.lloyd_iterations, from_file)
