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

import colorsys
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
# The drawing rules, one place for both renderers (the browser gets them with the layers).
STYLE = {
    "state": {"patrolling": "#2e8b57", "dispatched": "#ff8c00", "on_scene": "#d62728",
              "reporting": "#9467bd", "duty": "#7f7f7f", "returning": "#1f77b4"},
    "priority": {1: "#b10026", 2: "#fc4e2a", 3: "#f0a030"},
    "level": {"community": "#f7dc6f", "street": "#eb984e", "district": "#cb4335"},
    "hotspot": {"complex_public_order": "#7b3294", "hospital": "#008080", "school": "#b8860b",
                "transit": "#4b0082", "scenic": "#c71585"},
    # road class: (colour, width in screen pixels)
    "road": {"trunk": ("#e39b2d", 3.2), "trunk_link": ("#e39b2d", 2.2),
             "primary": ("#f2c14e", 2.6), "secondary": ("#c9b27c", 2.0),
             "tertiary": ("#b0b0b0", 1.4), "residential": ("#cfcfcf", 0.9)},
    "bridge": "#5d4037", "water": "#6baed6", "grid": "#1565c0", "community_edge": "#9e9e9e",
    "selected": "#00bcd4",
}
BUSY_STATES = ("dispatched", "on_scene", "reporting")


def community_fill(n: int) -> str:
    """A pale colour per community number (neighbours differ: the hue steps by 47 degrees)."""
    r, g, b = colorsys.hls_to_rgb(((n * 47) % 360) / 360, 0.88, 0.45)
    return f"#{round(255 * r):02x}{round(255 * g):02x}{round(255 * b):02x}"


