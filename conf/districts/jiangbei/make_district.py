"""Write the stylised Jiangbei district folder: communities.geojson, hotspots.geojson, roads.osm.

    python conf/districts/jiangbei/make_district.py      # rewrites the three files beside it

The true boundaries of Jiangbei's streets and communities are not public in a form we can
commit, so the layout is stylised but fixed: the district is a band along the north banks of the
Jialing (west/south-west) and the Yangtze (south), drawn from approximate positions of the real
rivers, street seats and bridges (README.md lists every source).  Street areas and populations
are fitted exactly; community shapes inside a street are compact cells of about equal area.
Everything is deterministic (no randomness beyond the fixed generator below), so the committed
files are reproducible byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely
from pyproj import Transformer
from scipy.cluster.vq import kmeans2
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import unary_union

HERE = Path(__file__).resolve().parent
RNG = np.random.default_rng(20201101)     # the 2020 census day: any fixed number would do

# Local frame: km east/north of 106.46 E, 29.54 N in UTM zone 48N (the district's zone).
TO_UTM = Transformer.from_crs(4326, 32648, always_xy=True)
TO_WGS = Transformer.from_crs(32648, 4326, always_xy=True)
X0, Y0 = TO_UTM.transform(106.46, 29.54)

AREA_KM2 = 220.8          # district area (Jiangbei government profile)
POPULATION = 925_800      # 2020 census (citypopulation.de)

# River centrelines (km), approximate: the Jialing from the north-west to the confluence at
# Chaotianmen, the Yangtze upstream of it (Yuzhong/Nan'an side) and downstream along Jiangbei.
JIALING = [(1.0, 10.5), (1.8, 8.8), (2.4, 7.0), (2.6, 5.8), (3.4, 4.6), (4.6, 3.6),
           (6.0, 2.9), (7.5, 2.6), (9.0, 2.4), (10.5, 2.3), (12.2, 2.6)]
YANGTZE_UP = [(4.0, -1.0), (6.5, -0.6), (8.5, 0.0), (10.5, 0.9), (12.2, 2.6)]
YANGTZE_DOWN = [(12.2, 2.6), (13.2, 4.0), (14.3, 5.6), (16.0, 6.6), (18.0, 6.9), (20.0, 6.0),
                (22.0, 4.8), (24.5, 3.5), (27.0, 3.6), (29.5, 5.0), (31.5, 7.0), (33.5, 9.2),
                (35.5, 11.5)]
HALF_WIDTH = {"Jialing": 0.2, "Yangtze": 0.35}      # km; the rivers are ~0.4 and ~0.7 km wide
# Northern boundary with Yubei, west to east; scaled north/south to give AREA_KM2.
NORTH = [(1.0, 10.5), (4.0, 10.2), (7.0, 8.6), (10.0, 8.4), (13.0, 9.6), (16.0, 10.4),
         (20.0, 12.4), (24.0, 14.2), (28.0, 15.2), (32.0, 15.6), (35.8, 14.2), (35.5, 11.5)]

# (name, seat (km), area km2, population 2020, communities).  Areas: Guanyinqiao 8.6 km2
# (zhdiming.com), Yuzui 39.67 km2 (Baidu Baike via 9aivip.com), Fusheng 30.4 km2 (xzqh.org,
# 1996); the rest assumed so that the total is 220.8 km2.  Population: Cuntan 67,186 (census
# 2020, citypopulation.de); the rest assumed (dense urban subdistricts in the west, towns in the
# east) so that the total is 925,800.  Communities: 126 in all (113 communities + 13 villages,
# Jiangbei government profile); Guanyinqiao 20 (17 + 3, zhdiming.com), Yuzui 9 (6 + 3) and
# Fusheng 9 (1 + 8, xzqh.org); the rest assumed.
STREETS = [
    ("Shimahe", (3.0, 8.6), 12.0, 118_000, 12),
    ("Dashiba", (4.3, 5.6), 10.0, 112_000, 12),
    ("Guanyinqiao", (6.6, 5.3), 8.6, 195_000, 20),
    ("Huaxinjie", (8.0, 3.4), 4.0, 85_000, 10),
    ("Jiangbeicheng", (11.2, 3.3), 6.0, 32_000, 6),
    ("Wulidian", (10.4, 5.9), 15.0, 135_000, 14),
    ("Cuntan", (14.0, 7.6), 22.0, 67_186, 10),
    ("Tieshanping", (18.0, 9.2), 30.0, 22_000, 5),
    ("Guojiatuo", (22.6, 7.2), 22.0, 58_000, 9),
    ("Fusheng", (24.6, 12.0), 30.4, 22_000, 9),
    ("Yuzui", (29.6, 8.2), 39.67, 60_000, 9),
    ("Wubao", (32.6, 12.8), None, None, 10),           # the remainders
]
# Fusheng's community and villages by name (2013 statistical division codes, xzqh.org).
FUSHENG = ["Miaoba Community", "Miaoba Village", "Shimiao Village", "Huashan Village",
           "Yinpen Village", "Qiuping Village", "Xiemu Village", "Gaofeng Village",
           "Xincheng Village"]

# Bridges: (name, river, point on the river centreline).  Positions approximate.
BRIDGES = [
    ("Shimen Bridge", "Jialing", (2.5, 6.4)),
    ("Jialing River Bridge", "Jialing", (7.3, 2.65)),
    ("Huanghuayuan Bridge", "Jialing", (9.3, 2.4)),
    ("Qiansimen Bridge", "Jialing", (11.3, 2.4)),
    ("Chaotianmen Bridge", "Yangtze", (13.0, 3.75)),
    ("Dafosi Bridge", "Yangtze", (14.4, 5.65)),
    ("Cuntan Bridge", "Yangtze", (16.5, 6.7)),
    ("Guojiatuo Bridge", "Yangtze", (22.6, 4.5)),
    ("Yuzui Bridge", "Yangtze", (31.0, 6.5)),
]
# Named hotspots (kind, name, km); the rest are placed where people are.
HOTSPOTS = [
    ("complex_public_order", "Guanyinqiao business district", (6.9, 4.8)),
    ("complex_public_order", "Jiangbeizui financial district", (11.4, 3.3)),
    ("transit", "Yuzui railway freight station", (30.6, 9.0)),
    ("transit", "Cuntan port", (14.8, 6.4)),
    ("transit", "Guanyinqiao metro interchange", (6.7, 4.5)),
    ("transit", "Wulidian interchange", (10.3, 5.0)),
    ("scenic", "Chongqing Grand Theatre", (11.9, 3.2)),
    ("scenic", "Tieshanping forest park", (18.2, 9.4)),
    ("scenic", "Beibin Road riverside", (8.8, 3.0)),
    ("scenic", "Jiangbei city wall", (10.8, 3.1)),
    ("scenic", "Guanyinqiao square", (7.1, 4.6)),
    ("scenic", "Yuzui old street", (31.4, 8.0)),
]
COUNTS = {"complex_public_order": 10, "hospital": 8, "school": 20, "transit": 12, "scenic": 6}
GRID_KM = 0.4            # street lattice; main roads every 5th line (2 km)
URBAN_X = 15.0           # west of this, the dense city; east of it, towns and hills
RIDGE = (16.2, 18.8)     # the Tongluo Mountain ridge at Tieshanping: few roads cross it


def to_lonlat(x, y):
    return TO_WGS.transform(X0 + np.asarray(x) * 1000.0, Y0 + np.asarray(y) * 1000.0)


def lonlat_geom(g):
    return shapely.transform(g, lambda c: np.column_stack(to_lonlat(c[:, 0], c[:, 1])))


# The rivers run on beyond the map, so that no road can go round their ends.
JIALING_FULL = [(-1.5, 14.5), *JIALING]
YANGTZE_FULL = [(1.0, -2.5), *YANGTZE_UP, *YANGTZE_DOWN[1:], (38.5, 15.0)]


def water() -> dict[str, object]:
    return {"Jialing": LineString(JIALING_FULL).buffer(HALF_WIDTH["Jialing"]),
            "Yangtze": LineString(YANGTZE_FULL).buffer(HALF_WIDTH["Yangtze"])}


def district_outline(scale: float) -> Polygon:
    north = [NORTH[0], *((x, 2.0 + (y - 2.0) * scale) for x, y in NORTH[1:-1]), NORTH[-1]]
    ring = [*JIALING, *YANGTZE_DOWN[1:], *north[::-1][1:]]
    outline = Polygon(ring).buffer(0)
    return outline.difference(unary_union(list(water().values())))


def fit_outline() -> Polygon:
    lo, hi = 0.5, 2.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if district_outline(mid).area < AREA_KM2:
            lo = mid
        else:
            hi = mid
    return _largest(district_outline((lo + hi) / 2))


def _largest(g):
    return max(getattr(g, "geoms", [g]), key=lambda p: p.area)


def _halfplane(si, sj, wi, wj, big=200.0) -> Polygon:
    """Points p with |p - si|^2 - wi <= |p - sj|^2 - wj (a power-diagram half-plane)."""
    n = np.subtract(sj, si)
    c = (np.dot(sj, sj) - np.dot(si, si) - wj + wi) / 2
    p0 = n * c / np.dot(n, n)
    t = np.array([-n[1], n[0]]) / np.linalg.norm(n)
    nn = n / np.linalg.norm(n)
    return Polygon([p0 + big * t, p0 - big * t, p0 - big * t - big * nn, p0 + big * t - big * nn])


def power_cells(region, seeds, targets, tol=0.002, steps=3000):
    """Split `region` into power-diagram cells of the given areas (weights fitted)."""
    seeds = np.asarray(seeds, float)
    targets = np.asarray(targets, float)
    w = np.zeros(len(seeds))
    for _ in range(steps):
        cells = []
        for i in range(len(seeds)):
            cell = region
            for j in range(len(seeds)):
                if j != i:
                    cell = cell.intersection(_halfplane(seeds[i], seeds[j], w[i], w[j]))
            cells.append(cell)
        areas = np.array([c.area for c in cells])
        err = targets - areas
        if np.abs(err / targets).max() < tol:
            break
        w += 0.6 * err
    return cells


def split_street(poly, k: int):
    """`poly` cut into k compact parts of about equal area (k-means on points inside it)."""
    if k == 1:
        return [poly]
    x0, y0, x1, y1 = poly.bounds
    pts = []
    while len(pts) < 400 * k:
        cand = np.column_stack([RNG.uniform(x0, x1, 4000), RNG.uniform(y0, y1, 4000)])
        pts.extend(cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])])
    pts = np.array(pts[: 400 * k])
    centres, _ = kmeans2(pts, k, seed=RNG, minit="++", iter=30)
    centres = centres[np.lexsort((centres[:, 0], -centres[:, 1]))]   # north-west first
    vor = shapely.voronoi_polygons(shapely.MultiPoint(centres), extend_to=poly.envelope)
    parts = []
    for c in centres:
        cell = next(g for g in vor.geoms if g.contains(Point(c)))
        part = cell.intersection(poly)
        parts.append(_largest(part) if isinstance(part, MultiPolygon) else part)
    return parts


def largest_remainder(weights, total):
    weights = np.asarray(weights, float)
    exact = weights / weights.sum() * total
    share = np.floor(exact).astype(int)
    order = np.argsort(-(exact - share), kind="stable")
    share[order[: total - share.sum()]] += 1
    return share


def communities(outline):
    known = [s for s in STREETS if s[2] is not None]
    areas = [s[2] for s in known] + [AREA_KM2 - sum(s[2] for s in known)]
    pops = [s[3] for s in known] + [POPULATION - sum(s[3] for s in known)]
    streets = power_cells(outline, [s[1] for s in STREETS], np.array(areas) * outline.area
                          / AREA_KM2)
    feats = []
    for (name, _, _, _, k), poly, pop in zip(STREETS, streets, pops, strict=True):
        poly = _largest(poly)
        parts = split_street(poly, k)
        shares = largest_remainder(RNG.lognormal(0.0, 0.45, k), pop)
        for i, (part, n) in enumerate(zip(parts, shares, strict=True)):
            cname = FUSHENG[i] if name == "Fusheng" else f"{name} {i + 1:02d}"
            feats.append((cname, name, int(n), part))
    return feats


def hotspots(feats):
    out = [(k, n, Point(p)) for k, n, p in HOTSPOTS]
    pop = np.array([f[2] for f in feats], float)
    for kind, total in COUNTS.items():
        need = total - sum(1 for k, _, _ in out if k == kind)
        for c in RNG.choice(len(feats), size=need, p=pop / pop.sum()):
            poly = feats[c][3]
            x0, y0, x1, y1 = poly.bounds
            while True:
                p = Point(RNG.uniform(x0, x1), RNG.uniform(y0, y1))
                if poly.contains(p):
                    break
            out.append((kind, "", p))
    return out


# --------------------------------------------------------------------------- roads


class Osm:
    """A tiny OSM XML writer: nodes by position (shared when equal), ways with tags."""

    def __init__(self):
        self.nodes: dict[tuple[float, float], int] = {}
        self.ways: list[tuple[list[int], dict]] = []

    def node(self, x, y) -> int:
        key = (round(float(x), 4), round(float(y), 4))
        if key not in self.nodes:
            self.nodes[key] = len(self.nodes) + 1
        return self.nodes[key]

    def way(self, pts, **tags):
        self.ways.append(([self.node(x, y) for x, y in pts], tags))

    def write(self, path: Path):
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<osm version="0.6" generator="conf/districts/jiangbei/make_district.py">']
        for (x, y), i in self.nodes.items():
            lon, lat = to_lonlat(x, y)
            lines.append(f'  <node id="{i}" lat="{lat:.6f}" lon="{lon:.6f}" version="1"/>')
        for k, (refs, tags) in enumerate(self.ways, start=1):
            lines.append(f'  <way id="{k}" version="1">')
            lines += [f'    <nd ref="{r}"/>' for r in refs]
            lines += [f"    <tag k={quoteattr(a)} v={quoteattr(str(b))}/>"
                      for a, b in tags.items()]
            lines.append("  </way>")
        lines.append("</osm>")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def roads(outline) -> Osm:
    wet = water()
    all_water = unary_union(list(wet.values()))
    # Land the roads may use: the district and a strip of the far banks (Yuzhong, Nan'an,
    # Shapingba), so that bridges lead somewhere.
    rivers = unary_union([LineString(JIALING_FULL), LineString(YANGTZE_FULL)])
    land = unary_union([outline, rivers.buffer(2.0).difference(all_water)])
    land = land.intersection(shapely.box(-1, -2, 37, 17))
    osm = Osm()
    x0, y0, x1, y1 = land.bounds
    nx_, ny_ = int((x1 - x0) / GRID_KM) + 2, int((y1 - y0) / GRID_KM) + 2

    def xy(i, j):
        return x0 + i * GRID_KM, y0 + j * GRID_KM

    def keep_line(i, j, along_x):
        x, _ = xy(i, j)
        every = 1 if x < URBAN_X else 2
        if RIDGE[0] <= x <= RIDGE[1]:
            every = 3
        return (j if along_x else i) % every == 0

    def road_class(i, j, along_x):
        x, _ = xy(i, j)
        if (j if along_x else i) % 5 == 0:
            return "primary" if x < URBAN_X else "secondary"
        return "residential" if x < URBAN_X else "tertiary"

    for i in range(nx_):
        for j in range(ny_):
            for di, dj, along_x in ((1, 0, True), (0, 1, False)):
                if not keep_line(i, j, along_x):
                    continue
                a, b = xy(i, j), xy(i + di, j + dj)
                seg = LineString([a, b])
                if land.contains(seg) and not seg.intersects(all_water):
                    osm.way([a, b], highway=road_class(i, j, along_x))
    grid_nodes = np.array(list(osm.nodes))

    def nearest(p, bank_of=None):
        d = np.hypot(grid_nodes[:, 0] - p[0], grid_nodes[:, 1] - p[1])
        for k in np.argsort(d):
            seg = LineString([p, grid_nodes[k]])
            if not seg.intersects(all_water) and d[k] < 1.5:
                return tuple(grid_nodes[k])
        return None

    # Beibin Road along the district's river bank, joined to the streets every 0.8 km.
    bank = LineString([*JIALING, *YANGTZE_DOWN[1:]])
    side = bank.offset_curve(-0.55)     # right of the downstream direction: the north bank
    beibin = side.intersection(outline.buffer(-0.05))
    for piece in getattr(beibin, "geoms", [beibin]):
        if piece.length < 1.0:
            continue
        pts = [piece.interpolate(d) for d in np.arange(0, piece.length, GRID_KM)]
        pts = [(p.x, p.y) for p in pts]
        osm.way(pts, highway="primary", name="Beibin Road")
        for p in pts[::2]:
            q = nearest(p)
            if q is not None and q != p:
                osm.way([p, q], highway="residential")
    # A trunk road from Guanyinqiao east to the towns, through the ridge in a tunnel.
    trunk = LineString([(6.8, 5.6), (10.0, 7.0), (13.5, 8.2), (17.5, 8.6), (22.0, 9.6),
                        (27.0, 10.6), (31.0, 11.2), (34.0, 12.8)])
    pts = [trunk.interpolate(d) for d in np.arange(0, trunk.length, 0.8)]
    pts = [(p.x, p.y) for p in pts]
    osm.way(pts, highway="trunk", name="Jiangbei east-west trunk road (stylised)")
    for p in pts[::2]:
        q = nearest(p)
        if q is not None and q != p:
            osm.way([p, q], highway="trunk_link")
    # Bridges: straight across the river, joined to the nearest street on each bank.
    for name, river, (bx, by) in BRIDGES:
        line = LineString(JIALING_FULL if river == "Jialing" else YANGTZE_FULL)
        d = line.project(Point(bx, by))
        p, q = line.interpolate(d - 0.05), line.interpolate(d + 0.05)
        t = np.array([q.x - p.x, q.y - p.y])
        n = np.array([-t[1], t[0]]) / np.linalg.norm(t)
        half = HALF_WIDTH[river] + 0.15
        c = np.array(line.interpolate(d).coords[0])
        ends = [tuple(c + half * n), tuple(c - half * n)]
        osm.way(ends, highway="primary", bridge="yes", name=name, layer="1")
        for e in ends:
            q = nearest(e)
            if q is not None:
                osm.way([e, q], highway="primary")
    # The rivers themselves (for the map, and to split the banks).
    osm.way(JIALING_FULL, waterway="river", name="Jialing River")
    osm.way(YANGTZE_FULL, waterway="river", name="Yangtze River")
    return osm


def feature(geom, **props):
    return {"type": "Feature", "properties": props,
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(
                lonlat_geom(geom), 1e-6)))}


def main() -> None:
    outline = fit_outline()
    feats = communities(outline)
    spots = hotspots(feats)
    coll = {"type": "FeatureCollection", "features": [
        feature(poly, name=name, street=street, population=pop)
        for name, street, pop, poly in feats]}
    (HERE / "communities.geojson").write_text(json.dumps(coll) + "\n", encoding="utf-8")
    coll = {"type": "FeatureCollection", "features": [
        feature(p, kind=kind, **({"name": name} if name else {})) for kind, name, p in spots]}
    (HERE / "hotspots.geojson").write_text(json.dumps(coll) + "\n", encoding="utf-8")
    roads(outline).write(HERE / "roads.osm")
    total = sum(f[3].area for f in feats)
    print(f"{len(feats)} communities, {total:.1f} km2, {sum(f[2] for f in feats):,} residents")


if __name__ == "__main__":
    main()
