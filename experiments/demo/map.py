"""The district map as a matplotlib picture, for the slide export (``experiments.animate``).

It draws what the browser map draws, from the same data and rules: the static layers of
``vector_map.static_layers`` and the per-tick ``vector_map.map_state``, with the colours and
sizes of ``vector_map.STYLE`` (screen pixels become points at 3/4).  The page itself draws in
the browser (``vector_map``).
"""

from __future__ import annotations

import logging
import os
import warnings

import matplotlib

matplotlib.use("Agg")  # no display on the server; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402

from experiments.demo.text import clock, t  # noqa: E402
from experiments.demo.vector_map import (  # noqa: E402
    BUSY_STATES,
    STYLE,
    labels,
    map_state,
    static_layers,
)

# Chinese labels need a CJK font (Debian: fonts-wqy-microhei); matplotlib falls back per glyph.
# A font installed after matplotlib built its cache is invisible to it, so add known files.
CJK_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                  "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_known = {f.fname for f in font_manager.fontManager.ttflist}
for _path in CJK_FONT_FILES:
    if _path not in _known and os.path.exists(_path):
        font_manager.fontManager.addfont(_path)
_CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "SimHei")
_present = {f.name for f in font_manager.fontManager.ttflist}
# Only families that exist: naming a missing one makes matplotlib log on every text it draws.
plt.rcParams["font.family"] = ["DejaVu Sans", *[f for f in _CJK_FAMILIES if f in _present]]
plt.rcParams["axes.unicode_minus"] = False
# Without a CJK font the labels render as boxes; say so once instead of once per glyph.
warnings.filterwarnings("ignore", message="Glyph .* missing from font")
# The CJK fonts have no bold face; matplotlib uses the regular one and would say so per label.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

PRIORITY_COLOURS = STYLE["priority"]
LEVEL_COLOURS = STYLE["level"]
TYPE_MARKERS = {"police": "o", "armed_patrol": "s", "rapid_response": "D", "guard": "^"}
PT = 0.75            # points per screen pixel of the browser map


def _rings(d: str) -> list[np.ndarray]:
    """The point lists of an SVG path string written by ``vector_map`` (M x,y x,y ... [Z])."""
    out = []
    for part in d.split("M")[1:]:
        pts = part.rstrip("Z").split()
        out.append(np.array([p.split(",") for p in pts], dtype=float))
    return out


_RINGS: dict[int, tuple[object, dict]] = {}


def _parsed(lay: dict) -> dict:
    hit = _RINGS.get(id(lay))
    if hit is not None and hit[0] is lay:
        return hit[1]
    out = {"communities": [(c, _rings(c["d"])) for c in lay["communities"]],
           "grids": [r for g in lay["grids"] for r in _rings(g["d"])],
           "roads": [(r["cls"], _rings(r["d"])) for r in lay["roads"]],
           "bridges": _rings(lay["bridges"]), "water": _rings(lay["water"])}
    if len(_RINGS) > 8:
        _RINGS.clear()
    _RINGS[id(lay)] = (lay, out)
    return out


