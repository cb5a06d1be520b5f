"""Roads: the district's road graph, its node-to-node travel tables, and travel on it.

Shortest paths are computed once per district and road settings (scipy's Dijkstra over all
nodes) and cached on disk under ``results/cache/`` keyed by the district's content hash:

- driving: free-flow minutes along the quickest path at the road-class speeds; a unit driving
  at hour h takes that times the hour's congestion factor;
- walking: kilometres along the shortest path, both ways along every road.

A point leaves the network at its nearest road node on the same bank (see
``District.snap``): the leg between the point and the node is straight, at the unit's own
speed.  Rivers are barriers because roads only meet at shared nodes: a bank is reached from
the other across a bridge (a road way) or not at all.
"""

from __future__ import annotations

import hashlib
import json
import math
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.config import ConfigError, Roads

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "results" / "cache"
CACHE_VERSION = "roads-2"       # bump when the tables' meaning changes
SNAP_MEMO = 4096                # points remembered by Travel.snap (a few hours of incidents)


@dataclass
class RoadGraph:
    """Nodes (km) and directed edges with their road class; `name`/`bridge` for the map."""

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_km: np.ndarray
    road_class: np.ndarray          # str per edge
    bridge: np.ndarray              # bool per edge
    name: np.ndarray                # str per edge ("" if none)

    @property
    def n(self) -> int:
        return len(self.x)


# --------------------------------------------------------------------------- building graphs


def street_grid(land, spacing: float, road_class: str) -> RoadGraph:
    """A square street grid of `spacing` km over `land` (a shapely area in km): nodes within
    half a spacing of the land, two-way edges between neighbours, largest connected part."""
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    x0, y0, x1, y1 = land.bounds
    nx_ = max(1, int(round((x1 - x0) / spacing))) + 1
    ny_ = max(1, int(round((y1 - y0) / spacing))) + 1
    gx = x0 + (x1 - x0 - (nx_ - 1) * spacing) / 2 + np.arange(nx_) * spacing
    gy = y0 + (y1 - y0 - (ny_ - 1) * spacing) / 2 + np.arange(ny_) * spacing
    X, Y = np.meshgrid(gx, gy)
    X, Y = X.ravel(), Y.ravel()
    keep = shapely.contains_xy(land.buffer(spacing * 0.5), X, Y)
    ids = np.full(len(X), -1, dtype=np.int64)
    ids[keep] = np.arange(keep.sum())
    grid = ids.reshape(ny_, nx_)
    pairs = [(grid[:, :-1], grid[:, 1:]), (grid[:-1, :], grid[1:, :])]
    u = np.concatenate([a.ravel() for a, _ in pairs])
    v = np.concatenate([b.ravel() for _, b in pairs])
    ok = (u >= 0) & (v >= 0)
    u, v = u[ok], v[ok]
    n = int(keep.sum())
    if n == 0:
        raise ConfigError("scenario.roads.grid_spacing_km: no street-grid node falls on the "
                          "district; use a smaller spacing")
    _, label = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)),
                                    directed=False)
    big = np.argmax(np.bincount(label))
    sub = np.flatnonzero(label == big)
    remap = np.full(n, -1, dtype=np.int64)
    remap[sub] = np.arange(len(sub))
    ok = (remap[u] >= 0) & (remap[v] >= 0)
    u, v = remap[u[ok]], remap[v[ok]]
    xs, ys = X[keep][sub], Y[keep][sub]
    both_u, both_v = np.concatenate([u, v]), np.concatenate([v, u])
    m = len(both_u)
    return RoadGraph(x=xs, y=ys, u=both_u, v=both_v, length_km=np.full(m, spacing),
                     road_class=np.full(m, str(road_class)),
                     bridge=np.zeros(m, dtype=bool), name=np.full(m, ""))


def _first(value, default=""):
    if isinstance(value, list):
        return value[0] if value else default
    return default if value is None else value


def _names(value) -> str:
    """An edge's name; a simplified edge that merged several named ways lists them all."""
    if isinstance(value, list):
        return " / ".join(sorted({str(v) for v in value}))   # osmnx's order is a set's
    return "" if value is None else str(value)


