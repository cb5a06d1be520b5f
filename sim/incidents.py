"""Incidents: how they arise (resident calls, disputes turning violent, patrols finding them)
and the story of each one, from report to clearance."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from sim.config import Calls, IncidentKind

NAN = math.nan
DAY = 1440.0


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


class ServiceTimes:
    """On-scene durations: lognormal with the configured CV, or exponential."""

    def __init__(self, cfg: Calls, rng: np.random.Generator):
        self.rng = rng
        self.exponential = cfg.service_distribution == "exponential"
        self.sigma = math.sqrt(math.log(1 + cfg.service_cv**2))
        self.override = None if cfg.mean_service_hours is None else cfg.mean_service_hours * 60

    def draw(self, mean_min: float, u: float | None = None) -> float:
        """One on-scene time of the given mean; from the uniform `u` if given (inverse CDF),
        else from this object's own stream."""
        if self.override is not None:
            mean_min = self.override
        if u is None:
            u = float(self.rng.random())
        u = min(max(u, 1e-12), 1.0 - 1e-12)
        if self.exponential:
            return -mean_min * math.log1p(-u)
        return mean_min * math.exp(-self.sigma**2 / 2 + self.sigma * _STD_NORMAL.inv_cdf(u))


_STD_NORMAL = NormalDist()


