"""The demo's live charts: open disputes by level, response times so far, busy units by type.

Each chart is described once, as a ``ChartSpec`` (``*_spec(model, lang)``: its title, labels
and series), and drawn by two renderers: ``draw_spec(ax, spec)`` with matplotlib for the
animation's frames (``draw_*(ax, model, lang)``), and ``experiments.demo.svg_chart`` as a small
SVG for the browser page, where drawing a matplotlib figure per chart took most of a language
switch (~0.1 s per chart, each time the page re-rendered).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from experiments.demo.map import LEVEL_COLOURS, PRIORITY_COLOURS
from experiments.demo.text import t

UNIT_COLOURS = {"police": "#1f77b4", "armed_patrol": "#2ca02c", "rapid_response": "#d62728",
                "guard": "#9467bd"}


@dataclass
class Series:
    label: str
    y: np.ndarray
    colour: str
    dashed: bool = False
    x: np.ndarray | None = None       # lines only: its own x (else the chart's)


@dataclass
class ChartSpec:
    """What a chart shows.  ``kind``: "stack" (areas stacked over x), "lines", or "hist"
    (stacked bars; ``x`` are the bin edges, one more than each series' counts)."""
    title: str
    xlabel: str
    kind: str
    x: np.ndarray
    series: list[Series] = field(default_factory=list)
    xmax: float = 1.0
    empty: str = ""                   # shown instead when there is nothing to draw
    note: str = ""                    # top right (e.g. the median)
    vline: float | None = None        # a dashed vertical line (the median)
    legend: str = "upper left"        # or "center right"
    ncol: int = 1


def _series(model, key: str, frame=None) -> np.ndarray:
    """One column of the model's time series (0 where it has none), as floats; `frame`: the
    series as a table already (``model.timeseries.frame()``), when a chart reads several."""
    if frame is None:
        frame = _frame(model)
    if frame is None or key not in frame:
        return np.zeros(0 if frame is None else len(frame))
    return frame[key].to_numpy(dtype=float)


def _frame(model):
    # One table per chart, not a dict per row: the rows' dicts of ~30 columns each were most
    # of a chart's time late in a run.
    return model.timeseries.frame() if len(model.timeseries) else None


def _days_xmax(days: np.ndarray) -> float:
    return max(float(days[-1]) if len(days) else 0.0, 1.0)


def disputes_spec(model, lang: str = "en") -> ChartSpec:
    """Open disputes at each mediation level over time (stacked)."""
    frame = _frame(model)
    days = _series(model, "day", frame)
    return ChartSpec(t("chart_disputes", lang), t("day_axis", lang), "stack", days,
                     [Series(t(lv, lang), _series(model, f"open_disputes_{lv}", frame), colour)
                      for lv, colour in LEVEL_COLOURS.items()], xmax=_days_xmax(days))


def response_times(model) -> dict[int, np.ndarray]:
    """Minutes from report to arrival of every incident reached so far, by priority."""
    out: dict[int, list[float]] = {}
    for inc in model.desk.incidents:
        if not math.isnan(inc.t_arrived):
            out.setdefault(inc.priority, []).append(inc.t_arrived - inc.t_reported)
    return {p: np.array(v) for p, v in sorted(out.items())}


def response_spec(model, lang: str = "en") -> ChartSpec:
    """Histogram of response times so far, stacked by priority, with the median."""
    by_p = response_times(model)
    spec = ChartSpec(t("chart_response", lang), t("minutes", lang), "hist", np.zeros(0),
                     legend="center right")
    if not by_p:
        spec.empty = t("no_arrivals", lang)
        return spec
    everything = np.concatenate(list(by_p.values()))
    top = max(30.0, float(np.percentile(everything, 98)))
    spec.x = np.linspace(0, top, 25)
    spec.xmax = top
    spec.series = [Series(t("priority", lang, p=p),
                          np.histogram(np.minimum(v, top), bins=spec.x)[0].astype(float),
                          PRIORITY_COLOURS.get(p, "#999999")) for p, v in by_p.items()]
    spec.vline = float(np.median(everything))
    spec.note = t("median", lang, m=spec.vline, n=len(everything))
    return spec


def busy_spec(model, lang: str = "en") -> ChartSpec:
    """Units busy on a job, by type, and the incidents waiting for one."""
    frame = _frame(model)
    days = _series(model, "day", frame)
    series = [Series(t(name, lang), _series(model, f"busy_units_{name}", frame),
                     UNIT_COLOURS.get(name, "#555555")) for name in model.cfg.scenario.units]
    series.append(Series(t("queued", lang), _series(model, "queued_incidents", frame), "#000000",
                         dashed=True))
    return ChartSpec(t("chart_busy", lang), t("day_axis", lang), "lines", days, series,
                     xmax=_days_xmax(days), ncol=2)


def draw_spec(ax, spec: ChartSpec) -> None:
    """Draw `spec` onto matplotlib axes."""
    ax.tick_params(labelsize=7)
    ax.set_title(spec.title, fontsize=9)
    ax.set_xlabel(spec.xlabel, fontsize=7)
    if spec.empty:
        ax.text(0.5, 0.5, spec.empty, ha="center", va="center", transform=ax.transAxes,
                fontsize=9, color="#777777")
        return
    if spec.kind == "stack":
        ax.stackplot(spec.x, *[s.y for s in spec.series], colors=[s.colour for s in spec.series],
                     labels=[s.label for s in spec.series], alpha=0.9)
    elif spec.kind == "lines":
        for s in spec.series:
            ax.plot(spec.x if s.x is None else s.x, s.y, lw=1.0 if s.dashed else 1.4,
                    ls="--" if s.dashed else "-", color=s.colour, label=s.label)
    else:
        bottom = np.zeros(len(spec.x) - 1)
        for s in spec.series:
            ax.bar(spec.x[:-1], s.y, width=np.diff(spec.x), bottom=bottom, align="edge",
                   color=s.colour, label=s.label, edgecolor="white", linewidth=0.4)
            bottom = bottom + s.y
    if spec.vline is not None:
        ax.axvline(spec.vline, color="black", lw=1, ls="--")
    if spec.note:
        ax.text(0.98, 0.95, spec.note, ha="right", va="top", transform=ax.transAxes, fontsize=7)
    ax.set_xlim(0, spec.xmax)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc=spec.legend, frameon=False, ncol=spec.ncol)


def draw_disputes(ax, model, lang: str = "en") -> None:
    draw_spec(ax, disputes_spec(model, lang))


def draw_response(ax, model, lang: str = "en") -> None:
    draw_spec(ax, response_spec(model, lang))


def draw_busy(ax, model, lang: str = "en") -> None:
    draw_spec(ax, busy_spec(model, lang))
