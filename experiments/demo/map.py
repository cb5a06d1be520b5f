"""The district map as a matplotlib figure: streets, patrol grids, communities, hotspots, units by
state, open incidents and dispute badges.  Used by the browser demo and by ``experiments.animate``.

The static layers (boundaries, community fill) are computed once per district and cached, so a
frame only redraws what moves.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display on the server; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from experiments.demo.text import clock, t  # noqa: E402

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

STATE_COLOURS = {"patrolling": "#2e8b57", "dispatched": "#ff8c00", "on_scene": "#d62728",
                 "reporting": "#9467bd", "duty": "#7f7f7f", "returning": "#1f77b4"}
TYPE_MARKERS = {"police": "o", "armed_patrol": "s", "rapid_response": "D", "guard": "^"}
HOTSPOT_STYLE = {"complex_public_order": ("X", "#7b3294"), "hospital": ("P", "#008080"),
                 "school": ("p", "#b8860b"), "transit": ("H", "#4b0082"),
                 "scenic": ("*", "#c71585")}
PRIORITY_COLOURS = {1: "#b10026", 2: "#fc4e2a", 3: "#feb24c"}
LEVEL_COLOURS = {"community": "#f7dc6f", "street": "#eb984e", "district": "#cb4335"}
LEVEL_RANK = {"community": 0, "street": 1, "district": 2}


@dataclass
class Layers:
    """What never changes during a run: boundary segments and label positions."""

    extent: tuple[float, float, float, float]
    community_raster: np.ndarray
    streets: np.ndarray
    grids: np.ndarray
    communities: np.ndarray
    community_xy: np.ndarray
    grid_xy: np.ndarray


_CACHE: dict[int, tuple[object, Layers]] = {}


def _boundaries(labels: np.ndarray, n: int, c: float) -> np.ndarray:
    """Segments ((x0, y0), (x1, y1)) between neighbouring cells with different labels."""
    grid = labels.reshape(n, n)  # [row j (y), column i (x)]
    segs = []
    jj, ii = np.nonzero(grid[:, :-1] != grid[:, 1:])      # vertical edges
    for j, i in zip(jj.tolist(), ii.tolist(), strict=True):
        x = (i + 1) * c
        segs.append(((x, j * c), (x, (j + 1) * c)))
    jj, ii = np.nonzero(grid[:-1, :] != grid[1:, :])      # horizontal edges
    for j, i in zip(jj.tolist(), ii.tolist(), strict=True):
        y = (j + 1) * c
        segs.append(((i * c, y), ((i + 1) * c, y)))
    return np.array(segs, dtype=float).reshape(-1, 2, 2)


def _centroids(labels: np.ndarray, k: int, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    count = np.maximum(np.bincount(labels, minlength=k), 1)
    return np.column_stack([np.bincount(labels, cx, k) / count, np.bincount(labels, cy, k) / count])


def layers(district) -> Layers:
    """The static layers of `district` (cached while the district object lives)."""
    hit = _CACHE.get(id(district))
    if hit is not None and hit[0] is district:
        return hit[1]
    d = district
    n, c = d.n_side, d.cell_km
    out = Layers(
        extent=(0.0, d.side_km, 0.0, d.side_km),
        community_raster=d.cell_community.reshape(n, n),
        streets=_boundaries(d.cell_street, n, c),
        grids=_boundaries(d.cell_grid, n, c),
        communities=_boundaries(d.cell_community, n, c),
        community_xy=_centroids(d.cell_community, d.n_communities, d.cx, d.cy),
        grid_xy=_centroids(d.cell_grid, d.n_grids, d.cx, d.cy),
    )
    if len(_CACHE) > 8:  # one entry per live model; old sessions' districts drop out
        _CACHE.clear()
    _CACHE[id(district)] = (district, out)
    return out


def active_incidents(model) -> list:
    """Incidents reported and not yet cleared (handed-to-backup ones excluded)."""
    return [i for i in model.desk.incidents
            if math.isnan(i.t_cleared) and not i.overflow and not i.abandoned]


def open_dispute_badges(model) -> dict[int, tuple[int, str, float]]:
    """Per community with open disputes: (count, highest level, age of the oldest in days)."""
    now = model.now
    out: dict[int, tuple[int, str, float]] = {}
    for d in model.mediation.disputes:
        if d.outcome != "open":
            continue
        n, level, age = out.get(d.community, (0, "community", 0.0))
        if LEVEL_RANK.get(d.level, 0) > LEVEL_RANK[level]:
            level = d.level
        out[d.community] = (n + 1, level, max(age, (now - d.t_raised) / 1440.0))
    return out


def draw_map(ax, model, lang: str = "en", legend: bool = True) -> None:
    """Draw the district at the model's current time onto `ax`."""
    d = model.district
    lay = layers(d)
    now = model.now
    ax.imshow(lay.community_raster % 20, origin="lower", extent=lay.extent, cmap="tab20",
              alpha=0.16, interpolation="nearest", vmin=0, vmax=19)
    ax.add_collection(LineCollection(lay.communities, colors="#9e9e9e", linewidths=0.4))
    ax.add_collection(LineCollection(lay.grids, colors="#1565c0", linewidths=1.0,
                                     linestyles=(0, (3, 2))))
    ax.add_collection(LineCollection(lay.streets, colors="#212121", linewidths=2.0))
    x0, x1, y0, y1 = lay.extent
    ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color="#212121", lw=2.0)
    small = d.n_grids <= 40
    if small:
        for g, (gx, gy) in enumerate(lay.grid_xy):
            ax.text(gx, gy, t("grid", lang, n=g + 1), color="#1565c0", fontsize=7, alpha=0.8,
                    ha="center", va="center")

    for kind, (marker, colour) in HOTSPOT_STYLE.items():
        sel = d.hotspot_kind == kind
        if sel.any():
            ax.scatter(d.hx[sel], d.hy[sel], marker=marker, s=70, c=colour, alpha=0.55,
                       edgecolors="white", linewidths=0.5, zorder=3)

    # Incidents: open ones by priority; those cleared in the last hour fade out in grey.
    open_inc = active_incidents(model)
    for p, colour in PRIORITY_COLOURS.items():
        pts = [(i.x, i.y) for i in open_inc if i.priority == p]
        if pts:
            xy = np.array(pts)
            ax.scatter(xy[:, 0], xy[:, 1], marker="X", s=120 - 25 * p, c=colour,
                       edgecolors="black", linewidths=0.6, zorder=5)
    recent = [(i.x, i.y) for i in model.desk.incidents[-400:]
              if not math.isnan(i.t_cleared) and now - i.t_cleared <= 60.0]
    if recent:
        xy = np.array(recent)
        ax.scatter(xy[:, 0], xy[:, 1], marker="x", s=30, c="#9e9e9e", zorder=4)

    # Units on duty: colour = state, marker = type; a dashed line to the job of those en route.
    on_duty = [u for u in model.units if u.state != "off_duty"]
    where = getattr(model, "shown_xy", lambda u: (u.x, u.y))   # the demo draws drives smoothly
    at = {u.name: where(u) for u in on_duty}
    for u in on_duty:
        if u.state == "dispatched" and u.incident is not None:
            ax.plot([at[u.name][0], u.incident.x], [at[u.name][1], u.incident.y],
                    color=STATE_COLOURS["dispatched"], lw=1.0, ls="--", zorder=5)
    for utype, marker in TYPE_MARKERS.items():
        for state, colour in STATE_COLOURS.items():
            pts = [at[u.name] for u in on_duty if u.unit_type == utype and u.state == state]
            if pts:
                xy = np.array(pts)
                ax.scatter(xy[:, 0], xy[:, 1], marker=marker, s=46, c=colour,
                           edgecolors="black", linewidths=0.6, zorder=6)

    # Dispute badges on communities: fill = highest level reached, ring width = age.
    badges = open_dispute_badges(model)
    for com, (n, level, age) in badges.items():
        bx, by = lay.community_xy[com]
        ax.scatter([bx], [by], s=260, c=LEVEL_COLOURS[level], edgecolors="black",
                   linewidths=0.8 + min(age, 6.0) * 0.7, zorder=7)
        ax.text(bx, by, str(n), ha="center", va="center", fontsize=8, weight="bold", zorder=8)

    ax.set_xlim(x0 - 0.05, x1 + 0.05)
    ax.set_ylim(y0 - 0.05, y1 + 0.05)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    ax.set_xlabel(t("km", lang), fontsize=7)
    busy = sum(u.busy for u in on_duty)
    ax.set_title(t("map_title", lang, clock=clock(now, lang), patrol=len(on_duty) - busy,
                   busy=busy, inc=len(open_inc), disp=sum(b[0] for b in badges.values())),
                 fontsize=9)
    if legend:
        ax.legend(handles=legend_handles(model, lang), loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, borderaxespad=0)