class CallArrivals:
    """Resident calls for service: a Poisson stream shaped by hour of day and weekday, thinned
    by patrol presence for deterrable kinds.

    Every candidate call consumes the same fixed block of random numbers whether or not it is
    accepted, and carries its own on-scene time in that block, so two policies with the same
    seed see the same calls with the same durations (common random numbers) even when
    deterrence removes different calls or units take them in a different order.
    """

    def __init__(self, model, cfg: Calls, rng: np.random.Generator):
        self.model = model
        self.cfg = cfg
        self.rng = rng
        district = model.district
        hourly = np.asarray(cfg.hourly_profile, dtype=float)
        weekly = np.asarray(cfg.weekday_profile, dtype=float)
        self.hourly = hourly / hourly.mean()
        self.weekly = weekly / weekly.mean()
        self.peak = self.hourly.max() * self.weekly.max()
        if cfg.rate_per_grid_per_hour is not None:
            rates = np.asarray(cfg.rate_per_grid_per_hour, dtype=float)
            self.base_per_min = rates.sum() / 60.0
            self.grid_cum = (np.cumsum(rates) / rates.sum()).tolist() if rates.sum() > 0 else None
        else:
            people = model.residents.n
            self.base_per_min = cfg.rate_per_1000_per_year * people / 1000.0 / (365 * DAY)
            self.grid_cum = None
        self.kind_names = list(cfg.kinds)
        self.kinds: list[IncidentKind] = list(cfg.kinds.values())
        self.kind_cum = np.cumsum([k.share for k in self.kinds]).tolist()
        self.hourly_l = self.hourly.tolist()
        self.weekly_l = self.weekly.tolist()
        self.n_hotspots = len(district.hx)

    def process(self):
        """SimPy process: generate calls until the end of the run."""
        env = self.model.env
        rate = self.base_per_min * self.peak
        if rate <= 0:
            return
        rng = self.rng
        while True:
            yield env.timeout(rng.exponential(1.0 / rate))
            u = rng.random(8).tolist()
            now = env.now
            day = int(now // DAY)
            hour = int((now % DAY) // 60)
            if u[0] * self.peak >= self.hourly_l[hour] * self.weekly_l[day % 7]:
                continue
            self._call(u)

    def _call(self, u: list[float]) -> None:
        model = self.model
        district = model.district
        kind_i = min(bisect_right(self.kind_cum, u[1] * self.kind_cum[-1]), len(self.kinds) - 1)
        kind = self.kinds[kind_i]
        caller = min(int(u[2] * model.residents.n), model.residents.n - 1)
        if self.grid_cum is not None:
            # Validation mode: the call's grid is drawn from the per-grid rates.
            grid = min(bisect_right(self.grid_cum, u[3]), district.n_grids - 1)
            cell = district.grid_cells.pick(np.array([grid]), np.array([u[4]]))[0]
            x = district.cx[cell] + (u[5] - 0.5) * district.cell_km
            y = district.cy[cell] + (u[6] - 0.5) * district.cell_km
        elif self.n_hotspots and u[3] < self.cfg.hotspot_share:
            h = min(int(u[4] * self.n_hotspots), self.n_hotspots - 1)
            r = district.hotspot_radius_km
            x = min(max(district.hx[h] + (2 * u[5] - 1) * r, 0.0), district.side_km)
            y = min(max(district.hy[h] + (2 * u[6] - 1) * r, 0.0), district.side_km)
        else:
            x = float(model.residents.x[caller])
            y = float(model.residents.y[caller])
        grid = int(district.cell_grid[district.cell_at(x, y)])
        if kind.deterrable and self.cfg.deterrence > 0:
            # A draw from its own stream keeps the call stream aligned across policies.
            deterred = self.cfg.deterrence * model.dispatcher.presence(grid)
            if model.streams["deterrence"].random() < deterred:
                model.deterred += 1
                return
        model.desk.report("call", self.kind_names[kind_i], kind, x, y, caller, service_u=u[7])


class PatrolFinds:
    """Incidents found by units on patrol: Poisson in patrolling unit-hours."""

    def __init__(self, model, cfg: Calls, rng: np.random.Generator):
        self.model = model
        self.rng = rng
        self.rate_per_min = cfg.found_per_patrol_hour / 60.0
        self.names = list(cfg.found_kinds)
        self.kinds = list(cfg.found_kinds.values())
        self.cum = np.cumsum([k.share for k in self.kinds]) if self.kinds else None

    def process(self):
        env = self.model.env
        dispatcher = self.model.dispatcher
        n_units = len(dispatcher.units)
        if self.rate_per_min <= 0 or not self.kinds or n_units == 0:
            return
        # Thinning at the rate of all units patrolling; accept by the share actually patrolling.
        peak = self.rate_per_min * n_units
        while True:
            yield env.timeout(self.rng.exponential(1.0 / peak))
            u = self.rng.random(2)
            i = min(int(u[0] * n_units), n_units - 1)
            unit = dispatcher.units[i]
            if not unit.free or unit.state != "patrolling":
                continue
            k = min(int(np.searchsorted(self.cum, u[1] * self.cum[-1], side="right")),
                    len(self.kinds) - 1)
            self.model.desk.found(unit, self.names[k], self.kinds[k])


class IncidentDesk:
    """Creates incidents and runs each one's story on the SimPy clock."""

    def __init__(self, model):
        self.model = model
        self.env = model.env
        self.cfg = model.cfg.scenario
        self.dispatcher = model.dispatcher
        self.service = ServiceTimes(self.cfg.calls, model.streams["service"])
        self.incidents: list[Incident] = []
        self.set_handoffs()
        self.support_mask = np.array(
            [self.cfg.units[u.unit_type].support_violent_p1 for u in self.dispatcher.units],
            dtype=bool,
        )
        self.has_support = bool(self.support_mask.any())

    def set_handoffs(self) -> None:
        """Hand-off delays for the current platform setting (it can change mid-run)."""
        d = self.cfg.dispatch
        self.handoff_own = d.handoff_min if d.unified_platform else d.handoff_min_no_platform
        self.handoff_cross = (d.handoff_min if d.unified_platform
                              else d.cross_grid_handoff_min_no_platform)
        if not d.travel:
            self.handoff_own = self.handoff_cross = 0.0

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
               violent: bool | None = None, service_u: float | None = None) -> Incident:
        """A new incident reported to the platform: start its story.  `service_u`, a uniform
        draw, fixes its on-scene time (calls bring their own, for common random numbers)."""
        inc = self._new(source, kind_name, kind, x, y, caller, priority, violent)
        mean = kind.on_scene_min if on_scene_min is None else on_scene_min
        self.env.process(self.respond(inc, self.service.draw(mean, service_u)))
        if inc.priority == 1 and inc.violent and self.has_support:
            self.env.process(self.support(inc, mean))
        self.model.narrate_incident(inc)
        return inc

    def found(self, unit, kind_name: str, kind: IncidentKind) -> None:
        """A patrolling unit comes upon an incident and handles it on the spot."""
        inc = self._new("patrol", kind_name, kind, unit.x, unit.y, -1)
        self.dispatcher.assign(unit, inc)
        self.env.process(self.work(inc, unit, self.service.draw(kind.on_scene_min), 0.0))

    def respond(self, inc: Incident, on_scene: float):
        """The story of a reported incident: wait for a unit, travel, work, clear."""
        request = self.dispatcher.request(inc)
        if request is None:
            inc.overflow = True          # handed to the backup force outside the model
            self._satisfy(inc, self.model.cfg.scenario.residents.satisfaction_overflow)
            self.model.log("incident_overflow", kind=inc.kind, grid=inc.grid + 1)
            return
        unit = yield request
        travel = self.dispatcher.travel_time(unit, inc.x, inc.y)
        handoff = self.handoff_own if unit.home_grid == inc.grid else self.handoff_cross
        if self.model.narrative is not None:
            self.model.log("unit_dispatched", unit=unit.name, kind=inc.kind, grid=inc.grid + 1,
                           minutes=travel + handoff)
        yield from self.work(inc, unit, on_scene, travel + handoff)

    def work(self, inc: Incident, unit, on_scene: float, travel: float):
        env = self.env
        inc.t_dispatched = env.now
        inc.unit_id = unit.name
        inc.unit_type = unit.unit_type
        inc.cross_grid = unit.home_grid != inc.grid
        if travel > 0:
            unit.trip = self.model.travel.trip(unit, inc.x, inc.y, env.now, env.now + travel)
            yield env.timeout(travel)
        unit.trip = None
        inc.t_arrived = env.now
        unit.state = "on_scene"
        self.dispatcher.move(unit, inc.x, inc.y)
        if inc.caller >= 0:
            res = self.model.cfg.scenario.residents
            fast = inc.t_arrived - inc.t_reported <= res.fast_response_min
            self._satisfy(inc, res.satisfaction_fast_response if fast
                          else res.satisfaction_slow_response)
        yield env.timeout(on_scene)
        inc.t_cleared = env.now
        self.dispatcher.release(unit)
        self.model.return_to_patrol(unit)

    def support(self, inc: Incident, on_scene_mean: float):
        """A rapid-response team joins a violent priority-1 incident if one is free (no queue)."""
        unit = self.dispatcher.find_unit(inc, self.support_mask)
        if unit is None:
            return
        self.dispatcher.assign(unit, inc)
        inc.support_unit_id = unit.name
        travel = self.dispatcher.travel_time(unit, inc.x, inc.y) + self.handoff_cross
        unit.trip = self.model.travel.trip(unit, inc.x, inc.y, self.env.now,
                                           self.env.now + travel)
        yield self.env.timeout(travel)
        unit.trip = None
        unit.state = "on_scene"
        self.dispatcher.move(unit, inc.x, inc.y)
        yield self.env.timeout(self.service.draw(on_scene_mean))
        self.dispatcher.release(unit)
        self.model.return_to_patrol(unit)

    def _satisfy(self, inc: Incident, delta: float) -> None:
        if inc.caller >= 0 and delta:
            self.model.residents.adjust_satisfaction(inc.caller, delta)