def draw_map(ax, model, lang: str = "en", legend: bool = True, state: dict | None = None) -> None:
    """Draw the district at the model's current time onto `ax` (from `state`, default
    ``map_state(model)``)."""
    lay = static_layers(model.district)
    geo = _parsed(lay)
    s = map_state(model) if state is None else state
    st = STYLE
    for c, rings in geo["communities"]:
        ax.add_collection(PolyCollection(rings, facecolors=c["fill"],
                                         edgecolors=st["community_edge"], linewidths=0.6))
    ax.add_collection(LineCollection(geo["grids"], colors=st["grid"], linewidths=1.4 * PT,
                                     linestyles=(0, (5, 3))))
    if geo["water"]:
        ax.add_collection(LineCollection(geo["water"], colors=st["water"], alpha=0.7,
                                         linewidths=7 * PT, capstyle="round"))
    for cls, rings in geo["roads"]:
        colour, width = st["road"].get(cls, ("#bbbbbb", 1.0))
        ax.add_collection(LineCollection(rings, colors=colour, linewidths=width * PT))
    if geo["bridges"]:
        ax.add_collection(LineCollection(geo["bridges"], colors=st["bridge"],
                                         linewidths=4.5 * PT))
    for c in lay["communities"]:
        ax.text(c["x"], c["y"], str(c["n"]), fontsize=12 * PT, weight="bold", color="#555555",
                ha="center", va="center", zorder=3)
    for g in lay["grids"]:
        ax.text(g["x"], g["y"] + 0.25, t("grid", lang, n=g["n"]), fontsize=13 * PT,
                weight="bold", color=st["grid"], ha="center", va="center", zorder=3)
    for kind, colour in st["hotspot"].items():
        pts = [(h["x"], h["y"]) for h in lay["hotspots"] if h["kind"] == kind]
        if pts:
            xy = np.array(pts)
            ax.scatter(xy[:, 0], xy[:, 1], marker="D", s=(8 * PT) ** 2, c=colour, alpha=0.55,
                       edgecolors="white", linewidths=0.5, zorder=4)

    fig = ax.figure
    # Dispute badges, offset up-right of the community's number as in the browser.
    up_right = offset_copy(ax.transData, fig=fig, x=14 * PT, y=14 * PT, units="points")
    for b in s["badges"]:
        ax.scatter([b["x"]], [b["y"]], s=(2 * b["r"] * PT) ** 2, c=st["level"][b["level"]],
                   alpha=0.85, edgecolors="#333333", linewidths=1.0, transform=up_right,
                   zorder=5)
        ax.text(b["x"], b["y"], str(b["n"]), transform=up_right, fontsize=12 * PT,
                weight="bold", ha="center", va="center", zorder=6)
    # Incidents: a ring larger than a unit icon, so the unit on scene sits inside it, and a
    # priority flag up-left.
    flag = offset_copy(ax.transData, fig=fig, x=-17 * PT, y=17 * PT, units="points")
    for i in s["incidents"]:
        colour = st["priority"][i["p"]]
        ax.scatter([i["x"]], [i["y"]], s=(2 * (13 - i["p"]) * PT) ** 2,
                   facecolors=colour if i["state"] == "waiting" else "none",
                   edgecolors=colour, linewidths=3 * PT, alpha=1.0, zorder=7)
        ax.text(i["x"], i["y"], f"P{i['p']}", transform=flag, fontsize=10 * PT, weight="bold",
                color="white", ha="center", va="center", zorder=8,
                bbox={"boxstyle": "square,pad=0.15", "fc": colour, "ec": "none"})
    # Units: marker = type, colour = state; busy ones carry their call sign.
    for utype, marker in TYPE_MARKERS.items():
        us = [u for u in s["units"] if u["type"] == utype]
        if us:
            ax.scatter([u["x"] for u in us], [u["y"] for u in us], marker=marker,
                       s=(12 * PT) ** 2, c=[st["state"].get(u["state"], "#999999") for u in us],
                       edgecolors="#111111", linewidths=1.0, zorder=9)
    label_at = offset_copy(ax.transData, fig=fig, x=9 * PT, y=7 * PT, units="points")
    for u in s["units"]:
        if u["state"] in BUSY_STATES:
            ax.text(u["x"], u["y"], u["id"], transform=label_at, fontsize=12 * PT,
                    weight="bold", zorder=10)

    x0, y0, x1, y1 = lay["bounds"]
    pad = 0.02 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y1 + pad, y0 - pad)           # y grows downwards, as on the page
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    busy = sum(u["state"] in BUSY_STATES for u in s["units"])
    ax.set_title(t("map_title", lang, clock=clock(s["now"], lang), patrol=len(s["units"]) - busy,
                   busy=busy, inc=len(s["incidents"]), disp=sum(b["n"] for b in s["badges"])),
                 fontsize=10)
    if legend:
        ax.legend(handles=legend_handles(model, lang), loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False, borderaxespad=0)


def legend_handles(model, lang: str) -> list:
    """The browser map's legend: unit states and types, incidents, badges, hotspots, lines."""
    words = labels(model, lang)

    def dot(marker, colour, label, edge="#111111", face=None):
        return Line2D([], [], ls="", marker=marker, markersize=8, markeredgecolor=edge,
                      markerfacecolor=colour if face is None else face, label=label)

    h = [dot("o", c, words[s]) for s, c in STYLE["state"].items()]
    h += [dot(TYPE_MARKERS[k], "white", words[k]) for k in words["unit_types"]]
    h += [dot("o", "none", words[f"p{p}"], edge=c) for p, c in STYLE["priority"].items()]
    h += [dot("o", c, f"{words['badge']}: {words[lv]}") for lv, c in STYLE["level"].items()]
    h += [dot("D", STYLE["hotspot"][k], words[k], edge="white")
          for k in words["hotspot_kinds"] if k in STYLE["hotspot"]]
    h += [Line2D([], [], color=STYLE["road"]["trunk"][0], lw=2.4, label=words["trunk"]),
          Line2D([], [], color=STYLE["bridge"], lw=3, label=words["bridge"]),
          Line2D([], [], color=STYLE["water"], lw=4, label=words["river"]),
          Line2D([], [], color=STYLE["grid"], lw=1.2, ls=(0, (5, 3)), label=words["grid_line"])]
    return h


def map_figure(model, lang: str = "en", size: tuple[float, float] = (9.6, 6.4)) -> Figure:
    """A new figure holding the map and its legend (not attached to pyplot's global state)."""
    fig = Figure(figsize=size, dpi=100)
    ax = fig.add_axes((0.02, 0.03, 0.62, 0.9))
    draw_map(ax, model, lang)
    return fig
