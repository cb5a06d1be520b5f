"""The district model: a Mesa ``Model`` that owns the agents, the seed and the reporting, and a
SimPy ``Environment`` that owns time (minutes).

``model.step()`` advances the clock by one reporting tick (an hour by default) and records one
row of the time series, so a browser page can step it; ``Simulation.run`` just steps to the end.
"""

from __future__ import annotations

from collections import deque

import mesa
import numpy as np
import simpy

from agents.dispute import LEVELS, Dispute
from agents.mediator import KINDS as MEDIATOR_KINDS
from agents.patrol_unit import PatrolUnit
from agents.resident import Residents
from sim.clock import DAY
from sim.config import BREAKABLE_DUTIES, RunConfig
from sim.dispatch import Dispatcher
from sim.geography import Grouping, largest_remainder, load_district
from sim.incidents import CallArrivals, Incident, IncidentDesk, PatrolFinds
from sim.mediation import Mediation
from sim.records import TimeSeries
from sim.roads import Travel
from sim.streams import Streams
from sim.timeline import Timeline

UNIT_PREFIX = {"police": "P", "armed_patrol": "A", "rapid_response": "R", "guard": "G"}


def _spread_order(n: int) -> list[int]:
    """0..n-1 in an order that interleaves the list, so cutting its tail takes people from
    every grid, shift and community rather than a block of neighbours (bit-reversal order)."""
    bits = max(1, (n - 1).bit_length())
    return sorted(range(n), key=lambda i: int(f"{i:0{bits}b}"[::-1], 2))


