"""Dispatch: which free unit answers an incident, and the queue of incidents waiting for one.

Rules (``scenario.dispatch.rule``):
- ``own_then_nearest`` (default): the quickest free unit of the incident's grid, else the
  quickest free unit anywhere;
- ``own_grid``: the incident's own grid only;
- ``nearest``: the quickest free unit anywhere;
- ``own_then_lowest_index``: own grid, else the free unit of the lowest-numbered grid (the
  fixed preference list of Larson's hypercube model).

When no eligible unit is free the incident waits in a priority queue (``overflow: queue``) or is
handed to a backup force outside the model (``overflow: backup``).
"""

from __future__ import annotations

import numpy as np
import simpy

from agents.patrol_unit import PatrolUnit
from sim.config import Dispatch as DispatchConfig

INF = float("inf")


class Dispatcher:
    """Keeps each unit's availability and position in arrays, so a search over all units is one
    vectorised expression, and hands freed units to the best waiting incident."""

    def __init__(self, env: simpy.Environment, units: list[PatrolUnit], n_grids: int,
                 eligible: dict[str, tuple[int, ...]], cfg: DispatchConfig, travel=None):
        self.env = env
        self.units = units
        self.travel = travel        # sim.roads.Travel: the road network
        self.cfg = cfg
        self.rule = cfg.rule
        n = len(units)
        self.x = np.zeros(n)
        self.y = np.zeros(n)
        self.free = np.zeros(n, dtype=bool)
        self.grid = np.array([u.home_grid for u in units], dtype=np.int64)
        # Validation scenarios switch travel off: units reach the scene the moment they leave.
        travel = 1.0 if cfg.travel else 0.0
        self.inv_speed = np.array([60.0 / u.speed_kmh for u in units]) * travel
        self.turnout = np.array([u.turnout_min for u in units]) * travel
        self._inv_speed = self.inv_speed.tolist()   # plain floats for the scalar hot path
        self._turnout = self.turnout.tolist()
        # eligible_mask[p]: units that may be sent as the primary unit to priority p.
        self.eligible_mask = {
            p: np.array([p in eligible[u.unit_type] for u in units], dtype=bool) for p in (1, 2, 3)
        }
        self.by_grid: list[list[PatrolUnit]] = [[] for _ in range(n_grids)]
        for u in units:
            self.by_grid[u.home_grid].append(u)
        self.queue: list = []   # (incident, event) pairs, in arrival order
        self.busy_by_type = dict.fromkeys(eligible, 0)
        self.patrolling_in_grid = [0] * n_grids
        self.on_duty_in_grid = [0] * n_grids

    # ------------------------------------------------------------------ positions & state

    def move(self, unit: PatrolUnit, x: float, y: float) -> None:
        unit.x, unit.y = x, y
        self.x[unit.index] = x
        self.y[unit.index] = y

    def travel_time(self, unit: PatrolUnit, x: float, y: float) -> float:
        """Minutes from the unit's position to (x, y): turnout plus the road network at this
        hour.  A unit on its way back is placed where it is now on its route (the arrays are
        refreshed once a tick)."""
        ux, uy = unit.x, unit.y
        if unit.trip is not None and unit.state == "returning":
            ux, uy = unit.position_on_trip(self.env.now)
        return self.travel.minutes(unit.index, ux, uy, x, y, self.env.now)

    def travel_times(self, idx: np.ndarray, x: float, y: float) -> np.ndarray:
        """`travel_time` for the units `idx` at once, from the position arrays."""
        return self.travel.minutes_many(idx, self.x[idx], self.y[idx], x, y, self.env.now)

    def _set_free(self, unit: PatrolUnit, free: bool) -> None:
        # The flag lives twice: on the unit for the scalar paths, in `self.free` for the
        # vectorised search over all units.
        if unit.free != free:
            unit.free = free
            self.free[unit.index] = free
            self.patrolling_in_grid[unit.home_grid] += 1 if free else -1

    # ------------------------------------------------------------------ choosing a unit

    def find_unit(self, incident, mask: np.ndarray | None = None) -> PatrolUnit | None:
        """The unit the rule sends to `incident` now, or None if no eligible unit is free."""
        if mask is None:
            mask = self.eligible_mask[incident.priority]
        if self.rule in ("own_then_nearest", "own_grid", "own_then_lowest_index"):
            unit = self._quickest_in_grid(incident, mask)
            if unit is not None or self.rule == "own_grid":
                return unit
        cand = self.free & mask
        if self.rule == "own_then_lowest_index":
            if not cand.any():
                return None
            return self.units[int(np.argmin(np.where(cand, self.grid, np.iinfo(np.int64).max)))]
        if not cand.any():
            return None
        return self._quickest(cand, incident)

    def _quickest_in_grid(self, incident, mask: np.ndarray) -> PatrolUnit | None:
        # A grid holds a handful of units: a plain loop beats array set-up here.
        best, best_t = None, INF
        for unit in self.by_grid[incident.grid]:
            if unit.free and mask[unit.index]:
                t = self.travel_time(unit, incident.x, incident.y)
                if t < best_t:
                    best, best_t = unit, t
        return best

    def _quickest(self, cand: np.ndarray, incident) -> PatrolUnit:
        idx = np.flatnonzero(cand)
        t = self.travel_times(idx, incident.x, incident.y)
        return self.units[int(idx[np.argmin(t)])]

    # ------------------------------------------------------------------ requests & releases

    def request(self, incident) -> simpy.Event | None:
        """An event that fires with the assigned unit; None if the incident overflows."""
        event = self.env.event()
        unit = self.find_unit(incident)
        if unit is not None:
            self.assign(unit, incident)
            event.succeed(unit)
            return event
        if self.cfg.overflow == "backup":
            return None
        self.queue.append((incident, event))
        return event

    def assign(self, unit: PatrolUnit, incident) -> None:
        """Commit `unit` to `incident` (the unit must be free)."""
        self._set_free(unit, False)
        self.busy_by_type[unit.unit_type] += 1
        if unit.trip is not None:
            # Caught on its way back to the beat: it starts from where it is now.
            self.move(unit, *unit.position_on_trip(self.env.now))
            unit.trip = None
        unit.start_job(self.env.now, incident)

    def release(self, unit: PatrolUnit) -> None:
        """The unit has cleared its job: off duty, to the best waiting incident, or free."""
        unit.end_job(self.env.now)
        self.busy_by_type[unit.unit_type] -= 1
        if unit.off_after_job:
            unit.off_after_job = False
            unit.state = "off_duty"
            return
        unit.state = "returning"
        self.make_available(unit)

    def make_available(self, unit: PatrolUnit) -> None:
        """Offer an idle on-duty unit to the queue first, else mark it free."""
        best = self._best_waiting(unit)
        if best is not None:
            incident, event = self.queue.pop(best)
            self.assign(unit, incident)
            event.succeed(unit)
            return
        self._set_free(unit, True)

    def _best_waiting(self, unit: PatrolUnit) -> int | None:
        """Index in the queue of the incident this unit should take: the most urgent, then its
        own grid's, then the oldest."""
        best, best_key = None, None
        for i, (incident, _) in enumerate(self.queue):
            if not self.eligible_mask[incident.priority][unit.index]:
                continue
            own = incident.grid == unit.home_grid
            if self.rule == "own_grid" and not own:
                continue
            key = (incident.priority, not own, incident.t_reported)
            if best_key is None or key < best_key:
                best, best_key = i, key
        return best

    # ------------------------------------------------------------------ shifts

    def shift_start(self, unit: PatrolUnit) -> None:
        unit.off_after_job = False
        if unit.on_duty:
            return
        unit.start_duty(self.env.now)
        self.on_duty_in_grid[unit.home_grid] += 1
        if not unit.busy:
            unit.state = "patrolling"
            self.make_available(unit)

    def shift_end(self, unit: PatrolUnit) -> None:
        if not unit.on_duty:
            return
        unit.end_duty(self.env.now)
        self.on_duty_in_grid[unit.home_grid] -= 1
        if unit.busy:
            unit.off_after_job = True
        else:
            self._set_free(unit, False)
            unit.state = "off_duty"

    def presence(self, grid: int) -> float:
        """Share of the grid's on-duty units out on patrol (deterrence)."""
        on = self.on_duty_in_grid[grid]
        return self.patrolling_in_grid[grid] / on if on > 0 else 0.0

    @property
    def queued(self) -> int:
        return len(self.queue)
