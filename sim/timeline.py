"""Timeline events: things that happen at set times in a scenario (a festival-night call surge,
mediators off sick, a wage dispute with forty workers), each a SimPy process.

Kinds (fields of ``sim.events.Event``):
- ``call_surge``: the calls in the grids that hold hotspots of ``hotspot_kinds`` (all hotspots if
  empty) run at ``factor`` times their normal rate, hour by hour, for ``duration_days``;
- ``mediator_absence``: ``share`` of the mediators of ``mediator_kind`` (all kinds if omitted)
  take no cases and hold no sessions for ``duration_days``;
- ``unit_absence``: ``share`` of the units of ``unit_type`` (all types if omitted), only those of
  shift number ``shift`` if given, are off duty for ``duration_days``;
- ``dispute``: one dispute of ``category`` in ``community`` with ``severity``, ``amount_yuan``
  and ``parties`` (missing values drawn as usual);
- ``incident``: one incident of ``incident_kind`` in ``grid`` (or ``community``);
- ``note``: only a line in the narrative.

Communities and grids are numbered as on the map, from 1 (the output tables count from 0).

Each event draws from a stream of its own (the timeline's stream keyed by the event's place in
the list), so the regular arrivals stay the same as without the timeline, and one event's draws
do not shift another's: who is absent on day 3 is the same whether an earlier absence chose
among 900 mediators or 450 (common random numbers across staffing variants).
"""

from __future__ import annotations

import math

import numpy as np

from sim.clock import DAY
from sim.events import Event, event_start_minutes

INF = math.inf


def _window(ev: Event) -> float:
    return INF if ev.duration_days is None else ev.duration_days * DAY


class Timeline:
    """Starts one process per scheduled event on the model's clock."""

    def __init__(self, model, events: list[Event]):
        self.model = model
        for i, ev in enumerate(events):
            model.env.process(self.happen(ev, model.streams.derived("events", i)))

    def happen(self, ev: Event, rng: np.random.Generator):
        env = self.model.env
        start = event_start_minutes(ev.at)
        if start > env.now:
            yield env.timeout(start - env.now)
        self.model.say(ev.note or f"{ev.kind.replace('_', ' ')} begins")
        action = getattr(self, f"_{ev.kind}")
        yield from action(ev, rng)

    # ------------------------------------------------------------------ kinds

    def _note(self, ev: Event, rng: np.random.Generator):
        return
        yield  # pragma: no cover - makes this a generator like the others

    def _call_surge(self, ev: Event, rng: np.random.Generator):
        model = self.model
        d = model.district
        kinds = set(ev.hotspot_kinds) or set(d.hotspot_kind.tolist())
        spots = np.flatnonzero([k in kinds for k in d.hotspot_kind])
        arrivals = model.call_arrivals
        if ev.factor <= 1 or len(spots) == 0 or arrivals is None:
            return
        grids = set(np.unique(d.hotspot_grid[spots]).tolist())
        end = model.env.now + _window(ev)
        yield from arrivals.surge(ev.factor, grids, end, rng)
        if end < INF:
            model.log("surge_over")

    def _mediator_absence(self, ev: Event, rng: np.random.Generator):
        model = self.model
        pool = [m for m in model.mediation.mediators
                if ev.mediator_kind is None or m.kind == ev.mediator_kind]
        n = int(round(ev.share * len(pool)))
        if n == 0:
            return
        chosen = rng.choice(len(pool), size=n, replace=False)
        until = model.env.now + _window(ev)
        for i in sorted(chosen.tolist()):
            pool[i].away(model.env.now, max(pool[i].absent_until, until))
        if until < INF:
            yield model.env.timeout(until - model.env.now)
            model.mediation.resume_waiting()
            model.log("mediators_back", n=n)

    def _unit_absence(self, ev: Event, rng: np.random.Generator):
        model = self.model
        pool = [u for u in model.units
                if (ev.unit_type is None or u.unit_type == ev.unit_type)
                and (ev.shift is None or u.shift_index == ev.shift)]
        n = int(round(ev.share * len(pool)))
        if n == 0:
            return
        chosen = sorted(rng.choice(len(pool), size=n, replace=False).tolist())
        until = model.env.now + _window(ev)
        for i in chosen:
            model.set_unit_absent(pool[i], until)
        if until < INF:
            yield model.env.timeout(until - model.env.now)
            for i in chosen:
                model.set_unit_absent(pool[i], 0.0)
            model.log("units_back", n=n)

    def _dispute(self, ev: Event, rng: np.random.Generator):
        self.model.mediation.inject(
            category=ev.category,
            community=None if ev.community is None else ev.community - 1,
            severity=ev.severity,
            amount_yuan=ev.amount_yuan, parties=ev.parties, rng=rng)
        return
        yield  # pragma: no cover

    def _incident(self, ev: Event, rng: np.random.Generator):
        model = self.model
        d = model.district
        calls = model.cfg.scenario.calls
        name = ev.incident_kind or next(iter(calls.kinds))
        kind = calls.kinds[name]
        if ev.grid is not None:
            cell = d.grid_cells.pick(np.array([ev.grid - 1]), rng.random(1))
        elif ev.community is not None:
            cell = d.community_cells.pick(np.array([ev.community - 1]), rng.random(1))
        else:
            cell = rng.integers(d.n_cells, size=1)
        x, y = d.random_points_in_cells(cell, rng)
        model.desk.report("call", name, kind, float(x[0]), float(y[0]), -1,
                          priority=ev.priority)
        return
        yield  # pragma: no cover
