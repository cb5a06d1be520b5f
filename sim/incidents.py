"""Incidents: how they arise (resident calls, disputes turning violent, patrols finding them)
and the story of each one, from report to clearance.

Common random numbers: everything intrinsic to an incident (its kind, place, on-scene time,
the caller's patience, the report-writing time...) comes from uniforms drawn for that incident
alone when it arises, so two staffing variants with the same seed see the same demand, whichever
unit takes each call and when.  Sources other than calls and patrol finds (a dispute turning
violent, a timeline event; later, dispute-related calls) call ``IncidentDesk.report`` and may
pass their own ``IncidentDraws``; without them the draws come from the ``incident_draws`` stream
in the order the incidents are reported.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from functools import partial
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from sim.clock import DAY
from sim.config import Calls, IncidentKind
from sim.records import RecordBook

NAN = math.nan
INF = math.inf
BLOCK = 1024   # candidates drawn per numpy call (numpy's per-call cost dominates otherwise)


@dataclass(slots=True)
class Incident:
    """One incident; times in minutes since the start, NaN until reached."""

    incident_id: int
    source: str            # call | dispute | patrol
    kind: str
    priority: int
    violent: bool
    grid: int
    community: int
    x: float
    y: float
    caller: int            # resident id, -1 if none
    t_reported: float
    t_dispatched: float = NAN
    t_arrived: float = NAN
    t_cleared: float = NAN
    unit_id: str = ""
    unit_type: str = ""
    cross_grid: bool = False
    overflow: bool = False
    support_unit_id: str = ""
    abandoned: bool = False     # the caller gave up before a unit was sent
    t_abandoned: float = NAN
    t_unit_free: float = NAN    # the primary unit had written it up and was free again

    @property
    def finished(self) -> bool:
        """Nothing more will happen to this record."""
        return self.overflow or self.abandoned or not math.isnan(self.t_unit_free)


class IncidentDraws(NamedTuple):
    """An incident's own uniforms for what happens to it after it is reported."""

    scene: float            # on-scene time of the primary unit
    patience: float         # how long the caller waits for a unit
    report: float           # report-writing time of the primary unit
    support_scene: float    # on-scene time of a supporting rapid-response team
    support_report: float


N_DRAWS = len(IncidentDraws._fields)


class ServiceTimes:
    """On-scene and report-writing durations: lognormal with the configured CV, or
    exponential, each from the incident's own uniform (inverse CDF)."""

    def __init__(self, cfg: Calls):
        self.exponential = cfg.service_distribution == "exponential"
        self.sigma = math.sqrt(math.log(1 + cfg.service_cv**2))
        self.override = None if cfg.mean_service_hours is None else cfg.mean_service_hours * 60

    def draw(self, mean_min: float, u: float) -> float:
        """One on-scene time of the given mean (or of the override, in the hypercube test)."""
        return self.duration(self.override if self.override is not None else mean_min, u)

    def duration(self, mean_min: float, u: float) -> float:
        if mean_min <= 0:
            return 0.0
        u = min(max(u, 1e-12), 1.0 - 1e-12)
        if self.exponential:
            return -mean_min * math.log1p(-u)
        return mean_min * math.exp(-self.sigma**2 / 2 + self.sigma * _STD_NORMAL.inv_cdf(u))


_STD_NORMAL = NormalDist()


class PatrolPresence:
    """How much patrol a place gets: units free on patrol per km², i.e. patrol hours per km²
    per hour, in a grid or at a hotspot; and the share of deterrable calls it prevents,
    ``deterrence · (1 − exp(−intensity / scale))``: none without patrol, saturating at the
    maximum ``deterrence``."""

    def __init__(self, model, cfg: Calls):
        district = model.district
        self.dispatcher = model.dispatcher
        self.grid_km2 = (district.grid_cells.count(np.arange(district.n_grids))
                         * district.cell_km**2).astype(float).tolist()
        self.hx, self.hy = district.hx.tolist(), district.hy.tolist()
        self.radius = district.hotspot_radius_km
        self.max_share = cfg.deterrence
        self.scale = cfg.deterrence_scale_per_km2

    def in_grid(self, grid: int) -> float:
        return self.dispatcher.patrolling_in_grid[grid] / self.grid_km2[grid]

    def at_hotspot(self, h: int) -> float:
        r = self.radius
        return self.dispatcher.free_near(self.hx[h], self.hy[h], r) / (2 * r) ** 2

    def deterred_share(self, intensity: float) -> float:
        return self.max_share * -math.expm1(-intensity / self.scale)


