"""The demo's live charts: open disputes by level, response times so far, busy units by type.

``draw_*(ax, model, lang)`` draw onto given axes (the animation's frame); ``*_chart(model, lang)``
return a new ``Figure`` holding one (the browser page)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from experiments.demo.map import LEVEL_COLOURS, PRIORITY_COLOURS
from experiments.demo.text import t

UNIT_COLOURS = {"police": "#1f77b4", "armed_patrol": "#2ca02c", "rapid_response": "#d62728",
                "guard": "#9467bd"}
SIZE = (5.6, 3.6)


def _figure() -> tuple[Figure, object]:
    fig = Figure(figsize=SIZE, dpi=90)
    return fig, fig.add_axes((0.12, 0.16, 0.84, 0.72))


def _series(model, key: str) -> np.ndarray:
    return np.array([row.get(key, 0) for row in model.timeseries], dtype=float)


def draw_disputes(ax, model, lang: str = "en") -> None:
    """Open disputes at each mediation level over time (stacked)."""
    days = _series(model, "day")
    levels = list(LEVEL_COLOURS)
    ys = [_series(model, f"open_disputes_{lv}") for lv in levels]
    ax.stackplot(days, *ys, colors=[LEVEL_COLOURS[lv] for lv in levels],
                 labels=[t(lv, lang) for lv in levels], alpha=0.9)
    ax.tick_params(labelsize=7)
    ax.set_title(t("chart_disputes", lang), fontsize=9)
    ax.set_xlabel(t("day_axis", lang), fontsize=7)
    ax.set_xlim(0, max(days[-1] if len(days) else 0, 1.0))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left", frameon=False)


def response_times(model) -> dict[int, np.ndarray]:
    """Minutes from report to arrival of every incident reached so far, by priority."""
    out: dict[int, list[float]] = {}
    for inc in model.desk.incidents:
        if not math.isnan(inc.t_arrived):
            out.setdefault(inc.priority, []).append(inc.t_arrived - inc.t_reported)
    return {p: np.array(v) for p, v in sorted(out.items())}


def draw_response(ax, model, lang: str = "en") -> None:
    """Histogram of response times so far, stacked by priority, with the median."""
    by_p = response_times(model)
    ax.tick_params(labelsize=7)
    ax.set_title(t("chart_response", lang), fontsize=9)
    ax.set_xlabel(t("minutes", lang), fontsize=7)
    if not by_p:
        ax.text(0.5, 0.5, t("no_arrivals", lang), ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#777777")
        return
    everything = np.concatenate(list(by_p.values()))
    top = max(30.0, float(np.percentile(everything, 98)))
    bins = np.linspace(0, top, 25)
    ax.hist([np.minimum(v, top) for v in by_p.values()], bins=bins, stacked=True,
            color=[PRIORITY_COLOURS.get(p, "#999999") for p in by_p],
            label=[t("priority", lang, p=p) for p in by_p], edgecolor="white", linewidth=0.4)
    med = float(np.median(everything))
    ax.axvline(med, color="black", lw=1, ls="--")
    ax.text(0.98, 0.95, t("median", lang, m=med, n=len(everything)), ha="right", va="top",
            transform=ax.transAxes, fontsize=7)
    ax.legend(fontsize=7, loc="center right", frameon=False)


def draw_busy(ax, model, lang: str = "en") -> None:
    """Units busy on a job, by type, and the incidents waiting for one."""
    days = _series(model, "day")
    for name in model.cfg.scenario.units:
        ax.plot(days, _series(model, f"busy_units_{name}"), lw=1.4,
                color=UNIT_COLOURS.get(name), label=t(name, lang))
    ax.plot(days, _series(model, "queued_incidents"), lw=1.0, ls="--", color="black",
            label=t("queued", lang))
    ax.tick_params(labelsize=7)
    ax.set_title(t("chart_busy", lang), fontsize=9)
    ax.set_xlabel(t("day_axis", lang), fontsize=7)
    ax.set_xlim(0, max(days[-1] if len(days) else 0, 1.0))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left", frameon=False, ncol=2)


def _chart(draw, model, lang: str) -> Figure:
    fig, ax = _figure()
    draw(ax, model, lang)
    return fig


def disputes_chart(model, lang: str = "en") -> Figure:
    """A figure of ``draw_disputes``."""
    return _chart(draw_disputes, model, lang)


def response_chart(model, lang: str = "en") -> Figure:
    """A figure of ``draw_response``."""
    return _chart(draw_response, model, lang)


def busy_chart(model, lang: str = "en") -> Figure:
    """A figure of ``draw_busy``."""
    return _chart(draw_busy, model, lang)
