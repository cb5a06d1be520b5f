"""A district folder: the map as data, the same for every seed.

    communities.geojson   Polygon/MultiPolygon features in WGS84 lon/lat with properties
                          name, street (the street or town it belongs to) and population
    roads.osm             optional: OSM XML (as exported by openstreetmap.org or osmium)
    roads.graphml         optional: a graph saved by osmnx (give one road file, not both)
    hotspots.geojson      optional: Point features with property kind (and optionally name)
    grids.geojson         optional: Polygon/MultiPolygon patrol grids with property name

``read_district`` checks every file and returns the map in a local metric frame (kilometres,
projected to the district's UTM zone).  Every problem raises ``ConfigError`` naming the file, the
feature (index and name) and the field, so a run stops before any work with one line.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

from sim.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
FILES = ("communities.geojson", "roads.osm", "roads.graphml", "hotspots.geojson",
         "grids.geojson")
AREA_TYPES = ("Polygon", "MultiPolygon")
MARGIN_KM = 1.0        # the km frame starts this far below and left of the communities
# Residents are agents: a community holds at most what the synthetic map allows in all
# (scenario.geography.population <= 50,000,000); 10**12 ran out of memory mid-build.
MAX_POPULATION = 50_000_000
HOTSPOT_MARGIN_KM = 1.0   # a hotspot may lie this far outside every community
# The map is a square raster over the communities, so its size follows their extent: one
# community in Paris made a 23 GB raster.  A real district is at most ~100-150 km across;
# every community must lie within MAX_RADIUS_KM of the median of their centres (a square of
# about 2 x 150 km: 1.4 M cells of the default 0.25 km, under the synthetic map's 4,000,000).
MAX_RADIUS_KM = 150.0
EARTH_RADIUS_KM = 6371.0
# Two communities (or two grids) may share at most this share of the smaller one's area:
# digitised neighbours overlap in slivers along their border (Jiangbei's largest is 0.006 %),
# while a copied or misplaced polygon overlaps entirely (one community took every resident).
MAX_OVERLAP_SHARE = 0.05
# A community must lie at least this share (of its area) inside the patrol grids of a
# grids.geojson; smaller gaps between grids go to the nearest grid.
MIN_GRID_COVER = 0.5


@dataclass
class Frame:
    """The local frame: kilometres east and north of `origin` (metres) in the projected `crs`."""

    crs: str
    origin: tuple[float, float]

    def to_km(self, geom):
        x0, y0 = self.origin
        return shapely.transform(geom, lambda c: (c - (x0, y0)) / 1000.0)

    def to_wgs84(self, geoms: list):
        """Shapely geometries in km back to WGS84 lon/lat."""
        import geopandas as gpd

        x0, y0 = self.origin
        metres = [shapely.transform(g, lambda c: c * 1000.0 + (x0, y0)) for g in geoms]
        return list(gpd.GeoSeries(metres, crs=self.crs).to_crs(4326))


@dataclass
class DistrictData:
    """What a district folder holds, checked and in the km frame."""

    folder: Path
    key: str                          # sha256 of the files: keys every fixed draw and cache
    frame: Frame
    community_geoms: list             # shapely (Multi)Polygons in km
    community_names: list[str]
    street_names: list[str]           # in order of first appearance
    community_street: np.ndarray
    community_pop: np.ndarray
    hotspot_kind: np.ndarray
    hx: np.ndarray
    hy: np.ndarray
    grid_geoms: list | None = None
    grid_names: list[str] | None = None
    road_file: Path | None = None
    water: list = field(default_factory=list)   # rivers (LineStrings/Polygons) in km


def resolve(path: str) -> Path:
    """A district path as given on the command line: absolute or relative to the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else ROOT / p


def content_key(folder: Path) -> str:
    h = hashlib.sha256()
    for name in FILES:
        f = folder / name
        if f.exists():
            h.update(name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- reading


def _load_collection(path: Path, required: bool) -> list | None:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: missing (a district folder needs it; see "
                              f"conf/districts/README.md)")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): "
                          f"{exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        got = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise ConfigError(f"{path}: must be a GeoJSON FeatureCollection, got {got!r}")
    feats = data.get("features")
    if not isinstance(feats, list) or not feats:
        raise ConfigError(f"{path}: features: must be a non-empty list")
    return feats