class Places:
    """Where incidents happen: at a hotspot (a share of them) or at a resident's home, or, in
    validation runs, in a grid drawn from the per-grid rates.  Each place comes from five
    uniforms of the incident."""

    def __init__(self, model, cfg: Calls):
        self.model = model
        self.district = model.district
        self.hotspot_share = cfg.hotspot_share
        self.n_hotspots = len(self.district.hx)
        # Plain floats: numpy scalars make every step of the arithmetic below slower.
        self.hx, self.hy = self.district.hx.tolist(), self.district.hy.tolist()
        rates = cfg.rate_per_grid_per_hour
        self.grid_cum = None
        if rates is not None and sum(rates) > 0:
            self.grid_cum = (np.cumsum(rates) / sum(rates)).tolist()

    def draw(self, u_person: float, u_where: float, u_spot: float, u_x: float, u_y: float):
        """(x, y, hotspot index or -1, resident id)."""
        d, residents = self.district, self.model.residents
        person = min(int(u_person * residents.n), residents.n - 1)
        if self.grid_cum is not None:
            grid = min(bisect_right(self.grid_cum, u_where), d.n_grids - 1)
            cell = d.grid_cells.pick(np.array([grid]), np.array([u_spot]))[0]
            return (d.cx[cell] + (u_x - 0.5) * d.cell_km, d.cy[cell] + (u_y - 0.5) * d.cell_km,
                    -1, person)
        if self.n_hotspots and u_where < self.hotspot_share:
            h = min(int(u_spot * self.n_hotspots), self.n_hotspots - 1)
            r = d.hotspot_radius_km
            return (min(max(self.hx[h] + (2 * u_x - 1) * r, 0.0), d.side_km),
                    min(max(self.hy[h] + (2 * u_y - 1) * r, 0.0), d.side_km), h, person)
        return float(residents.x[person]), float(residents.y[person]), -1, person