def legend_handles(model, lang: str) -> list:
    """Legend entries: unit states and types, incidents, badges, hotspots, boundaries."""

    def dot(marker, colour, label, size=7, edge="black"):
        return Line2D([], [], ls="", marker=marker, markersize=size, markerfacecolor=colour,
                      markeredgecolor=edge, label=label)

    h = [dot("o", c, t(s, lang)) for s, c in STATE_COLOURS.items()]
    h += [dot(m, "white", t(k, lang)) for k, m in TYPE_MARKERS.items()
          if k in model.cfg.scenario.units]
    h += [dot("X", c, t("incident_open", lang, p=p), 8) for p, c in PRIORITY_COLOURS.items()]
    h += [dot("x", "#9e9e9e", t("incident_cleared", lang), 6, "#9e9e9e")]
    h += [dot("o", c, t("dispute_badge", lang, level=t(lv, lang)), 9)
          for lv, c in LEVEL_COLOURS.items()]
    h += [Line2D([], [], ls="", label=t("badge_age", lang))]
    kinds = set(model.district.hotspot_kind.tolist())
    h += [dot(m, c, t(k, lang), 8, "white") for k, (m, c) in HOTSPOT_STYLE.items() if k in kinds]
    h += [Line2D([], [], color="#212121", lw=2, label=t("street_line", lang)),
          Line2D([], [], color="#1565c0", lw=1, ls=(0, (3, 2)), label=t("grid_line", lang))]
    return h


def map_figure(model, lang: str = "en", size: tuple[float, float] = (7.6, 5.2)) -> Figure:
    """A new figure holding the map and its legend (not attached to pyplot's global state)."""
    fig = Figure(figsize=size, dpi=100)
    ax = fig.add_axes((0.03, 0.08, 0.68, 0.85))
    draw_map(ax, model, lang)
    return fig
