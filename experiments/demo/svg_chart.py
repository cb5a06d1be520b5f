"""A ``ChartSpec`` (experiments.demo.charts) as a small SVG string, for the browser page.

Building it is a few milliseconds (a matplotlib figure took ~0.1 s), so the page can redraw its
charts on every language switch and Step.  Long series are thinned to about one point per
pixel column; the text is plain SVG (the browser's fonts, so Chinese needs nothing more).
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from experiments.demo.charts import ChartSpec

W, H = 504, 300                                   # the viewBox; the page scales it to the cell
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 30, 40         # the plot area's margins
FONT = "font-family: sans-serif"
MAX_POINTS = 500


def nice_ticks(hi: float, n: int = 5) -> list[float]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least `hi`."""
    hi = max(hi, 1e-9)
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [k * step for k in range(int(math.ceil(hi / step - 1e-9)) + 1)]


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1 or v == 0 else f"{v:.2g}"


def _thin(x: np.ndarray, ys: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    if len(x) <= MAX_POINTS:
        return x, ys
    keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).astype(int))
    return x[keep], [y[keep] for y in ys]


def _text(x: float, y: float, s: str, size: int = 12, anchor: str = "start", **extra) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in extra.items())
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
            f'{attrs}>{escape(s)}</text>')


def to_svg(spec: ChartSpec) -> str:
    """The chart as an ``<svg>`` element that fills its container's width."""
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
           f'class="demo-chart" style="width: 100%; height: auto; {FONT}">',
           _text(W / 2, 18, spec.title, 14, "middle", font_weight="bold"),
           _text(LEFT + pw / 2, H - 6, spec.xlabel, 12, "middle")]
    if spec.empty:
        out.append(_text(LEFT + pw / 2, TOP + ph / 2, spec.empty, 14, "middle", fill="#777"))
        out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" '
                   f'stroke="#999"/></svg>')
        return "".join(out)
    ys = [s.y for s in spec.series]
    if spec.kind == "lines":
        top = max((float(np.max(y)) for y in ys if len(y)), default=0.0)
    else:
        top = float(np.max(np.sum(ys, axis=0), initial=0.0))
    yticks = nice_ticks(top or 1.0, 4)
    xticks = nice_ticks(spec.xmax, 6)
    xticks = [v for v in xticks if v <= spec.xmax * 1.0001]
    ymax = yticks[-1] or 1.0

    def sx(v):
        return LEFT + pw * np.asarray(v, dtype=float) / spec.xmax

    def sy(v):
        return TOP + ph * (1 - np.asarray(v, dtype=float) / ymax)

    for v in yticks:
        y = float(sy(v))
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e3e3e3"/>')
        out.append(_text(LEFT - 5, y + 4, _fmt(v), 11, "end"))
    for v in xticks:
        x = float(sx(v))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + ph}" y2="{TOP + ph + 4}" '
                   f'stroke="#555"/>')
        out.append(_text(x, TOP + ph + 16, _fmt(v), 11, "middle"))

    def pts(xs, ys_):
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(sx(xs), sy(ys_), strict=True))

    if spec.kind == "stack":
        x, thin = _thin(spec.x, ys)
        base = np.zeros(len(x))
        for s, y in zip(spec.series, thin, strict=True):
            top = base + y
            ring = pts(np.r_[x, x[::-1]], np.r_[top, base[::-1]])
            out.append(f'<polygon points="{ring}" fill="{s.colour}" fill-opacity="0.9"/>')
            base = top
    elif spec.kind == "lines":
        for s in spec.series:
            x, (y,) = _thin(spec.x if s.x is None else s.x, [s.y])
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            out.append(f'<polyline points="{pts(x, y)}" fill="none" stroke="{s.colour}" '
                       f'stroke-width="{1.4 if s.dashed else 1.8}"{dash}/>')
    else:
        left, width = sx(spec.x[:-1]), np.diff(sx(spec.x))
        base = np.zeros(len(spec.x) - 1)
        for s in spec.series:
            top = base + s.y
            for xa, wa, y0, y1 in zip(left, width, sy(base), sy(top), strict=True):
                if y0 - y1 > 0.05:
                    out.append(f'<rect x="{xa:.1f}" y="{y1:.1f}" width="{wa:.1f}" '
                               f'height="{y0 - y1:.1f}" fill="{s.colour}" stroke="#fff" '
                               f'stroke-width="0.5"/>')
            base = top
    if spec.vline is not None:
        x = float(sx(min(spec.vline, spec.xmax)))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + ph}" stroke="#000" '
                   f'stroke-dasharray="4 3"/>')
    if spec.note:
        out.append(_text(LEFT + pw - 4, TOP + 14, spec.note, 11, "end"))
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" '
               f'stroke="#999"/>')
    out.append(_legend(spec, pw, ph))
    out.append("</svg>")
    return "".join(out)


def _legend(spec: ChartSpec, pw: float, ph: float) -> str:
    """Swatch and label rows inside the plot area, on a white ground so lines stay readable."""
    rows = [s for s in spec.series]
    ncol = max(1, spec.ncol)
    col_w, row_h = 110, 15
    nrows = -(-len(rows) // ncol)
    x0 = LEFT + 6 if spec.legend == "upper left" else LEFT + pw - 6 - ncol * col_w
    y0 = TOP + 6 if spec.legend == "upper left" else TOP + ph / 2 - nrows * row_h / 2
    out = [f'<g class="chart-legend"><rect x="{x0 - 3}" y="{y0 - 2}" width="{ncol * col_w}" '
           f'height="{nrows * row_h + 4}" fill="#fff" fill-opacity="0.75"/>']
    for k, s in enumerate(rows):
        x = x0 + (k % ncol) * col_w
        y = y0 + (k // ncol) * row_h
        if spec.kind == "lines":
            dash = ' stroke-dasharray="4 2"' if s.dashed else ""
            out.append(f'<line x1="{x}" x2="{x + 14}" y1="{y + 7}" y2="{y + 7}" '
                       f'stroke="{s.colour}" stroke-width="2"{dash}/>')
        else:
            out.append(f'<rect x="{x}" y="{y + 1}" width="12" height="11" fill="{s.colour}"/>')
        out.append(_text(x + 18, y + 11, s.label, 11))
    out.append("</g>")
    return "".join(out)