def graph_from_file(path: Path, frame, roads: Roads) -> RoadGraph:
    """The road graph of an OSM XML or osmnx GraphML file, in the district's km frame: road
    ways only, simplified (osmnx), the largest part every node of which can reach every other
    by car."""
    import networkx as nx
    import osmnx as ox

    try:
        if path.suffix == ".osm":
            G = ox.graph_from_xml(path, retain_all=True, simplify=False)
        else:
            G = ox.load_graphml(path)
    except Exception as exc:  # osmnx raises many types for a bad file
        raise ConfigError(f"{path}: cannot read the road graph: "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                          ) from None
    crs = str(G.graph.get("crs") or "epsg:4326").lower()
    if crs in ("epsg:4326", "wgs84", "+init=epsg:4326"):
        for n, d in G.nodes(data=True):
            for name, limit in (("x", 180), ("y", 90)):
                value = d.get(name)
                if not isinstance(value, (int, float)) or not -limit <= value <= limit:
                    raise ConfigError(f"{path}: node {n}: {name}: must be a WGS84 "
                                      f"{'longitude' if name == 'x' else 'latitude'} in "
                                      f"[-{limit}, {limit}], got {value!r}")
    for u, v, k, d in G.edges(keys=True, data=True):
        if d.get("length") is None:
            raise ConfigError(f"{path}: edge ({u}, {v}, {k}): length: missing")
    G.remove_edges_from([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
                         if "highway" not in d])
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise ConfigError(f"{path}: no roads (edges tagged highway=*)")
    if path.suffix == ".osm" or not G.graph.get("simplified"):
        try:
            # Never merge ways of different class or bridge status: osmnx keeps a merged
            # edge's differing values as list(set(...)), whose order follows the process's
            # string hashing, so "the first class" (its speed) changed from build to build.
            G = ox.simplify_graph(G, edge_attrs_differ=["highway", "bridge"])
        except Exception:   # already simplified or nothing to simplify
            pass
    drive = G.edge_subgraph([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
                             if _first(d["highway"]) in roads.speed_kmh])
    if drive.number_of_edges() == 0:
        raise ConfigError(f"{path}: no road of a class with a speed in scenario.roads.speed_kmh "
                          f"({', '.join(roads.speed_kmh)})")
    keep = max(nx.strongly_connected_components(drive), key=len)
    G = G.subgraph(keep).copy()
    if len(G) > roads.max_nodes:
        raise ConfigError(f"{path}: {len(G):,} road nodes after simplification, more than "
                          f"scenario.roads.max_nodes={roads.max_nodes:,}; keep only the main "
                          f"roads (e.g. osmium tags-filter ... w/highway=primary,secondary,"
                          f"tertiary) or raise the limit")
    if G.graph.get("crs") is None:
        G.graph["crs"] = "epsg:4326"
    G = ox.project_graph(G, to_crs=frame.crs)
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    x0, y0 = frame.origin
    xs = (np.array([G.nodes[n]["x"] for n in nodes], dtype=float) - x0) / 1000.0
    ys = (np.array([G.nodes[n]["y"] for n in nodes], dtype=float) - y0) / 1000.0
    rows = [(index[u], index[v], float(d["length"]) / 1000.0, str(_first(d["highway"])),
             str(_first(d.get("bridge"), "no")) not in ("no", "false", "0", ""),
             _names(d.get("name"))) for u, v, d in G.edges(data=True)]
    u, v, length, cls, bridge, name = zip(*rows, strict=True)
    return RoadGraph(x=xs, y=ys, u=np.array(u), v=np.array(v), length_km=np.array(length),
                     road_class=np.array(cls, dtype=str), bridge=np.array(bridge, dtype=bool),
                     name=np.array(name, dtype=str))


# --------------------------------------------------------------------------- tables


@dataclass
class RoadTables:
    """Node-to-node tables: free-flow driving minutes and walking km (float32), and for each
    the predecessor of a node on the best path from a source (to draw routes on the map)."""

    drive_min: np.ndarray
    walk_km: np.ndarray
    drive_pred: np.ndarray
    walk_pred: np.ndarray