def _feature(i: int, feat: dict) -> str:
    props = feat.get("properties") if isinstance(feat, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    return f"feature {i}" + (f" ({name!r})" if isinstance(name, str) and name else "")


def _where(path: Path, i: int, feat: dict) -> str:
    return f"{path}: {_feature(i, feat)}"


def _geometry(path: Path, i: int, feat: dict, types: tuple[str, ...]):
    where = _where(path, i, feat)
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise ConfigError(f"{where}: must be a GeoJSON Feature")
    g = feat.get("geometry")
    if not isinstance(g, dict) or g.get("type") not in types:
        got = g.get("type") if isinstance(g, dict) else g
        raise ConfigError(f"{where}: geometry: must be {' or '.join(types)}, got {got!r}")
    try:
        with warnings.catch_warnings():
            # NaN coordinates: shapely warns before the error below says so in one line.
            warnings.simplefilter("ignore", RuntimeWarning)
            geom = shape(g)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ConfigError(f"{where}: geometry: malformed coordinates ({exc})") from None
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0 or not np.isfinite(coords).all():
        raise ConfigError(f"{where}: geometry: empty or not finite")
    bad = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
    if bad.any():
        x, y = coords[np.argmax(bad)]
        raise ConfigError(f"{where}: geometry: coordinates must be WGS84 longitude/latitude, "
                          f"got ({x:g}, {y:g})")
    if isinstance(geom, (Polygon, MultiPolygon)):
        if not geom.is_valid:
            raise ConfigError(f"{where}: geometry: not a valid polygon "
                              f"({explain_validity(geom)})")
        if geom.area <= 0:
            raise ConfigError(f"{where}: geometry: polygon has no area")
    return geom


def _text(path: Path, i: int, feat: dict, key: str, required: bool = True) -> str | None:
    props = feat.get("properties")
    value = props.get(key) if isinstance(props, dict) else None
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigError(f"{_where(path, i, feat)}: properties.{key}: required "
                              f"(a non-empty string)")
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{_where(path, i, feat)}: properties.{key}: must be a string, "
                          f"got {value!r}")
    return value.strip()


def _population(path: Path, i: int, feat: dict) -> int:
    value = (feat.get("properties") or {}).get("population")
    where = f"{_where(path, i, feat)}: properties.population"
    allowed = f"a whole number in [0, {MAX_POPULATION}]"
    if value is None:
        raise ConfigError(f"{where}: required (residents, {allowed})")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: must be {allowed}, got {value!r}")
    if not 0 <= value <= MAX_POPULATION or value != int(value):
        raise ConfigError(f"{where}: must be {allowed}, got {value!r}")
    return int(value)