def badge_radius(parties: int, amount_yuan: float) -> float:
    """Badge radius in screen pixels: grows with the parties involved and the sum at stake."""
    return 9 + 2.2 * math.sqrt(parties) + 2.5 * math.log10(1 + amount_yuan / 10_000)
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
            out.append({"n": n, "d": _path(g, h), "x": round(p.x, 3), "y": round(h - p.y, 3),
                        "fill": community_fill(n)})
        return out

    roads: dict[str, list] = {}
    for geom, cls in zip(s["roads"], s["road_class"], strict=True):
        roads.setdefault(cls, []).append(geom)
    bridges = [g for g, b in zip(s["roads"], s["bridge"], strict=True) if b]
    x0, y0, x1, y1 = shapely.union_all(s["communities"]).bounds
    out = {
        "key": f"{id(d)}",
        "w": h, "h": h,
        # what the map shows at first: the district's communities, not the whole square
        "bounds": [round(x0, 3), round(h - y1, 3), round(x1, 3), round(h - y0, 3)],
        "communities": labelled(s["communities"]),
        "grids": labelled(s["grids"]),
        "roads": [{"cls": c, "d": "".join(_path(g, h) for g in roads[c])}
                  for c in sorted(roads, key=lambda c: (ROAD_ORDER.index(c)
                                                        if c in ROAD_ORDER else -1))],
        "bridges": "".join(_path(g, h) for g in bridges),
        "water": "".join(_path(g, h) for g in s["water"]),
        "style": STYLE,
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
    out["grid_label"] = t("grid", lang, n="{n}")          # "G{n}" / "网格{n}", filled in by JS
    out["unit_types"] = [k for k in ("police", "armed_patrol", "rapid_response", "guard")
                         if k in model.cfg.scenario.units]
    out["hotspot_kinds"] = sorted(set(model.district.hotspot_kind.tolist()))
    return out


def _r(v: float) -> float:
    return round(float(v), 3)


def _xy(xs, ys, h: float) -> list[list[float]]:
    return [[_r(a), _r(h - b)] for a, b in zip(xs, ys, strict=True)]


def behind(trip, now: float) -> tuple[list[float], list[float]]:
    """The part of `trip`'s route already driven at `now`: from its start to the unit (the
    complement of ``Trip.rest``)."""
    xs, ys = trip.polyline()
    ahead_xs, _ = trip.rest(now)
    n = len(xs) - (len(ahead_xs) - 1)          # the route's vertices already passed
    x, y = trip.position(now)
    return [*xs[:n], x], [*ys[:n], y]


def map_state(model) -> dict:
    """What moves, at the model's current minute: units on duty, open incidents, dispute badges.
    A driving unit carries the road still ahead (``path``, from where it is to its destination)
    with its arrival minute ``t1``, and the road it has driven (``trail``, from the start of its
    drive to where it is); a unit whose drive ended in the last step carries that drive's road as
    its trail.  Units on patrol have neither: the model puts them at a new point of their beat
    at each patrol tick, it does not drive them there."""
    now = float(model.now)
    h = float(model.district.side_km)
    units = []
    for u in model.units:
        if u.state == "off_duty":
            continue
        trip = u.trip
        driving = trip is not None and u.state in ("dispatched", "returning")
        # While driving, where it is on its road (the dispatcher's copy moves on the patrol
        # clock only); as DemoModel.shown_xy.
        x, y = trip.position(now) if driving else (u.x, u.y)
        rec = {"id": u.name, "type": u.unit_type, "state": u.state, "x": _r(x), "y": _r(h - y)}
        if u.incident is not None:
            rec["job"] = u.incident.incident_id
        if driving and now < trip.t1:
            rec["path"] = _xy(*trip.rest(now), h)
            rec["t1"] = _r(trip.t1)
            rec["trail"] = _xy(*behind(trip, now), h)
        ended = getattr(model, "ended_drives", {}).get(u.name)
        if trip is None and ended is not None and math.dist((ended.x1, ended.y1), (x, y)) < 1e-3:
            rec["trail"] = _xy(*ended.polyline(), h)
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
                                           "level": "community", "top": dsp.dispute_id,
                                           "_rank": (-1, 0.0)})
        b["n"] += 1
        rank = (LEVEL_RANK.get(dsp.level, 0), dsp.n_parties * max(dsp.amount_yuan, 1.0))
        if rank > b["_rank"]:       # the one a click on the badge follows
            b["top"], b["_rank"] = dsp.dispute_id, rank
        b["parties"] += int(dsp.n_parties)
        b["amount"] += float(dsp.amount_yuan) if math.isfinite(dsp.amount_yuan) else 0.0
        if LEVEL_RANK.get(dsp.level, 0) > LEVEL_RANK[b["level"]]:
            b["level"] = dsp.level
    for b in per.values():
        del b["_rank"]
    badges = [{"c": c + 1, "x": lay["communities"][c]["x"], "y": lay["communities"][c]["y"],
               **b, "amount": round(b["amount"]),
               "r": round(badge_radius(b["parties"], b["amount"]), 1)}
              for c, b in sorted(per.items())]
    return {"now": now, "units": units, "incidents": incidents, "badges": badges}


def _identity(value, widget):
    return value


@solara.component_vue(str(ASSETS / "vector_map.vue"),
                      to_json={"layers": _identity, "state": _identity, "text": _identity})
def _VueMap(layers: dict, state: dict, text: dict, playing: bool = False,
            selected: int | None = None, selected_community: int | None = None,
            event_pick: Callable | None = None):
    pass


@solara.component
def VectorMap(model, playing: bool = False, selected: tuple | None = None,
              on_pick: Callable[[str, object], None] | None = None, lang: str = "en"):
    """The map panel: re-sends the moving state after every step; the static layers only when
    the district changes.  ``selected`` is the followed case, ("incident", id) or ("dispute",
    id): its unit's path or its community's badge is highlighted.  ``on_pick(kind, id)`` is
    called with ("unit", call sign), ("incident", incident id) or ("dispute", dispute id) when
    the trainer clicks one on the map."""
    update_counter.get()
    layers = static_layers(model.district)
    text = solara.use_memo(lambda: labels(model, lang), [id(model), lang])

    def pick(data):
        if on_pick is not None and isinstance(data, dict):
            on_pick(data.get("kind"), data.get("id"))

    kind, ident = selected or (None, None)
    community = None
    if kind == "dispute" and model.dispute(ident) is not None:
        community = model.dispute(ident).community + 1
    _VueMap(layers=layers, state=map_state(model), text=text, playing=playing,
            selected=ident if kind == "incident" else None, selected_community=community,
            event_pick=pick)