class DistrictModel(mesa.Model):
    """One district: residents, mediators, patrol units and their processes on one clock."""

    def __init__(self, cfg: RunConfig, narrative: bool = False):
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        s = cfg.scenario
        self.streams = Streams(cfg.seed)
        self.env = simpy.Environment()
        self.district = load_district(s)      # the map: the same for every seed
        self.residents = Residents(self.district, s.residents, self.district.home_rng(),
                                   self.streams["residents"])
        self.busy_mediators = dict.fromkeys(MEDIATOR_KINDS, 0)
        self.deterred = 0
        # (minute, key, params) entries for the browser demo's log (rendered by sim/narrative.py);
        # None keeps the batch path free of the bookkeeping.
        self.narrative: deque[tuple] | None = deque(maxlen=500) if narrative else None

        self.units = self._build_units()
        self.travel = Travel(self.district, self.units,
                             {name: t.travel_mode for name, t in s.units.items()},
                             s.roads.congestion_by_hour, s.dispatch.travel)
        self.dispatcher = Dispatcher(self.env, self.units, self.district.n_grids, s.units,
                                     s.dispatch, self.streams["duties"], travel=self.travel)
        self.desk = IncidentDesk(self)
        self.mediation = Mediation(self, s.disputes, s.mediators)
        self._hotspots_by_grid = Grouping.of(self.district.hotspot_grid.astype(np.int64),
                                             self.district.n_grids)
        self._patrol_share = np.array([s.units[u.unit_type].patrol_hotspot_share
                                       for u in self.units])
        self._unit_grid = np.array([u.home_grid for u in self.units], dtype=np.int64)

        self._handover_overlap = self._handover_overlaps()
        self._start_processes()
        self.timeline = Timeline(self, s.events)
        self.tick_minutes = cfg.sim.tick_minutes
        self.end_minutes = cfg.sim.days * DAY
        self.timeseries = TimeSeries()   # one row per tick, stored by column
        self._record()

    # ------------------------------------------------------------------ construction

    def _build_units(self) -> list[PatrolUnit]:
        """Each unit type's per-shift strength spread over the grids: every grid gets an equal
        base, the remainder goes by population (or, for hotspot forces, by hotspot count).
        With fewer units than grids, one each to the grids with the most, so as many grids as
        possible have a unit of their own."""
        s, d = self.cfg.scenario, self.district
        units: list[PatrolUnit] = []
        for type_name, t in s.units.items():
            if t.hotspot_grids_only and len(d.hotspot_grid):
                weights = np.bincount(d.hotspot_grid, minlength=d.n_grids).astype(float)
                grids = np.flatnonzero(weights > 0)
                weights = weights[grids]
            else:
                grids = np.arange(d.n_grids)
                weights = d.grid_pop.astype(float)
            if t.per_shift < len(grids):
                per_grid = np.zeros(len(grids), dtype=np.int64)
                per_grid[np.argsort(-weights, kind="stable")[:t.per_shift]] = 1
            else:
                per_grid = largest_remainder(weights, t.per_shift,
                                             minimum=t.per_shift // len(grids))
            prefix = UNIT_PREFIX.get(type_name, type_name[:1].upper())
            number = 0
            for shift_index, start_h in enumerate(t.shifts):
                for g, n in zip(grids, per_grid, strict=True):
                    for _ in range(int(n)):
                        number += 1
                        units.append(PatrolUnit(
                            self, len(units), type_name, f"{prefix}-{number:02d}", int(g),
                            t.speed_kmh, t.turnout_min, float(start_h), float(t.shift_hours),
                            shift_index))
        return units

    def _handover_overlaps(self) -> list[float]:
        """Per unit, the minutes it stays on after its shift: the hand-over of the crew of its
        kind that starts as it ends (none if no crew starts then)."""
        types = self.cfg.scenario.units
        overlap = []
        for u in self.units:
            t = types[u.unit_type]
            end_h = (u.shift_start_h + u.shift_hours) % 24.0
            relieved = u.shift_hours < 24 and any(abs(h % 24.0 - end_h) < 1e-9 for h in t.shifts)
            overlap.append(t.handover_min if relieved else 0.0)
        return overlap

    def _start_processes(self) -> None:
        s, env = self.cfg.scenario, self.env
        rosters: dict[tuple, list[PatrolUnit]] = {}
        for u in self.units:
            rosters.setdefault((u.shift_start_h, u.shift_hours), []).append(u)
        for (start_h, hours), crew in rosters.items():
            if hours >= 24:
                self._go_on_duty(crew)
            else:
                env.process(self.roster(crew, start_h * 60.0, hours * 60.0))
        self.call_arrivals: CallArrivals | None = None   # a timeline's call surge adds to it
        if s.calls.enabled:
            self.call_arrivals = CallArrivals(self, s.calls, self.streams["calls"])
            env.process(self.call_arrivals.process())
            env.process(PatrolFinds(self, s.calls, self.streams["found"]).process())
        if s.disputes.enabled:
            env.process(self.mediation.arrivals())
        if self.cfg.sim.warmup_days > 0:
            env.process(self._end_warmup(self.cfg.sim.warmup_days * DAY))

    # ------------------------------------------------------------------ processes

    def _end_warmup(self, at: float):
        """SimPy process: the running counts the metrics read beside the tables (dispute calls
        and their outcomes, violence outside the stations, severity at intake) start again when
        the warm-up ends, as the tables' records from the warm-up are left out."""
        yield self.env.timeout(at)
        self.mediation.conflicts.reset_counts()
        self.mediation.police.reset_counts()
        self.deterred = 0
        self.dispatcher.duties_broken = 0

    def roster(self, crew: list[PatrolUnit], start: float, length: float):
        """SimPy process: a crew's daily shift, on at `start` (minutes past midnight) for
        `length` minutes; a shift that began the evening before the run starts on duty (and
        one that ends at midnight stays on for the midnight crew's hand-over)."""
        env = self.env
        overlap = max(self._handover_overlap[u.index] for u in crew)
        if start + length > DAY or (start + length == DAY and overlap > 0):
            self._go_on_duty(crew)
            yield env.timeout(start + length - DAY)
            self._off_duty(crew)
        next_on = start
        while True:
            yield env.timeout(next_on - env.now)
            self._go_on_duty(crew)
            yield env.timeout(length)
            self._off_duty(crew)
            next_on += DAY

    def _off_duty(self, crew: list[PatrolUnit]) -> None:
        """The crew's shift is over.  Where the next crew of its kind starts now with a
        hand-over briefing, the units stay on patrol until the briefing is done: shifts overlap
        by the hand-over, so no hour of the day is left without the force."""
        for u in crew:
            stay = self._handover_overlap[u.index]
            if stay > 0:
                self.env.timeout(stay).callbacks.append(
                    lambda _event, u=u: self.dispatcher.shift_end(u))
            else:
                self.dispatcher.shift_end(u)

    def _go_on_duty(self, crew: list[PatrolUnit]) -> None:
        """The crew starts its shift at a point of its beat (units still busy stay put)."""
        crew = [u for u in crew if self.env.now >= u.absent_until]
        idle = [u for u in crew if not u.busy]
        if idle:
            x, y = self._patrol_points([u.index for u in idle])
            for u, ux, uy in zip(idle, x.tolist(), y.tolist(), strict=True):
                self.dispatcher.move(u, ux, uy)
                u.beat_x, u.beat_y = ux, uy
        for u in crew:
            self.dispatcher.shift_start(u)

    def _patrol_points(self, idx) -> tuple[np.ndarray, np.ndarray]:
        """Where units `idx` patrol next: near a hotspot of their grid (with their type's
        share) or anywhere in it."""
        idx = np.asarray(idx, dtype=np.int64)
        d, rng = self.district, self.streams["movement"]
        u = rng.random((4, len(idx)))
        grids = self._unit_grid[idx]
        cells = d.grid_cells.pick(grids, u[0])
        x, y = d.random_points_in_cells(cells, rng)
        has_hot = self._hotspots_by_grid.count(grids) > 0
        at_hot = has_hot & (u[1] < self._patrol_share[idx])
        if at_hot.any():
            h = self._hotspots_by_grid.pick(grids[at_hot], u[2][at_hot])
            hx, hy = d.near_hotspots(h, rng)
            x[at_hot], y[at_hot] = hx, hy
        return x, y

    def return_to_patrol(self, unit: PatrolUnit) -> None:
        """After clearing, the unit drives back to its last beat point; it can be sent to a new
        job on the way (from wherever it has got to)."""
        if unit.state != "returning":
            return
        x, y = unit.beat_x, unit.beat_y
        back = self.dispatcher.travel_time(unit, x, y)
        epoch = unit.epoch

        def arrive(_event, unit=unit, epoch=epoch, x=x, y=y):
            if unit.epoch == epoch and unit.state == "returning":
                unit.state = "patrolling"
                unit.trip = None
                self.dispatcher.move(unit, x, y)

        if back <= 0:
            arrive(None)
        else:
            unit.trip = self.travel.trip(unit, x, y, self.env.now, self.env.now + back)
            self.env.timeout(back).callbacks.append(arrive)

    def _move_patrols(self) -> None:
        """Once a tick, every unit on patrol moves to a new point of its beat, and units on
        their way back move along their drive (they are free: dispatch and patrol presence
        read where they are).  A unit driving to a job is busy, so no one asks where it is
        until it arrives (the page draws it from its trip)."""
        now = self.env.now
        for u in self.units:
            if u.trip is not None and u.state == "returning":
                self.dispatcher.move(u, *u.position_on_trip(now))
        idx = [u.index for u in self.units if u.state == "patrolling"]
        if not idx:
            return
        x, y = self._patrol_points(idx)
        self.dispatcher.move_many(idx, x, y)
        for i in idx:
            u = self.units[i]
            u.beat_x, u.beat_y = u.x, u.y

    # ------------------------------------------------------------------ stepping

    @property
    def now(self) -> float:
        """Simulated minutes since the start."""
        return self.env.now

    def step(self) -> None:
        """Advance one reporting tick (or to the end of the run) and record the time series."""
        target = min(self.steps * self.tick_minutes, self.end_minutes)
        if target > self.env.now:
            self.env.run(until=target)
        self._move_patrols()
        self._record()
        if target >= self.end_minutes:
            self.running = False

    def _record(self) -> None:
        row = {"t_min": self.env.now, "day": self.env.now / DAY}
        open_levels = self.mediation.open_by_level
        row["open_disputes"] = sum(open_levels.values())
        for level in LEVELS:
            row[f"open_disputes_{level}"] = open_levels[level]
        for kind in MEDIATOR_KINDS:
            row[f"busy_mediators_{kind}"] = self.busy_mediators[kind]
        for name in self.cfg.scenario.units:
            row[f"busy_units_{name}"] = self.dispatcher.busy_by_type[name]
        row["queued_incidents"] = self.dispatcher.queued
        row["incidents_reported"] = len(self.desk.incidents)
        row["disputes_raised"] = len(self.mediation.disputes)
        row["mean_satisfaction"] = self.residents.mean_satisfaction
        self.timeseries.append(row)

    # ------------------------------------------------------------------ live knobs

    def set_unit_absent(self, unit: PatrolUnit, until: float) -> None:
        """Take a unit off the roster until `until` (0 puts it back now)."""
        now = self.env.now
        unit.absent_until = until
        if until > now:
            self.dispatcher.shift_end(unit)
        elif unit.in_shift(now) and not unit.on_duty:
            self._go_on_duty([unit])

    def set_unit_strength(self, unit_type: str, share: float) -> None:
        """Keep only `share` (0-1) of a unit type on the roster from now on (trainer knob)."""
        units = [u for u in self.units if u.unit_type == unit_type]
        keep = int(round(share * len(units)))
        for rank, i in enumerate(_spread_order(len(units))):
            self.set_unit_absent(units[i], 0.0 if rank < keep else float("inf"))

    def set_mediator_strength(self, kind: str, share: float) -> None:
        """Keep only `share` (0-1) of the mediators of `kind` taking cases (trainer knob)."""
        meds = [m for m in self.mediation.mediators if m.kind == kind]
        keep = int(round(share * len(meds)))
        for rank, i in enumerate(_spread_order(len(meds))):
            meds[i].away(self.env.now, 0.0 if rank < keep else float("inf"))
        self.mediation.resume_waiting()

    def set_dispatch_rule(self, rule: str) -> None:
        self.cfg.scenario.dispatch.rule = rule
        self.dispatcher.rule = rule

    def set_unified_platform(self, on: bool) -> None:
        self.cfg.scenario.dispatch.unified_platform = on
        self.desk.set_handoffs()
        self.mediation.set_handoff()

    def set_mentoring(self, on: bool) -> None:
        self.cfg.scenario.mediators.mentoring = on

    def set_meals_on_call(self, on: bool) -> None:
        """Let priority-1 calls take units from their meal breaks (from the next meal on), or
        stop it (units at their meal now are left to eat)."""
        d = self.cfg.scenario.dispatch
        duties = set(d.p1_breaks_duties) - {"meal"} | ({"meal"} if on else set())
        d.p1_breaks_duties = [x for x in BREAKABLE_DUTIES if x in duties]
        self.dispatcher.drop_off_call()

    # ------------------------------------------------------------------ narrative

    def log(self, key: str, **params) -> None:
        """Record a narrative entry (see sim/narrative.py) if a narrative was asked for."""
        if self.narrative is not None:
            self.narrative.append((self.env.now, key, params))

    def say(self, text: str) -> None:
        """A free-text line in the narrative (timeline notes)."""
        self.log("note", text=text)

    def narrative_lines(self, lang: str = "en", last: int = 50) -> list[str]:
        """The latest narrative entries as lines, newest last."""
        from sim.narrative import render

        if self.narrative is None:
            return []
        return [render(e, lang) for e in list(self.narrative)[-last:]]

    def narrate_incident(self, inc: Incident) -> None:
        if self.narrative is not None:
            self.log("incident_reported", kind=inc.kind, grid=inc.grid + 1, priority=inc.priority,
                     id=inc.incident_id)

    def narrate_dispute(self, d: Dispute) -> None:
        if self.narrative is not None:
            self.log("dispute_closed", category=d.category, community=d.community + 1,
                     outcome=d.outcome, level=d.level, id=d.dispute_id)
