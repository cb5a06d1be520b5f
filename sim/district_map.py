"""The district map as shapes: for drawing (in the model's km frame) and for researchers
(``district.geojson`` in WGS84 lon/lat beside every run's tables).

Numbers follow the map and the tables: community and grid numbers start at 1 (the tables'
``community`` and ``grid`` columns count from 0, so number = column + 1).
"""

from __future__ import annotations

import json

import numpy as np
import shapely


def map_shapes(d) -> dict[str, list]:
    """Shapely geometries in km, the frame of the model's x/y: community and grid polygons,
    road segments (with class, bridge flag and name), rivers, hotspot points."""
    roads, cls, bridge, name = d.road_lines()
    return {
        "communities": d.community_shapes(),
        "grids": d.grid_shapes(),
        "roads": roads,
        "road_class": cls.tolist(),
        "bridge": bridge.tolist(),
        "road_name": name.tolist(),
        "water": list(d.water),
        "hotspots": [shapely.Point(x, y) for x, y in zip(d.hx, d.hy, strict=True)],
    }


def community_grid(d) -> np.ndarray:
    """The patrol grid holding most of each community's cells."""
    out = np.zeros(d.n_communities, dtype=np.int64)
    for c in range(d.n_communities):
        cells = d.community_cells.members(c)
        if len(cells):
            out[c] = np.bincount(d.cell_grid[cells], minlength=d.n_grids).argmax()
    return out


def _feature(geom, props: dict) -> dict:
    # Coordinates rounded to 1e-7 degrees (about 1 cm) for a compact file.  Rounding, not
    # shapely.set_precision: that re-nodes the polygon and fails (TopologyException) on the
    # thin slivers a very fine cell raster leaves in a synthetic district.
    geometry = json.loads(shapely.to_geojson(
        shapely.transform(geom, lambda xy: np.round(xy, 7))))
    return {"type": "Feature", "properties": props, "geometry": geometry}


def district_geojson(d) -> dict:
    """Communities (number, name, street, grid, population), patrol grids and hotspots as a
    GeoJSON FeatureCollection in WGS84 (computed once per district and grid partition)."""
    cached = d.maps.get(d.map_key)
    if cached is not None:
        return cached
    comms = d.frame.to_wgs84(d.community_shapes())
    grids = d.frame.to_wgs84(d.grid_shapes())
    spots = d.frame.to_wgs84([shapely.Point(x, y) for x, y in zip(d.hx, d.hy, strict=True)])
    grid_of = community_grid(d)
    grid_names = d.grid_names or [f"Grid {g + 1}" for g in range(d.n_grids)]
    feats = [_feature(g, {
        "layer": "community", "community": c + 1, "name": d.community_names[c],
        "street": d.street_names[int(d.community_street[c])],
        "street_number": int(d.community_street[c]) + 1, "grid": int(grid_of[c]) + 1,
        "population": int(d.community_pop[c])}) for c, g in enumerate(comms)]
    feats += [_feature(g, {"layer": "grid", "grid": k + 1, "name": grid_names[k]})
              for k, g in enumerate(grids)]
    feats += [_feature(p, {"layer": "hotspot", "kind": str(d.hotspot_kind[h]),
                           "grid": int(d.hotspot_grid[h]) + 1}) for h, p in enumerate(spots)]
    d.maps[d.map_key] = {"type": "FeatureCollection", "features": feats}
    return d.maps[d.map_key]
