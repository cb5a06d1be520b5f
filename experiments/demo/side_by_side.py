""""Run side by side": a second copy B of the page's run, same seed and timeline, other knobs.

B is built from A's Reset parameters, so both draw the same calls and disputes (common random
numbers).  B has its own mentoring, unified-platform, meals-on-call and police-strength knobs,
from the start;
every other knob change A made (dispatch rule, other forces' strength, ...) B makes at the same
minute, before B is switched on as after.  After each of A's steps B runs to A's minute, so the
two always show the same clock and every difference comes from B's own knobs.
"""

from __future__ import annotations

import math

import numpy as np

from experiments.demo.charts import ChartSpec, Series, _frame, _series
from experiments.demo.model import DemoModel
from experiments.demo.text import t

COLOURS = {"a": "#1f77b4", "b": "#d62728"}


def twin(a: DemoModel, b_knobs: dict) -> DemoModel:
    """A fresh copy of `a`'s run with `b_knobs` (keys: "mentoring", "platform", "meals",
    "police" as a share 0..1) from the start and `a`'s other knob changes at their minutes,
    run to `a`'s minute."""
    b = DemoModel(**a.params)
    b.taken_from_a = 0        # how many of A's knob changes B has made
    _take(b, b.knobs(), b_knobs)
    # Catch up through A's recorded minutes (so the charts have B's points where A's are) and
    # the minutes A changed a knob.
    for minute in sorted({row["t_min"] for row in a.timeseries} | {m for m, _ in a.knob_log}):
        _run_to(b, minute)
        _catch_up(b, a)
    follow(b, a)
    return b


def follow(b: DemoModel, a: DemoModel) -> None:
    """Make A's knob changes since the last call, then run `b` to `a`'s minute (after each of
    A's steps)."""
    _catch_up(b, a)
    _run_to(b, a.now)


def _catch_up(b: DemoModel, a: DemoModel) -> None:
    own = b_knobs_of(b)
    while b.taken_from_a < len(a.knob_log) and a.knob_log[b.taken_from_a][0] <= b.now:
        _take(b, a.knob_log[b.taken_from_a][1], own)
        b.taken_from_a += 1


def _take(b: DemoModel, knobs: dict, own: dict) -> None:
    """Set `knobs` on B, except B's own (mentoring, platform, meals, police strength)."""
    knobs = {**knobs, "strength": dict(knobs["strength"]), "mentoring": own["mentoring"],
             "platform": own["platform"], "meals": own["meals"], "tick": b.tick_minutes}
    # Set only if it differs: a strength knob takes over the roster (even at 100 %).
    if own["police"] != knobs["strength"].get("police", 1.0):
        knobs["strength"]["police"] = own["police"]
    b.apply_knobs(knobs)


def _run_to(b: DemoModel, minute: float) -> None:
    if b.now < minute and b.running:
        tick = b.tick_minutes
        b.tick_minutes = minute - b.now
        b.step()
        b.tick_minutes = tick


def b_knobs_of(b: DemoModel) -> dict:
    """B's settings of the knobs the panel offers."""
    k = b.knobs()
    return {"mentoring": k["mentoring"], "platform": k["platform"], "meals": k["meals"],
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