def _csr(n, u, v, w):
    from scipy.sparse import csr_matrix

    # Keep the best of parallel edges (csr_matrix would add them up).
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return csr_matrix((np.maximum(w[first], 1e-9), (u[first], v[first])), shape=(n, n))


def _all_pairs(csr, directed: bool, chunk: int = 512):
    from scipy.sparse.csgraph import dijkstra

    n = csr.shape[0]
    dist = np.empty((n, n), dtype=np.float32)
    pred = np.empty((n, n), dtype=np.int16 if n < 32_000 else np.int32)
    for s in range(0, n, chunk):
        idx = np.arange(s, min(n, s + chunk))
        d, p = dijkstra(csr, directed=directed, indices=idx, return_predecessors=True)
        dist[idx] = d
        pred[idx] = p
    return dist, pred


def compute_tables(g: RoadGraph, roads: Roads) -> RoadTables:
    speed = np.array([roads.speed_kmh.get(c, 0.0) for c in g.road_class], dtype=float)
    car = speed > 0
    minutes = g.length_km[car] / speed[car] * 60.0
    drive, drive_pred = _all_pairs(_csr(g.n, g.u[car], g.v[car], minutes), directed=True)
    walk, walk_pred = _all_pairs(_csr(g.n, g.u, g.v, g.length_km), directed=False)
    return RoadTables(drive, walk, drive_pred, walk_pred)


@dataclass
class RoadNetwork:
    graph: RoadGraph
    tables: RoadTables


def cache_key(district_key: str, roads: Roads) -> str:
    blob = json.dumps({"v": CACHE_VERSION, "district": district_key,
                       "speed": roads.speed_kmh, "spacing": roads.grid_spacing_km,
                       "class": roads.grid_road_class, "max": roads.max_nodes}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def road_network(district_key: str, roads: Roads, build_graph,
                 check=None) -> RoadNetwork:
    """The district's graph and tables: from the disk cache (keyed by the district's content
    hash and the road settings) or built with `build_graph()` and saved for next time.
    `check(graph)`, if given, runs before the tables are computed or saved (its ConfigError
    leaves no cache file behind)."""
    from sim.output import atomic_write

    path = CACHE_DIR / f"roads-{cache_key(district_key, roads)}.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                g = RoadGraph(**{f: z[f] for f in RoadGraph.__dataclass_fields__})
                t = RoadTables(**{f: z[f] for f in RoadTables.__dataclass_fields__})
        except (OSError, ValueError, KeyError, EOFError):
            pass   # a damaged cache file is rebuilt
        else:
            if check is not None:
                check(g)
            return RoadNetwork(g, t)
    g = build_graph()
    if check is not None:
        check(g)
    t = compute_tables(g, roads)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **vars(g), **vars(t))

    try:
        atomic_write(path, write)
    except OSError:
        pass   # a read-only checkout still runs, just without the cache
    return RoadNetwork(g, t)


# --------------------------------------------------------------------------- travel


