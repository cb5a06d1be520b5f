"""The district map drawn in the browser (SVG), fed with state, not pictures.

The static layers (community and grid polygons with their numbers, roads by class, bridges,
rivers, hotspots) go to the browser once per district; after each tick the page sends
``map_state(model)``, a small dict: units (call sign, type, state, position, and the road still
ahead while driving), open incidents and open-dispute badges.  The browser side
(``assets/vector_map.vue``) moves driving units along their roads between ticks, so motion is
smooth however long a tick is, and handles pan, zoom and clicks by itself.

Coordinates are the model's km frame with y flipped (SVG's y grows downwards), rounded to 1 m.
``experiments.animate`` draws its frames from the same ``map_state``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
import solara
from mesa.visualization.utils import update_counter

from experiments.demo.text import t
from sim.district_map import map_shapes

ASSETS = Path(__file__).parent / "assets"
SIMPLIFY_KM = 0.01          # polygon outlines to 10 m: invisible at any zoom the page offers
ROAD_ORDER = ("residential", "tertiary", "secondary", "primary", "trunk_link", "trunk")
LEVEL_RANK = {"community": 0, "street": 1, "district": 2}
MAP_TEXT = {
    "community": ("community", "社区"), "street": ("street", "街道"),
    "district": ("district", "区"),
    "road": ("road", "道路"), "trunk": ("expressway / trunk", "快速路/主干道"),
    "bridge": ("bridge", "桥梁"), "river": ("river", "河流"),
    "community_n": ("community no.", "社区编号"), "grid_n": ("patrol grid no.", "巡区编号"),
    "badge": ("open disputes: size = parties and amount", "未结纠纷：大小=当事人数与金额"),
    "legend": ("Legend", "图例"), "fit": ("fit", "全图"),
    "units": ("units: shape = type, colour = state", "单位：形状=类型，颜色=状态"),
}


def _mt(key: str, lang: str) -> str:
    return MAP_TEXT[key][lang == "zh"]


def _path(geom, h: float) -> str:
    """SVG path data of a (multi)polygon or (multi)line in km, y flipped."""
    out = []
    parts = getattr(geom, "geoms", [geom])
    for part in parts:
        rings = ([part.exterior, *part.interiors] if isinstance(part, shapely.Polygon)
                 else [part])
        for ring in rings:
            xy = np.asarray(ring.coords)
            if len(xy) < 2:
                continue
            pts = " ".join(f"{x:.3f},{h - y:.3f}" for x, y in xy)
            out.append(f"M{pts}" + ("Z" if isinstance(part, shapely.Polygon) else ""))
    return "".join(out)


_CACHE: dict[int, tuple[object, dict]] = {}


def static_layers(d) -> dict:
    """What never changes during a run, as SVG path strings and label points (cached while the
    district object lives)."""
    hit = _CACHE.get(id(d))
    if hit is not None and hit[0] is d:
        return hit[1]
    s = map_shapes(d)
    h = float(d.side_km)

    def labelled(geoms):
        out = []
        for n, g in enumerate(geoms, start=1):
            g = shapely.simplify(g, SIMPLIFY_KM, preserve_topology=True)
            p = g.representative_point() if not g.is_empty else shapely.Point(0, 0)
            out.append({"n": n, "d": _path(g, h), "x": round(p.x, 3), "y": round(h - p.y, 3)})
        return out

    roads: dict[str, list] = {}
    for geom, cls in zip(s["roads"], s["road_class"], strict=True):
        roads.setdefault(cls, []).append(geom)
    bridges = [g for g, b in zip(s["roads"], s["bridge"], strict=True) if b]
    out = {
        "key": f"{id(d)}",
        "w": h, "h": h,
        "communities": labelled(s["communities"]),
        "grids": labelled(s["grids"]),
        "roads": [{"cls": c, "d": "".join(_path(g, h) for g in roads[c])}
                  for c in sorted(roads, key=lambda c: (ROAD_ORDER.index(c)
                                                        if c in ROAD_ORDER else -1))],
        "bridges": "".join(_path(g, h) for g in bridges),
        "water": "".join(_path(g, h) for g in s["water"]),
        "hotspots": [{"kind": str(k), "x": round(float(x), 3), "y": round(h - float(y), 3)}
                     for k, x, y in zip(d.hotspot_kind, d.hx, d.hy, strict=True)],
    }
    if len(_CACHE) > 8:      # one entry per live model; old sessions' districts drop out
        _CACHE.clear()
    _CACHE[id(d)] = (d, out)
    return out


def labels(model, lang: str) -> dict:
    """Every word the browser map shows, in `lang`."""
    keys = ("patrolling", "dispatched", "on_scene", "reporting", "duty", "returning",
            "police", "armed_patrol", "rapid_response", "guard", "complex_public_order",
            "hospital", "school", "transit", "scenic", "grid_line")
    out = {k: t(k, lang) for k in keys}
    out.update({k: _mt(k, lang) for k in MAP_TEXT})
    out.update({f"p{p}": t("incident_open", lang, p=p) for p in (1, 2, 3)})
    out["unit_types"] = [k for k in ("police", "armed_patrol", "rapid_response", "guard")
                         if k in model.cfg.scenario.units]
    out["hotspot_kinds"] = sorted(set(model.district.hotspot_kind.tolist()))
    return out


def _r(v: float) -> float:
    return round(float(v), 3)


def map_state(model) -> dict:
    """What moves, at the model's current minute: units on duty, open incidents, dispute badges.
    A driving unit carries the road still ahead and its arrival minute ``t1``."""
    now = float(model.now)
    h = float(model.district.side_km)
    where = getattr(model, "shown_xy", lambda u: (u.x, u.y))
    units = []
    for u in model.units:
        if u.state == "off_duty":
            continue
        x, y = where(u)
        rec = {"id": u.name, "type": u.unit_type, "state": u.state, "x": _r(x), "y": _r(h - y)}
        if u.incident is not None:
            rec["job"] = u.incident.incident_id
        trip = u.trip
        if trip is not None and u.state in ("dispatched", "returning") and now < trip.t1:
            xs, ys = trip.rest(now)
            rec["path"] = [[_r(a), _r(h - b)] for a, b in zip(xs, ys, strict=True)]
            rec["t1"] = _r(trip.t1)
        units.append(rec)
    incidents = []
    for i in model.desk.incidents:
        if not math.isnan(i.t_cleared) or i.overflow or i.abandoned:
            continue
        state = ("waiting" if math.isnan(i.t_dispatched) else
                 "en_route" if math.isnan(i.t_arrived) else "on_scene")
        incidents.append({"id": i.incident_id, "p": int(i.priority), "kind": i.kind,
                          "x": _r(i.x), "y": _r(h - i.y), "state": state})
    lay = static_layers(model.district)
    per: dict[int, dict] = {}
    for dsp in model.mediation.disputes:
        if dsp.outcome != "open":
            continue
        b = per.setdefault(dsp.community, {"n": 0, "parties": 0, "amount": 0.0,
                                           "level": "community"})
        b["n"] += 1
        b["parties"] += int(dsp.n_parties)
        b["amount"] += float(dsp.amount_yuan) if math.isfinite(dsp.amount_yuan) else 0.0
        if LEVEL_RANK.get(dsp.level, 0) > LEVEL_RANK[b["level"]]:
            b["level"] = dsp.level
    badges = [{"c": c + 1, "x": lay["communities"][c]["x"], "y": lay["communities"][c]["y"],
               **b, "amount": round(b["amount"])} for c, b in sorted(per.items())]
    return {"now": now, "units": units, "incidents": incidents, "badges": badges}


def _identity(value, widget):
    return value


@solara.component_vue(str(ASSETS / "vector_map.vue"),
                      to_json={"layers": _identity, "state": _identity, "text": _identity})
def _VueMap(layers: dict, state: dict, text: dict, playing: bool = False,
            selected: int | None = None, event_pick: Callable | None = None):
    pass


@solara.component
def VectorMap(model, playing: bool = False, selected: int | None = None,
              on_pick: Callable[[str, object], None] | None = None, lang: str = "en"):
    """The map panel: re-sends the moving state after every step; the static layers only when
    the district changes.  ``on_pick(kind, id)`` is called with ("unit", call sign) or
    ("incident", incident id) when the trainer clicks one on the map."""
    update_counter.get()
    layers = static_layers(model.district)
    text = solara.use_memo(lambda: labels(model, lang), [id(model), lang])

    def pick(data):
        if on_pick is not None and isinstance(data, dict):
            on_pick(data.get("kind"), data.get("id"))

    _VueMap(layers=layers, state=map_state(model), text=text, playing=playing,
            selected=selected, event_pick=pick)
