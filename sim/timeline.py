"""Timeline events: things that happen at set times in a scenario (a festival-night call surge,
mediators off sick, a wage dispute with forty workers), each a SimPy process.

Kinds (fields of ``sim.events.Event``):
- ``call_surge``: extra calls near hotspots of ``hotspot_kinds`` (all hotspots if empty), so the
  calls in their grids run at ``factor`` times normal for ``duration_days``;
- ``mediator_absence``: ``share`` of the mediators of ``mediator_kind`` (all kinds if omitted)
  take no cases and hold no sessions for ``duration_days``;
- ``unit_absence``: ``share`` of the units of ``unit_type`` (all types if omitted), only those of
  shift number ``shift`` if given, are off duty for ``duration_days``;
- ``dispute``: one dispute of ``category`` in ``community`` with ``severity``, ``amount_yuan``
  and ``parties`` (missing values drawn as usual);
- ``incident``: one incident of ``incident_kind`` in ``grid`` (or ``community``);
- ``note``: only a line in the narrative.

Communities and grids are numbered as on the map, from 1 (the output tables count from 0).

Extra calls and absences draw from their own stream, so the regular arrivals stay the same as
without the timeline (common random numbers).
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
        self.rng = model.streams["events"]
        for ev in events:
            model.env.process(self.happen(ev))

    def happen(self, ev: Event):
        env = self.model.env
        start = event_start_minutes(ev.at)
        if start > env.now:
            yield env.timeout(start - env.now)
        self.model.say(ev.note or f"{ev.kind.replace('_', ' ')} begins")
        action = getattr(self, f"_{ev.kind}")
        yield from action(ev)

    # ------------------------------------------------------------------ kinds

    def _note(self, ev: Event):
        return
        yield  # pragma: no cover - makes this a generator like the others

    def _call_surge(self, ev: Event):
        model, env = self.model, self.model.env
        d = model.district
        kinds = set(ev.hotspot_kinds) or set(d.hotspot_kind.tolist())
        spots = np.flatnonzero([k in kinds for k in d.hotspot_kind])
        if ev.factor <= 1 or len(spots) == 0:
            return
        grids = np.unique(d.hotspot_grid[spots])
        calls = model.cfg.scenario.calls
        normal_per_min = (calls.rate_per_1000_per_year * model.residents.n / 1000.0
                          / (365 * DAY)) * d.grid_pop[grids].sum() / max(d.grid_pop.sum(), 1)
        rate = (ev.factor - 1.0) * normal_per_min
        if rate <= 0:
            return
        kind_names = list(calls.kinds)
        kinds_cfg = list(calls.kinds.values())
        cum = np.cumsum([k.share for k in kinds_cfg])
        end = env.now + _window(ev)
        while True:
            gap = self.rng.exponential(1.0 / rate)
            if env.now + gap >= end:
                break
            yield env.timeout(gap)
            u = self.rng.random(3)
            k = min(int(np.searchsorted(cum, u[0] * cum[-1], side="right")), len(cum) - 1)
            h = spots[min(int(u[1] * len(spots)), len(spots) - 1)]
            x, y = d.near_hotspots(np.array([h]), self.rng)
            caller = min(int(u[2] * model.residents.n), model.residents.n - 1)
            model.desk.report("call", kind_names[k], kinds_cfg[k], float(x[0]), float(y[0]),
                              caller)
        if end < INF:
            yield env.timeout(max(end - env.now, 0.0))
            model.log("surge_over")

    def _mediator_absence(self, ev: Event):
        model = self.model
        pool = [m for m in model.mediation.mediators
                if ev.mediator_kind is None or m.kind == ev.mediator_kind]
        n = int(round(ev.share * len(pool)))
        if n == 0:
            return
        chosen = self.rng.choice(len(pool), size=n, replace=False)
        until = model.env.now + _window(ev)
        for i in sorted(chosen.tolist()):
            pool[i].absent_until = max(pool[i].absent_until, until)
        if until < INF:
            yield model.env.timeout(until - model.env.now)
            model.mediation.resume_waiting()
            model.log("mediators_back", n=n)

    def _unit_absence(self, ev: Event):
        model = self.model
        pool = [u for u in model.units
                if (ev.unit_type is None or u.unit_type == ev.unit_type)
                and (ev.shift is None or u.shift_index == ev.shift)]
        n = int(round(ev.share * len(pool)))
        if n == 0:
            return
        chosen = sorted(self.rng.choice(len(pool), size=n, replace=False).tolist())
        until = model.env.now + _window(ev)
        for i in chosen:
            model.set_unit_absent(pool[i], until)
        if until < INF:
            yield model.env.timeout(until - model.env.now)
            for i in chosen:
                model.set_unit_absent(pool[i], 0.0)
            model.log("units_back", n=n)

    def _dispute(self, ev: Event):
        self.model.mediation.inject(
            category=ev.category,
            community=None if ev.community is None else ev.community - 1,
            severity=ev.severity,
            amount_yuan=ev.amount_yuan, parties=ev.parties, rng=self.rng)
        return
        yield  # pragma: no cover

    def _incident(self, ev: Event):
        model = self.model
        d = model.district
        calls = model.cfg.scenario.calls
        name = ev.incident_kind or next(iter(calls.kinds))
        kind = calls.kinds[name]
        if ev.grid is not None:
            cell = d.grid_cells.pick(np.array([ev.grid - 1]), self.rng.random(1))
        elif ev.community is not None:
            cell = d.community_cells.pick(np.array([ev.community - 1]), self.rng.random(1))
        else:
            cell = self.rng.integers(d.n_cells, size=1)
        x, y = d.random_points_in_cells(cell, self.rng)
        model.desk.report("call", name, kind, float(x[0]), float(y[0]), -1,
                          priority=ev.priority)
        return
        yield  # pragma: no cover