class Travel:
    """Minutes for a unit to reach a point: turnout, then the road, then the last leg on foot
    or at the unit's speed.  Arrays per unit; `cfg_travel=False` makes every trip instant."""

    def __init__(self, district, units, modes: dict[str, str], congestion: list[float],
                 travel: bool):
        self.d = district
        net = district.roads
        self.drive = net.tables.drive_min
        self.walk = net.tables.walk_km
        on = 1.0 if travel else 0.0
        walking = np.array([modes.get(u.unit_type, "drive") == "walk" for u in units],
                           dtype=bool)
        self.walking = walking.tolist()
        self.walk_mask = walking
        self.turnout = np.array([u.turnout_min for u in units]) * on
        self.min_per_km = np.array([60.0 / u.speed_kmh for u in units]) * on
        self.drive_on = (~walking).astype(float) * on
        self.congestion = [float(c) for c in congestion]
        self._turnout = self.turnout.tolist()
        self._min_per_km = self.min_per_km.tolist()
        self._drive_on = self.drive_on.tolist()
        self.node_of_cell = district.cell_node.tolist()
        self.nx = net.graph.x.tolist()
        self.ny = net.graph.y.tolist()
        self._cell_node = district.cell_node
        self._nx = net.graph.x
        self._ny = net.graph.y
        # Points snapped lately: an incident's spot is asked about by dispatch, by the chosen
        # unit's ETA and when the unit arrives; a beat point when the unit leaves and returns.
        self._snapped: dict[tuple[float, float], tuple[int, float]] = {}
        # Flat memoryviews: indexing one gives a Python float at a fraction of numpy's cost.
        self._n_nodes = net.graph.n
        self._drive_flat = memoryview(self.drive.reshape(-1))
        self._walk_flat = memoryview(self.walk.reshape(-1))
        self._n_side = district.n_side
        self._per_km = 1.0 / district.cell_km
        self._cell_nx = net.graph.x[district.cell_node].tolist()
        self._cell_ny = net.graph.y[district.cell_node].tolist()
        # For dispatch, which asks "every unit to this point": per destination node one row
        # of driving minutes *to* it from every node (driving has one-way streets, hence the
        # transposed copy), then, if any unit walks, walking km (undirected: the table is
        # symmetric).  A walker reads its origin's column in the second half, so every unit's
        # road part is one gather from one row, times its own factor (`_road_factor`).
        self.any_walker = bool(walking.any())
        self.to_node = (np.hstack([self.drive.T, self.walk]) if self.any_walker
                        else np.ascontiguousarray(self.drive.T))
        self._column_shift = np.where(walking, self._n_nodes, 0)
        self._road_coef: tuple[int, np.ndarray] = (-1, self.drive_on)

    def hour_factor(self, now: float) -> float:
        return self.congestion[int(now // 60.0) % 24]

    def snap(self, x: float, y: float) -> tuple[int, float]:
        """The road node a point joins and the straight leg to it (km)."""
        known = self._snapped.get((x, y))
        if known is not None:
            return known
        if len(self._snapped) >= SNAP_MEMO:
            self._snapped.clear()
        known = self._snapped[x, y] = self._snap(x, y)
        return known

    def _snap(self, x: float, y: float) -> tuple[int, float]:
        n = self._n_side
        i = int(x * self._per_km)
        j = int(y * self._per_km)
        if not (0 <= i < n and 0 <= j < n):
            i, j = min(max(i, 0), n - 1), min(max(j, 0), n - 1)
        c = j * n + i
        return self.node_of_cell[c], math.hypot(x - self._cell_nx[c], y - self._cell_ny[c])

    def minutes(self, i: int, x0: float, y0: float, x1: float, y1: float, now: float) -> float:
        """Unit i from (x0, y0) to (x1, y1) leaving at `now` (scalar hot path)."""
        a, leg_a = self.snap(x0, y0)
        b, leg_b = self.snap(x1, y1)
        pair = a * self._n_nodes + b
        leg = leg_a + leg_b
        if self.walking[i]:
            return self._turnout[i] + (self._walk_flat[pair] + leg) * self._min_per_km[i]
        return (self._turnout[i] + self._drive_on[i] * self._drive_flat[pair]
                * self.congestion[int(now // 60.0) % 24] + leg * self._min_per_km[i])

    def snap_many(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`snap` for arrays of points."""
        last = self._n_side - 1
        # A unit on its way may be off the raster (a road through a neighbouring district).
        i = np.minimum(np.maximum((x * self._per_km).astype(np.int64), 0), last)
        j = np.minimum(np.maximum((y * self._per_km).astype(np.int64), 0), last)
        node = self._cell_node[j * self._n_side + i]
        return node, np.hypot(x - self._nx[node], y - self._ny[node])

    def minutes_all(self, node: np.ndarray, leg: np.ndarray, x1: float, y1: float,
                    now: float) -> np.ndarray:
        """Every unit, from its road node `node` (`leg` km away from it), to (x1, y1) leaving
        at `now` (vectorised over all units: at a few hundred units a handful of whole-array
        operations is cheaper than picking the free ones out first)."""
        b, leg_b = self.snap(x1, y1)
        row = self.to_node[b]
        t = row[node + self._column_shift if self.any_walker else node] * self._road_factor(now)
        t += (leg + leg_b) * self.min_per_km
        t += self.turnout
        return t

    def _road_factor(self, now: float) -> np.ndarray:
        """Per unit, what its row of `to_node` is multiplied by: a driver's minutes at this
        hour's congestion, a walker's minutes per km (a walker never reads a driving time, so
        its unreachable inf never meets a 0)."""
        hour = int(now // 60.0) % 24
        if self._road_coef[0] != hour:
            self._road_coef = (hour, np.where(self.walk_mask, self.min_per_km,
                                              self.drive_on * self.congestion[hour]))
        return self._road_coef[1]

    def trip(self, unit, x1: float, y1: float, t0: float, t1: float) -> Trip:
        """The unit's drive (or walk) from where it is to (x1, y1), from t0 to t1."""
        return Trip(self, unit.index, unit.x, unit.y, x1, y1, t0, t1)

    def route(self, i: int, x0: float, y0: float, x1: float, y1: float):
        """The polyline (xs, ys) a unit follows: to the road, along the best path, to the
        spot."""
        d = self.d
        a = self.node_of_cell[d.cell_at(x0, y0)]
        b = self.node_of_cell[d.cell_at(x1, y1)]
        table = self.d.roads.tables.walk_pred if self.walking[i] else self.d.roads.tables.drive_pred
        pred = memoryview(table[a])      # plain ints, cheaper than numpy scalars in the loop
        path = [b]
        while path[-1] != a and pred[path[-1]] >= 0 and len(path) <= len(pred):
            path.append(int(pred[path[-1]]))
        path.reverse()
        xs = [x0, *(self.nx[k] for k in path), x1]
        ys = [y0, *(self.ny[k] for k in path), y1]
        return xs, ys


class Trip:
    """A unit on the road from t0 to t1, at an even pace along its route (computed on first
    use, since most trips are never drawn)."""

    __slots__ = ("_cum", "_xs", "_ys", "i", "t0", "t1", "travel", "x0", "x1", "y0", "y1")

    def __init__(self, travel: Travel, i: int, x0, y0, x1, y1, t0: float, t1: float):
        self.travel, self.i = travel, i
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.t0, self.t1 = t0, t1
        self._cum = None

    def polyline(self) -> tuple[list[float], list[float]]:
        if self._cum is None:
            xs, ys = self.travel.route(self.i, self.x0, self.y0, self.x1, self.y1)
            cum = [0.0]
            for k in range(1, len(xs)):
                cum.append(cum[-1] + math.hypot(xs[k] - xs[k - 1], ys[k] - ys[k - 1]))
            self._xs, self._ys, self._cum = xs, ys, cum
        return self._xs, self._ys

    def position(self, now: float) -> tuple[float, float]:
        if self.t1 <= self.t0 or now >= self.t1:
            return self.x1, self.y1
        xs, ys = self.polyline()
        cum = self._cum
        f = max(now - self.t0, 0.0) / (self.t1 - self.t0)
        along = f * cum[-1]
        k = min(max(bisect_right(cum, along), 1), len(cum) - 1)
        seg = cum[k] - cum[k - 1]
        g = 0.0 if seg <= 0 else (along - cum[k - 1]) / seg
        return xs[k - 1] + g * (xs[k] - xs[k - 1]), ys[k - 1] + g * (ys[k] - ys[k - 1])

    def rest(self, now: float) -> tuple[list[float], list[float]]:
        """The route still ahead at `now`, from the unit's position to the spot (the browser
        map moves the unit along it at the same even pace until t1)."""
        x, y = self.position(now)
        if self.t1 <= self.t0 or now >= self.t1:
            return [x], [y]
        xs, ys = self.polyline()
        along = max(now - self.t0, 0.0) / (self.t1 - self.t0) * self._cum[-1]
        k = min(max(bisect_right(self._cum, along), 1), len(self._cum) - 1)
        return [x, *xs[k:]], [y, *ys[k:]]