def _km_between(lon0, lat0, lon1, lat1):
    """Great-circle kilometres (haversine) between WGS84 points (arrays broadcast)."""
    lon0, lat0, lon1, lat1 = (np.radians(v) for v in (lon0, lat0, lon1, lat1))
    a = (np.sin((lat1 - lat0) / 2) ** 2
         + np.cos(lat0) * np.cos(lat1) * np.sin((lon1 - lon0) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _check_extent(path: Path, feats: list, geoms: list) -> None:
    """Every community within MAX_RADIUS_KM of the median of the communities' centres (the
    raster is sized by their extent); the error names the farthest one."""
    centres = np.array([(g.centroid.x, g.centroid.y) for g in geoms])
    lon0, lat0 = np.median(centres, axis=0)
    far = np.array([_km_between(lon0, lat0, *shapely.get_coordinates(g).T).max()
                    for g in geoms])
    i = int(np.argmax(far))
    if far[i] > MAX_RADIUS_KM:
        raise ConfigError(f"{_where(path, i, feats[i])}: geometry: lies {far[i]:,.0f} km from "
                          f"the median of the communities' centres; a district spans at most "
                          f"{2 * MAX_RADIUS_KM:,.0f} km (every community within "
                          f"{MAX_RADIUS_KM:,.0f} km of it)")


def _check_gaps(path: Path, feats: list, km: list, max_gap_km: float) -> None:
    """No community farther than `max_gap_km` from every other one; names the farthest."""
    if len(km) < 2:
        return
    (which, _), dist = shapely.STRtree(km).query_nearest(
        km, exclusive=True, all_matches=False, return_distance=True)
    gap = np.zeros(len(km))
    np.maximum.at(gap, which, dist)
    i = int(np.argmax(gap))
    if gap[i] > max_gap_km:
        raise ConfigError(f"{_where(path, i, feats[i])}: geometry: lies {gap[i]:,.1f} km from "
                          f"the nearest other community; at most {max_gap_km:g} km "
                          f"(scenario.district.max_gap_km)")


def _check_overlaps(path: Path, feats: list, km: list, what: str) -> None:
    """No two features overlapping by more than MAX_OVERLAP_SHARE of the smaller one."""
    a, b = shapely.STRtree(km).query(km, predicate="intersects")
    for i, j in sorted(zip(a.tolist(), b.tolist(), strict=True), key=lambda ij: ij[::-1]):
        if i >= j:
            continue
        share = km[i].intersection(km[j]).area / max(min(km[i].area, km[j].area), 1e-12)
        if share > MAX_OVERLAP_SHARE:
            raise ConfigError(f"{_where(path, j, feats[j])}: geometry: overlaps "
                              f"{_feature(i, feats[i])} by "
                              f"{share:.0%} of the smaller of the two; {what} may overlap by "
                              f"at most {MAX_OVERLAP_SHARE:.0%}")


def _frame_for(geoms: list) -> Frame:
    import geopandas as gpd

    wgs = gpd.GeoSeries(geoms, crs=4326)
    crs = wgs.estimate_utm_crs()
    x0, y0, _, _ = wgs.to_crs(crs).total_bounds
    return Frame(crs=crs.to_string(), origin=(x0 - MARGIN_KM * 1000, y0 - MARGIN_KM * 1000))


def _project(frame: Frame, geoms: list) -> list:
    import geopandas as gpd

    return [frame.to_km(g) for g in gpd.GeoSeries(geoms, crs=4326).to_crs(frame.crs)]


def read_district(path: str, hotspot_kinds: tuple[str, ...],
                  max_gap_km: float | None = None) -> DistrictData:
    """Read and check the district folder at `path`; `hotspot_kinds` are the kinds allowed, a
    community may lie at most `max_gap_km` from the nearest other one (default: the schema's
    scenario.district.max_gap_km)."""
    from sim.config import DistrictFolder

    if max_gap_km is None:
        max_gap_km = DistrictFolder().max_gap_km
    folder = resolve(path)
    if not folder.is_dir():
        raise ConfigError(f"scenario.district.path: no such folder: {folder}")
    key = content_key(folder)

    # Communities
    cpath = folder / "communities.geojson"
    feats = cfeats = _load_collection(cpath, required=True)
    geoms, names, streets, pops = [], [], [], []
    seen: dict[tuple[str, str], int] = {}
    for i, feat in enumerate(feats):
        geoms.append(_geometry(cpath, i, feat, AREA_TYPES))
        name = _text(cpath, i, feat, "name")
        street = _text(cpath, i, feat, "street")
        pops.append(_population(cpath, i, feat))
        if (street, name) in seen:
            raise ConfigError(f"{_where(cpath, i, feat)}: properties.name: the street "
                              f"{street!r} already has a community of this name (feature "
                              f"{seen[street, name]})")
        seen[street, name] = i
        names.append(name)
        streets.append(street)
    if sum(pops) <= 0:
        raise ConfigError(f"{cpath}: properties.population: the communities hold nobody "
                          f"(the populations sum to 0)")
    if sum(pops) > MAX_POPULATION:
        raise ConfigError(f"{cpath}: properties.population: the communities hold "
                          f"{sum(pops):,} residents; at most {MAX_POPULATION:,} in all")
    _check_extent(cpath, feats, geoms)
    frame = _frame_for(geoms)
    km = _project(frame, geoms)
    _check_overlaps(cpath, feats, km, "communities")
    _check_gaps(cpath, feats, km, max_gap_km)
    street_names = list(dict.fromkeys(streets))
    data = DistrictData(
        folder=folder, key=key, frame=frame, community_geoms=km,
        community_names=names, street_names=street_names,
        community_street=np.array([street_names.index(s) for s in streets], dtype=np.int64),
        community_pop=np.array(pops, dtype=np.int64),
        hotspot_kind=np.array([], dtype=object), hx=np.zeros(0), hy=np.zeros(0),
    )
    land = shapely.union_all(data.community_geoms)

    # Hotspots
    hpath = folder / "hotspots.geojson"
    feats = _load_collection(hpath, required=False)
    if feats is not None:
        pts, kinds = [], []
        for i, feat in enumerate(feats):
            pts.append(_geometry(hpath, i, feat, ("Point",)))
            kind = _text(hpath, i, feat, "kind")
            if kind not in hotspot_kinds:
                allowed = ", ".join(hotspot_kinds) or "(none: scenario.geography.hotspots is empty)"
                raise ConfigError(f"{_where(hpath, i, feat)}: properties.kind: must be one of "
                                  f"{allowed}, got {kind!r}")
            kinds.append(kind)
        pts = _project(frame, pts)
        for i, p in enumerate(pts):
            if land.distance(p) > HOTSPOT_MARGIN_KM:
                raise ConfigError(f"{_where(hpath, i, feats[i])}: geometry: lies "
                                  f"{land.distance(p):.1f} km outside every community; a "
                                  f"hotspot may lie at most {HOTSPOT_MARGIN_KM:g} km outside")
        data.hotspot_kind = np.array(kinds, dtype=object)
        data.hx = np.array([p.x for p in pts])
        data.hy = np.array([p.y for p in pts])

    # Patrol grids
    gpath = folder / "grids.geojson"
    feats = _load_collection(gpath, required=False)
    if feats is not None:
        ggeoms = [_geometry(gpath, i, f, AREA_TYPES) for i, f in enumerate(feats)]
        gnames = [_text(gpath, i, f, "name") for i, f in enumerate(feats)]
        dup = next((i for i, n in enumerate(gnames) if gnames.index(n) != i), None)
        if dup is not None:
            raise ConfigError(f"{_where(gpath, dup, feats[dup])}: properties.name: another "
                              f"grid has this name (feature {gnames.index(gnames[dup])})")
        data.grid_geoms = _project(frame, ggeoms)
        data.grid_names = gnames
        for i, g in enumerate(data.grid_geoms):
            if not g.intersects(land):
                raise ConfigError(f"{_where(gpath, i, feats[i])}: geometry: covers no "
                                  f"community")
        _check_overlaps(gpath, feats, data.grid_geoms, "grids")
        grids = shapely.union_all(data.grid_geoms)
        for c, geom in enumerate(data.community_geoms):
            inside = geom.intersection(grids).area / geom.area
            if inside < MIN_GRID_COVER:
                raise ConfigError(f"{_where(cpath, c, cfeats[c])}: geometry: only {inside:.0%} "
                                  f"of its area lies in a patrol grid of {gpath.name}; at "
                                  f"least {MIN_GRID_COVER:.0%} must (add or widen a grid)")

    # Roads (parsed into a graph later, by sim.roads; rivers are read here for the map)
    osm, graphml = folder / "roads.osm", folder / "roads.graphml"
    if osm.exists() and graphml.exists():
        raise ConfigError(f"{folder}: give one road file, roads.osm or roads.graphml, not both")
    if osm.exists():
        data.road_file = osm
        data.water = _project(frame, read_osm_water(osm))
    elif graphml.exists():
        data.road_file = graphml
    return data


def read_osm_water(path: Path) -> list:
    """Rivers and water areas of an OSM XML file (waterway=* ways, natural=water closed ways),
    as WGS84 shapely geometries.  Also the first check that the file is OSM XML."""
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        line, col = exc.position
        raise ConfigError(f"{path}: not valid OSM XML (line {line}, column {col})") from None
    if root.tag != "osm":
        raise ConfigError(f"{path}: not OSM XML (the root element is <{root.tag}>, not <osm>)")
    nodes = {}
    for n in root.iter("node"):
        try:
            lon, lat = float(n.get("lon")), float(n.get("lat"))
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: node {n.get('id')}: lon/lat: must be numbers, got "
                              f"({n.get('lon')!r}, {n.get('lat')!r})") from None
        # Out of range (e.g. lat and lon swapped) crashed shapely's buffer with a segfault.
        for name, value, limit in (("lon", lon, 180), ("lat", lat, 90)):
            if not -limit <= value <= limit:     # also false for NaN
                raise ConfigError(f"{path}: node {n.get('id')}: {name}: must be a WGS84 "
                                  f"{'longitude' if name == 'lon' else 'latitude'} in "
                                  f"[-{limit}, {limit}], got {n.get(name)}")
        nodes[n.get("id")] = (lon, lat)
    out, roads = [], 0
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        refs = [nd.get("ref") for nd in way.iter("nd")]
        missing = next((r for r in refs if r not in nodes), None)
        if missing is not None:
            raise ConfigError(f"{path}: way {way.get('id')}: nd ref {missing}: no such node")
        if "highway" in tags:
            roads += 1
            continue
        coords = [nodes[r] for r in refs]
        if len(coords) < 2:
            continue
        if "waterway" in tags:
            out.append(LineString(coords))
        elif tags.get("natural") == "water" and len(coords) >= 4 and coords[0] == coords[-1]:
            out.append(Polygon(coords))
    if roads == 0:
        raise ConfigError(f"{path}: no roads (ways tagged highway=*)")
    return out
