""""Run side by side": a second copy B of the page's run, same seed and timeline, other knobs.

B is built from A's Reset parameters, so both draw the same calls and disputes (common random
numbers); it runs from the start with A's live knobs as they are now and the trainer's B
settings (mentoring, unified platform, police strength).  After each of A's steps B runs to
A's minute, so the two always show the same clock and every difference comes from the knobs.
"""

from __future__ import annotations

import math

import numpy as np

from experiments.demo.charts import ChartSpec, Series, _frame, _series
from experiments.demo.model import DemoModel
from experiments.demo.text import t

COLOURS = {"a": "#1f77b4", "b": "#d62728"}


def twin(a: DemoModel, b_knobs: dict) -> DemoModel:
    """A fresh copy of `a`'s run with `a`'s live knobs, then `b_knobs` (keys: "mentoring",
    "platform", "police" as a share 0..1), run to `a`'s minute."""
    b = DemoModel(**a.params)
    knobs = a.knobs()
    knobs["strength"] = dict(knobs["strength"])
    knobs["mentoring"] = b_knobs["mentoring"]
    knobs["platform"] = b_knobs["platform"]
    # Set only if it differs: a strength knob takes over the roster (even at 100 %).
    if b_knobs["police"] != knobs["strength"].get("police", 1.0):
        knobs["strength"]["police"] = b_knobs["police"]
    b.apply_knobs(knobs)
    # Catch up through A's recorded minutes, so the charts have B's points where A's are.
    for row in a.timeseries:
        _run_to(b, row["t_min"])
    follow(b, a)
    return b


def follow(b: DemoModel, a: DemoModel) -> None:
    """Run `b` to `a`'s minute (after each of A's steps)."""
    _run_to(b, a.now)


def _run_to(b: DemoModel, minute: float) -> None:
    if b.now < minute and b.running:
        tick = b.tick_minutes
        b.tick_minutes = minute - b.now
        b.step()
        b.tick_minutes = tick


def b_knobs_of(b: DemoModel) -> dict:
    """B's settings of the knobs the panel offers."""
    k = b.knobs()
    return {"mentoring": k["mentoring"], "platform": k["platform"],
            "police": k["strength"].get("police", 1.0)}


def p90_response(model) -> float:
    """90th percentile of report-to-arrival minutes so far (NaN before any arrival)."""
    times = [i.t_arrived - i.t_reported for i in model.desk.incidents
             if not math.isnan(i.t_arrived)]
    return float(np.percentile(times, 90)) if times else math.nan


def summary(model) -> dict:
    """The numbers the panel compares."""
    ds = model.mediation.disputes
    return {"open": sum(d.is_open for d in ds),
            "settled": sum(d.outcome == "settled" for d in ds),
            "escalated": sum(d.escalations > 0 for d in ds),
            "violent": sum(d.outcome == "violent" for d in ds),
            "waiting": len(model.waiting()),
            "p90": p90_response(model)}


def difference_specs(a, b, lang: str = "en") -> list[ChartSpec]:
    """Open disputes and calls waiting over time, A against B (two charts)."""
    out = []
    for key, title in (("open_disputes", "sbs_open"), ("queued_incidents", "queued")):
        series = [Series(t(f"run_{name}", lang), _series(m, key, f), COLOURS[name],
                         dashed=name == "b", x=_series(m, "day", f))
                  for name, m, f in (("a", a, _frame(a)), ("b", b, _frame(b)))]
        xmax = max(max((float(s.x[-1]) for s in series if len(s.x)), default=0.0), 1.0)
        out.append(ChartSpec(t(title, lang), t("day_axis", lang), "lines", np.zeros(0), series,
                             xmax=xmax))
    return out