class CallArrivals:
    """Resident calls for service: a Poisson stream shaped by hour of day and weekday, thinned
    by patrol presence for deterrable kinds.

    The k-th call of a run takes the k-th exponential and the k-th row of uniforms, whether or
    not patrol deters it, and carries in that row everything about itself (common random
    numbers): kind, caller, place, its deterrence draw and its ``IncidentDraws``.
    """

    # Columns of a call's row of uniforms.
    KIND, CALLER, WHERE, SPOT, X, Y, DETER = range(7)
    WIDTH = 7 + N_DRAWS

    def __init__(self, model, cfg: Calls, rng: np.random.Generator):
        self.model = model
        self.cfg = cfg
        self.rng = rng
        hourly = np.asarray(cfg.hourly_profile, dtype=float)
        weekly = np.asarray(cfg.weekday_profile, dtype=float)
        self.hourly = hourly / hourly.mean()
        self.weekly = weekly / weekly.mean()
        if cfg.rate_per_grid_per_hour is not None:
            self.base_per_min = sum(cfg.rate_per_grid_per_hour) / 60.0
        else:
            people = model.residents.n
            self.base_per_min = cfg.rate_per_1000_per_year * people / 1000.0 / (365 * DAY)
        self.kind_names = list(cfg.kinds)
        self.kinds: list[IncidentKind] = list(cfg.kinds.values())
        self.kind_cum = np.cumsum([k.share for k in self.kinds]).tolist()
        self.hourly_l = self.hourly.tolist()
        self.weekly_l = self.weekly.tolist()
        self.places = Places(model, cfg)
        self.presence = PatrolPresence(model, cfg)

    def process(self):
        """SimPy process: generate calls until the end of the run."""
        env = self.model.env
        if self.base_per_min <= 0:
            return
        timeout = env.timeout   # bound once: SimPy makes a new bound method on each lookup
        t = env.now
        while True:
            work = self.rng.exponential(1.0, BLOCK).tolist()
            rows = self.rng.random((BLOCK, self.WIDTH)).tolist()
            for e, u in zip(work, rows, strict=True):
                t = self._after(t, e)
                yield timeout(t - env.now)
                self._call(u)

    def _after(self, t: float, e: float) -> float:
        """The time at which the rate, constant within each hour, has accumulated `e` expected
        calls since `t` (an inhomogeneous Poisson stream by inversion: no rejected
        candidates)."""
        while True:
            day, rest = divmod(t, DAY)
            hour = int(rest // 60)
            rate = self.base_per_min * self.hourly_l[hour] * self.weekly_l[int(day) % 7]
            end = day * DAY + (hour + 1) * 60.0
            if rate * (end - t) >= e:
                return t + e / rate
            e -= rate * (end - t)
            t = end

    def surge(self, factor: float, grids: set[int], end: float, rng: np.random.Generator):
        """SimPy process: until `end`, calls in `grids` run at `factor` times their normal rate.
        Extra candidate calls come at (factor − 1) times the whole district's rate, hour by
        hour, and are placed as regular calls are; those that land in `grids` happen (and may
        be deterred as any call), so the extra calls there follow the regular calls' place,
        kind and timing exactly."""
        env = self.model.env
        if self.base_per_min <= 0:
            return   # no calls to multiply
        t = env.now
        while True:
            t = self._after(t, rng.exponential() / (factor - 1.0))
            if t >= end:
                yield env.timeout(end - env.now)
                return
            yield env.timeout(t - env.now)
            self._call(rng.random(self.WIDTH).tolist(), grids)

    def _call(self, u: list[float], grids: set[int] | None = None) -> None:
        model, district = self.model, self.model.district
        kind_i = min(bisect_right(self.kind_cum, u[self.KIND] * self.kind_cum[-1]),
                     len(self.kinds) - 1)
        kind = self.kinds[kind_i]
        x, y, hotspot, caller = self.places.draw(u[self.CALLER], u[self.WHERE], u[self.SPOT],
                                                 u[self.X], u[self.Y])
        if grids is not None and int(district.cell_grid[district.cell_at(x, y)]) not in grids:
            return
        if kind.deterrable and self.cfg.deterrence > 0:
            presence = self.presence
            intensity = (presence.at_hotspot(hotspot) if hotspot >= 0 and presence.radius > 0
                         else presence.in_grid(int(district.cell_grid[district.cell_at(x, y)])))
            if u[self.DETER] < presence.deterred_share(intensity):
                model.deterred += 1
                return
        model.desk.report("call", self.kind_names[kind_i], kind, x, y, caller,
                          draws=IncidentDraws(*u[7:]))


class PatrolFinds:
    """Incidents found on patrol.

    Findable incidents (suspicious activity, disorder) happen where people are at a rate that
    does not depend on staffing; each is found if a unit patrols close enough, with probability
    ``1 − exp(−n·s/A)`` for n units free on patrol in its grid of area A, s the area one unit
    watches (``found_sweep_km2``).  At low patrol intensity that is ``found_per_patrol_hour``
    per patrolling unit-hour; more patrol finds more, with diminishing returns.  Every candidate
    has its own row of uniforms (place, the found-or-not draw, which unit, kind, durations), so
    staffing variants see the same candidates, and a candidate found in both is the same
    incident in both.
    """

    WHERE, SPOT, X, Y, PERSON, FOUND, WHO, KIND = range(8)
    WIDTH = 8 + N_DRAWS

    def __init__(self, model, cfg: Calls, rng: np.random.Generator):
        self.model = model
        self.rng = rng
        self.names = list(cfg.found_kinds)
        self.kinds = list(cfg.found_kinds.values())
        self.cum = np.cumsum([k.share for k in self.kinds]).tolist() if self.kinds else []
        self.sweep = cfg.found_sweep_km2
        self.places = Places(model, cfg)
        self.presence = PatrolPresence(model, cfg)
        area = sum(self.presence.grid_km2)
        # Candidates per minute over the whole district.
        self.rate_per_min = cfg.found_per_patrol_hour / self.sweep * area / 60.0

    def process(self):
        env = self.model.env
        if self.rate_per_min <= 0 or not self.kinds or not self.model.dispatcher.units:
            return
        timeout = env.timeout
        while True:
            gaps = self.rng.exponential(1.0 / self.rate_per_min, BLOCK).tolist()
            rows = self.rng.random((BLOCK, self.WIDTH)).tolist()
            for gap, u in zip(gaps, rows, strict=True):
                yield timeout(gap)
                self._candidate(u)

    def _candidate(self, u: list[float]) -> None:
        model = self.model
        district, dispatcher = model.district, model.dispatcher
        x, y, _, _ = self.places.draw(u[self.PERSON], u[self.WHERE], u[self.SPOT], u[self.X],
                                      u[self.Y])
        grid = int(district.cell_grid[district.cell_at(x, y)])
        n = dispatcher.patrolling_in_grid[grid]
        if n == 0 or u[self.FOUND] >= -math.expm1(-n * self.sweep / self.presence.grid_km2[grid]):
            return
        patrols = [unit for unit in dispatcher.by_grid[grid] if unit.free]
        unit = patrols[min(int(u[self.WHO] * len(patrols)), len(patrols) - 1)]
        k = min(bisect_right(self.cum, u[self.KIND] * self.cum[-1]), len(self.kinds) - 1)
        model.desk.found(unit, self.names[k], self.kinds[k], x, y, IncidentDraws(*u[8:]))


class IncidentDesk:
    """Creates incidents and runs each one's story on the SimPy clock."""

    def __init__(self, model):
        from sim.output import incidents_frame

        self.model = model
        self.env = model.env
        # env.timeout bound once: SimPy makes a new bound method on each lookup, and every
        # incident's story takes three or four timeouts.
        self.timeout = model.env.timeout
        self.cfg = model.cfg.scenario
        self.dispatcher = model.dispatcher
        self.service = ServiceTimes(self.cfg.calls)
        self.draw_rng = model.streams["incident_draws"]
        self.incidents = RecordBook(partial(incidents_frame, cfg=model.cfg),
                                    lambda inc: inc.finished)
        self.patience = self.cfg.dispatch.patience_min
        self.support_mask = np.array(
            [self.cfg.units[u.unit_type].support_violent_p1 for u in self.dispatcher.units],
            dtype=bool,
        )
        self.has_support = bool(self.support_mask.any())
        # Hook for the police-mediation link (sim/police_mediation.py): told when an incident
        # is done with: cleared, given up by its caller or handed to the backup force.
        self.on_done = None

    def set_handoffs(self) -> None:
        """Hand-off delays for the current platform setting (it can change mid-run)."""
        self.dispatcher.set_handoffs()

    def _new(self, source, kind_name, kind: IncidentKind | None, x, y, caller, priority=None,
             violent=None) -> Incident:
        district = self.model.district
        cell = district.cell_at(x, y)
        inc = Incident(
            incident_id=len(self.incidents),
            source=source,
            kind=kind_name,
            priority=kind.priority if priority is None else priority,
            violent=kind.violent if violent is None else violent,
            grid=int(district.cell_grid[cell]),
            community=int(district.cell_community[cell]),
            x=float(x),
            y=float(y),
            caller=caller,
            t_reported=self.env.now,
        )
        self.incidents.append(inc)
        return inc

    def report(self, source: str, kind_name: str, kind: IncidentKind | None, x: float, y: float,
               caller: int, on_scene_min: float | None = None, priority: int | None = None,
               violent: bool | None = None, draws: IncidentDraws | None = None) -> Incident:
        """A new incident reported to the platform: start its story.  `draws` fixes what
        happens to it (calls bring their own, for common random numbers)."""
        inc = self._new(source, kind_name, kind, x, y, caller, priority, violent)
        if draws is None:
            draws = IncidentDraws(*self.draw_rng.random(N_DRAWS).tolist())
        mean = kind.on_scene_min if on_scene_min is None else on_scene_min
        self.env.process(self.respond(inc, mean, draws))
        if inc.priority == 1 and inc.violent and self.has_support:
            self.env.process(self.support(inc, mean, draws))
        self.model.narrate_incident(inc)
        return inc

    def found(self, unit, kind_name: str, kind: IncidentKind, x: float, y: float,
              draws: IncidentDraws) -> None:
        """A patrolling unit comes upon an incident at (x, y) and handles it on the spot."""
        inc = self._new("patrol", kind_name, kind, x, y, -1)
        self.dispatcher.assign(unit, inc)
        self.dispatcher.move(unit, inc.x, inc.y)
        self.env.process(self.work(inc, unit, self.service.draw(kind.on_scene_min, draws.scene),
                                   0.0, draws.report))

    def respond(self, inc: Incident, on_scene_mean: float, draws: IncidentDraws):
        """The story of a reported incident: wait for a unit (or give up), travel, work, write
        it up, clear."""
        unit = yield from self._assigned(inc, draws.patience)
        if unit is None:
            return
        travel = self.dispatcher.eta(unit, inc)
        if self.model.narrative is not None:
            self.model.log("unit_dispatched", unit=unit.name, kind=inc.kind, grid=inc.grid + 1,
                           minutes=travel, id=inc.incident_id)
        on_scene = self.service.draw(on_scene_mean, draws.scene)
        yield from self.work(inc, unit, on_scene, travel, draws.report)

    def _assigned(self, inc: Incident, u_patience: float):
        """The unit sent to `inc`; None if it went to the backup force or its caller gave up
        waiting in the queue."""
        unit = self.dispatcher.send(inc)
        if unit is not None:
            return unit
        request = self.dispatcher.wait(inc)
        if request is None:
            inc.overflow = True          # handed to the backup force outside the model
            self._satisfy(inc, self.cfg.residents.satisfaction_overflow)
            self.model.log("incident_overflow", kind=inc.kind, grid=inc.grid + 1,
                           id=inc.incident_id)
            self._done(inc)
            return None
        patience = self._patience(inc.priority, u_patience)
        if patience < INF:
            yield request | self.env.timeout(patience)
            if not request.triggered:
                self.dispatcher.withdraw(request)
                self._abandon(inc)
                return None
        return (yield request)

    def _patience(self, priority: int, u: float) -> float:
        if self.patience is None:
            return INF
        mean = self.patience[priority - 1]
        return -mean * math.log1p(-min(u, 1.0 - 1e-12))

    def _abandon(self, inc: Incident) -> None:
        inc.abandoned = True
        inc.t_abandoned = self.env.now
        self._satisfy(inc, self.cfg.residents.satisfaction_slow_response)
        self.model.log("incident_abandoned", kind=inc.kind, grid=inc.grid + 1,
                       id=inc.incident_id)
        self._done(inc)

    def work(self, inc: Incident, unit, on_scene: float, travel: float, u_report: float):
        env = self.env
        inc.t_dispatched = env.now
        inc.unit_id = unit.name
        inc.unit_type = unit.unit_type
        inc.cross_grid = unit.home_grid != inc.grid
        yield from self._drive(unit, inc, travel)
        inc.t_arrived = env.now
        if inc.caller >= 0:
            res = self.cfg.residents
            fast = inc.t_arrived - inc.t_reported <= res.fast_response_min
            self._satisfy(inc, res.satisfaction_fast_response if fast
                          else res.satisfaction_slow_response)
        yield self.timeout(on_scene)
        inc.t_cleared = env.now
        yield from self._write_up(unit, u_report)
        inc.t_unit_free = env.now
        self.dispatcher.release(unit)
        self.model.return_to_patrol(unit)
        self._done(inc)

    def _done(self, inc: Incident) -> None:
        if self.on_done is not None:
            self.on_done(inc)

    def support(self, inc: Incident, on_scene_mean: float, draws: IncidentDraws):
        """A rapid-response team joins a violent priority-1 incident if one is free (no queue)."""
        unit = self.dispatcher.find_unit(inc, self.support_mask)
        if unit is None:
            return
        self.dispatcher.assign(unit, inc)
        inc.support_unit_id = unit.name
        yield from self._drive(unit, inc, self.dispatcher.eta(unit, inc))
        yield self.timeout(self.service.draw(on_scene_mean, draws.support_scene))
        yield from self._write_up(unit, draws.support_report)
        self.dispatcher.release(unit)
        self.model.return_to_patrol(unit)

    def _drive(self, unit, inc: Incident, minutes: float):
        env = self.env
        if minutes > 0:
            unit.trip = self.model.travel.trip(unit, inc.x, inc.y, env.now, env.now + minutes)
            yield self.timeout(minutes)
        unit.trip = None
        unit.state = "on_scene"
        self.dispatcher.move(unit, inc.x, inc.y)

    def _write_up(self, unit, u: float):
        """The unit writes the incident up before it is free again (time of its type)."""
        minutes = self.service.duration(self.dispatcher.report_mean[unit.index], u)
        if minutes > 0:
            unit.state = "reporting"
            yield self.timeout(minutes)

    def _satisfy(self, inc: Incident, delta: float) -> None:
        if inc.caller >= 0 and delta:
            self.model.residents.adjust_satisfaction(inc.caller, delta)
