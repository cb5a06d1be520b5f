"""Dispatch: which free unit answers an incident, and the queue of incidents waiting for one.

Every rule ranks the eligible free units by estimated time of arrival (ETA: hand-off, turnout
and travel, from ``Dispatcher.travel_times``).  Rules (``scenario.dispatch.rule``):
- ``own_then_nearest`` (default): the quickest unit of the incident's own grid, unless a unit
  of another grid arrives more than ``own_grid_tolerance_min`` sooner, then that one;
- ``own_grid``: the quickest unit of the incident's own grid only;
- ``nearest``: the quickest unit anywhere;
- ``own_then_lowest_index``: own grid, else the free unit of the lowest-numbered grid (the
  fixed preference list of Larson's hypercube model; used with travel switched off).
A unit type with ``max_eta_min`` (foot patrols) is sent only to calls it reaches in that time.
Priority-3 calls are stacked (left waiting) rather than take a unit able to answer priority 1
when no more than ``p3_reserve_share`` of the on-duty such units are free.

A priority-1 call may take a unit from a duty listed in ``p1_breaks_duties`` (its meal, its
post): the quickest such unit by the same rule, ``duty_breakoff_min`` later than its travel,
when no eligible unit is free or when it arrives ``duty_break_gain_min`` sooner than the free
unit the rule picks.  The unit takes the rest of the duty once clear.

When no eligible unit is free the incident waits in a priority queue (``overflow: queue``),
served most urgent first, then oldest first, or is handed to a backup force outside the model
(``overflow: backup``).
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np
import simpy

from agents.patrol_unit import PatrolUnit
from sim.config import Dispatch as DispatchConfig
from sim.config import UnitType

INF = math.inf
PRIORITIES = (1, 2, 3)


class CallQueue:
    """Incidents waiting for a unit: a heap per priority, oldest first, for units that may go
    anywhere, and a heap per (grid, priority) for units that serve only their own grid (every
    entry is in both, so the dispatch rule can change mid-run).  An entry taken through one
    heap (or given up by its caller) is marked dead and dropped when it reaches the top of the
    other, or when that heap is compacted, so every operation costs O(log n), never a scan."""

    def __init__(self):
        self._heaps = {p: [] for p in PRIORITIES}
        self._grid_heaps: dict[tuple[int, int], list] = {}
        self._seq = itertools.count()
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def push(self, incident, event) -> list:
        # [oldest first, then first come, incident, event, still waiting]
        entry = [incident.t_reported, next(self._seq), incident, event, True]
        p = incident.priority
        self._push(self._heaps[p], entry)
        self._push(self._grid_heaps.setdefault((incident.grid, p), []), entry)
        self._live += 1
        return entry

    def _push(self, heap: list, entry: list) -> None:
        if len(heap) > 2 * self._live + 64:
            # Many dead entries (taken through the other heap): compact now and then.
            heap[:] = [e for e in heap if e[4]]
            heapq.heapify(heap)
        heapq.heappush(heap, entry)

    def cancel(self, entry: list) -> None:
        """The caller gave up waiting."""
        if entry[4]:
            entry[4] = False
            self._live -= 1

    def pop(self, priorities, grid: int | None = None, accept=None):
        """The (incident, event) a unit eligible for `priorities` takes: the most urgent, then
        the oldest, of all grids or of `grid` only; None if none (or `accept` refuses the one
        at the head)."""
        for p in priorities:
            heap = self._heaps[p] if grid is None else self._grid_heaps.get((grid, p))
            if not heap:
                continue
            while heap and not heap[0][4]:
                heapq.heappop(heap)
            if not heap:
                continue
            entry = heap[0]
            if accept is not None and not accept(entry[2]):
                continue
            heapq.heappop(heap)
            entry[4] = False
            self._live -= 1
            return entry[2], entry[3]
        return None


class Dispatcher:
    """Keeps each unit's availability and position in arrays, so a search over all units is one
    vectorised expression, and hands freed units to the best waiting incident."""

    def __init__(self, env: simpy.Environment, units: list[PatrolUnit], n_grids: int,
                 unit_types: dict[str, UnitType], cfg: DispatchConfig, rng: np.random.Generator,
                 travel=None):
        self.env = env
        self.units = units
        self.travel = travel        # sim.roads.Travel: the road network
        self.cfg = cfg
        self.rule = cfg.rule
        self.unit_types = unit_types
        self.rng = rng              # when in its shift each unit takes its duties
        self._plans: dict[int, tuple[float, list]] = {}   # unit -> (shift start, its duties)
        n = len(units)
        self.x = np.zeros(n)
        self.y = np.zeros(n)
        # Where each unit joins the road network, kept with its position: dispatch then asks
        # the travel table about every unit in one gather.
        self.node = np.zeros(n, dtype=np.int64)
        self.leg = np.zeros(n)
        self.free = np.zeros(n, dtype=bool)
        self.may_call = np.zeros(n, dtype=bool)  # on a duty a priority-1 call may break
        # Minutes a unit called from its duty needs to get going, until it clears that job.
        self.breakoff = [0.0] * n
        self.duties_broken = 0
        self.grid = np.array([u.home_grid for u in units], dtype=np.int64)
        self.in_grid = [self.grid == g for g in range(n_grids)]
        eligible = {name: tuple(sorted(set(t.priorities))) for name, t in unit_types.items()}
        # eligible_mask[p]: units that may be sent as the primary unit to priority p.
        self.eligible_mask = {
            p: np.array([p in eligible[u.unit_type] for u in units], dtype=bool)
            for p in PRIORITIES
        }
        self.unit_priorities = [eligible[u.unit_type] for u in units]
        reach = [unit_types[u.unit_type].max_eta_min for u in units]
        self.reach = np.array([INF if r is None else r for r in reach])
        self.limited = np.isfinite(self.reach)
        self.has_reach = bool(self.limited.any())
        self.limited_for = {p: bool((self.eligible_mask[p] & self.limited).any())
                            for p in PRIORITIES}
        self.report_mean = [unit_types[u.unit_type].report_min for u in units]
        self.reserve = cfg.p3_reserve_share
        self.on_duty_p1 = 0          # units on duty able to answer priority 1
        self.free_p1 = 0             # of them, free now (kept with `free`: read per P3 call)
        self.answers_p1 = self.eligible_mask[1].tolist()
        self.by_grid: list[list[PatrolUnit]] = [[] for _ in range(n_grids)]
        for u in units:
            self.by_grid[u.home_grid].append(u)
        self.queue = CallQueue()
        self.busy_by_type = dict.fromkeys(unit_types, 0)
        self.patrolling_in_grid = [0] * n_grids
        self.on_duty_in_grid = [0] * n_grids
        self.set_handoffs()

    # ------------------------------------------------------------------ positions & times

    def move(self, unit: PatrolUnit, x: float, y: float) -> None:
        unit.x, unit.y = x, y
        i = unit.index
        self.x[i] = x
        self.y[i] = y
        if self.travel is not None:
            self.node[i], self.leg[i] = self.travel.snap(x, y)

    def move_many(self, idx: list[int], x: np.ndarray, y: np.ndarray) -> None:
        """`move` for many units at once (the patrols' new beat points each tick)."""
        self.x[idx] = x
        self.y[idx] = y
        if self.travel is not None:
            self.node[idx], self.leg[idx] = self.travel.snap_many(x, y)
        for i, ux, uy in zip(idx, x.tolist(), y.tolist(), strict=True):
            unit = self.units[i]
            unit.x, unit.y = ux, uy

    def travel_time(self, unit: PatrolUnit, x: float, y: float) -> float:
        """Minutes from the unit's position to (x, y): turnout plus the road network at this
        hour.  A unit on its way back is placed where it is now on its route (the arrays are
        refreshed once a tick)."""
        ux, uy = unit.x, unit.y
        if unit.trip is not None and unit.state == "returning":
            ux, uy = unit.position_on_trip(self.env.now)
        return self.travel.minutes(unit.index, ux, uy, x, y, self.env.now)

    def travel_times(self, x: float, y: float) -> np.ndarray:
        """`travel_time` for every unit at once, from the position arrays."""
        return self.travel.minutes_all(self.node, self.leg, x, y, self.env.now)

    def etas(self, incident) -> np.ndarray:
        """`eta` for every unit at once: hand-off plus travel from the position arrays."""
        return self.travel_times(incident.x, incident.y) + self.handoff_to[incident.grid]

    def set_handoffs(self) -> None:
        """Hand-off delays for the current platform setting (it can change mid-run): the
        unified platform's effect is a shorter hand-off, above all across grids."""
        d = self.cfg
        self.handoff_own = d.handoff_min if d.unified_platform else d.handoff_min_no_platform
        self.handoff_cross = (d.handoff_min if d.unified_platform
                              else d.cross_grid_handoff_min_no_platform)
        if not d.travel:
            self.handoff_own = self.handoff_cross = 0.0
        # handoff_to[g]: every unit's hand-off delay for an incident in grid g.
        self.handoff_to = [np.where(own, self.handoff_own, self.handoff_cross)
                           for own in self.in_grid]

    def handoff(self, unit: PatrolUnit, incident) -> float:
        return self.handoff_own if unit.home_grid == incident.grid else self.handoff_cross

    def eta(self, unit: PatrolUnit, incident) -> float:
        """Minutes until `unit` would reach `incident` if sent now."""
        return (self.handoff(unit, incident) + self.breakoff[unit.index]
                + self.travel_time(unit, incident.x, incident.y))

    def _set_free(self, unit: PatrolUnit, free: bool) -> None:
        # The flag lives twice: on the unit for the scalar paths, in `self.free` for the
        # vectorised search over all units.
        if unit.free != free:
            unit.set_free(self.env.now, free)
            self.free[unit.index] = free
            self.patrolling_in_grid[unit.home_grid] += 1 if free else -1
            if self.answers_p1[unit.index]:
                self.free_p1 += 1 if free else -1

    # ------------------------------------------------------------------ choosing a unit

    def find_unit(self, incident, mask: np.ndarray | None = None) -> PatrolUnit | None:
        """The unit the rule sends to `incident` now, or None if no eligible unit is free."""
        check_reach = self.has_reach
        if mask is None:
            mask = self.eligible_mask[incident.priority]
            check_reach = self.limited_for[incident.priority]
            if incident.priority == 3 and self.reserve and not self._p3_may_take_p1_units(0):
                mask = mask & ~self.eligible_mask[1]
        return self._by_rule(incident, self.free, mask, check_reach)

    def _by_rule(self, incident, available: np.ndarray, mask: np.ndarray, check_reach: bool,
                 delay: float = 0.0) -> PatrolUnit | None:
        """The unit the rule picks among the `available` units in `mask`, each `delay`
        minutes later than its hand-off and travel."""
        if self.rule == "own_then_lowest_index":
            if check_reach and self.travel is not None:
                # A foot patrol answers only what it reaches in time, whatever the rule.
                mask = mask & (self.etas(incident) + delay <= self.reach)
            return self._own_then_lowest_index(incident, available & mask)
        ok = available & mask
        if self.rule == "own_grid":
            ok &= self.in_grid[incident.grid]
        if not ok.any():
            return None
        eta = self.etas(incident) + delay
        if check_reach:
            ok &= eta <= self.reach
        eta = np.where(ok, eta, INF)
        best = int(eta.argmin())
        if eta[best] == INF:
            return None
        if self.rule == "own_then_nearest" and self.grid[best] != incident.grid:
            mine = np.where(self.in_grid[incident.grid], eta, INF)
            m = int(mine.argmin())
            if mine[m] - eta[best] <= self.cfg.own_grid_tolerance_min:
                best = m
        return self.units[best]

    def _p3_may_take_p1_units(self, spare: int) -> bool:
        """Whether more than the reserve of units able to answer priority 1 are free, counting
        `spare` more (the unit coming free)."""
        return self.free_p1 + spare > self.reserve * self.on_duty_p1

    def _own_then_lowest_index(self, incident, cand: np.ndarray) -> PatrolUnit | None:
        # Larson's fixed preference list: the own grid's unit, else the lowest-numbered grid's.
        for unit in self.by_grid[incident.grid]:
            if cand[unit.index]:
                return unit
        if not cand.any():
            return None
        return self.units[int(np.argmin(np.where(cand, self.grid, np.iinfo(np.int64).max)))]

    # ------------------------------------------------------------------ requests & releases

    def send(self, incident) -> PatrolUnit | None:
        """The unit sent to `incident` now (assigned to it), or None if none may go."""
        unit = self.find_unit(incident)
        if incident.priority == 1 and self.may_call.any():
            called = self._from_duty(incident, unit)
            if called is not None:
                self._call_from_duty(called, incident)
                return called
        if unit is not None:
            self.assign(unit, incident)
        return unit

    def _from_duty(self, incident, free_unit: PatrolUnit | None) -> PatrolUnit | None:
        """The unit a priority-1 call takes from its duty instead of `free_unit` (None: no
        unit is free), if any."""
        delay = self.cfg.duty_breakoff_min
        unit = self._by_rule(incident, self.may_call, self.eligible_mask[1],
                             self.limited_for[1], delay)
        if unit is None or free_unit is None:
            return unit
        gain = self.eta(free_unit, incident) - (self.eta(unit, incident) + delay)
        return unit if gain >= self.cfg.duty_break_gain_min else None

    def wait(self, incident) -> simpy.Event | None:
        """For an incident no unit could take: an event that fires with the unit that takes
        it from the queue (withdraw it with `withdraw`), or None if it goes to the backup
        force instead."""
        if self.cfg.overflow == "backup":
            return None
        event = self.env.event()
        event.entry = self.queue.push(incident, event)
        return event

    def withdraw(self, event: simpy.Event) -> None:
        """The caller gave up before a unit was sent."""
        self.queue.cancel(event.entry)

    def assign(self, unit: PatrolUnit, incident) -> None:
        """Commit `unit` to `incident` (the unit must be free)."""
        self._set_free(unit, False)
        self.busy_by_type[unit.unit_type] += 1
        self._stop_on_the_way(unit)
        unit.start_job(self.env.now, incident)

    def _stop_on_the_way(self, unit: PatrolUnit) -> None:
        """A unit caught on its way back to the beat (by a job, a duty, the end of its shift)
        is where it is now, and its drive is over."""
        if unit.trip is not None:
            self.move(unit, *unit.position_on_trip(self.env.now))
            unit.trip = None

    def release(self, unit: PatrolUnit) -> None:
        """The unit has cleared its job and written it up."""
        unit.end_job(self.env.now)
        self.breakoff[unit.index] = 0.0
        self.busy_by_type[unit.unit_type] -= 1
        self._next(unit, "returning")

    def _next(self, unit: PatrolUnit, state: str) -> None:
        """After a job or a duty: off if its shift is over, to a duty that is waiting for it,
        else to the best waiting incident or free in `state`."""
        waiting_duty, unit.clear_event = unit.clear_event, None
        if unit.off_after_job:
            unit.off_after_job = False
            unit.state = "off_duty"
            unit.clock_out(self.env.now)
            if waiting_duty is not None:
                waiting_duty.succeed(False)
            return
        if waiting_duty is not None:
            unit.state = "duty"
            waiting_duty.succeed(True)
            return
        unit.state = state
        self.make_available(unit)

    def make_available(self, unit: PatrolUnit) -> None:
        """Offer an idle on-duty unit to the queue first, else mark it free."""
        if len(self.queue):
            taken = self._waiting_for(unit)
            if taken is not None:
                incident, event = taken
                self.assign(unit, incident)
                event.succeed(unit)
                return
        self._set_free(unit, True)

    def _waiting_for(self, unit: PatrolUnit, prios: tuple[int, ...] | None = None,
                     delay: float = 0.0):
        """The waiting incident `unit` takes, if any: the most urgent it may answer (of
        `prios` if given), then the oldest; a unit of limited reach looks only in its own
        grid, within its reach (arriving `delay` minutes later than its ETA)."""
        prios = prios or self.unit_priorities[unit.index]
        if (self.reserve and 3 in prios and self.eligible_mask[1][unit.index]
                and not self._p3_may_take_p1_units(spare=1)):
            prios = tuple(p for p in prios if p != 3)   # the stacked P3 calls wait on
        limited = math.isfinite(self.reach[unit.index])
        if limited or self.rule == "own_grid":
            reach = self.reach[unit.index]
            accept = (lambda inc: self.eta(unit, inc) + delay <= reach) if limited else None
            return self.queue.pop(prios, unit.home_grid, accept)
        return self.queue.pop(prios)

    # ------------------------------------------------------------------ duties besides calls

    def hold(self, unit: PatrolUnit) -> None:
        """Take a free unit off patrol for a duty (hand-over, meal, post)."""
        self._set_free(unit, False)
        self._stop_on_the_way(unit)
        unit.state = "duty"

    def when_clear(self, unit: PatrolUnit) -> simpy.Event:
        """An event that fires True when the busy `unit` clears its job (it is then held for
        a duty), or False if its shift ends first."""
        unit.clear_event = self.env.event()
        return unit.clear_event

    def breaks(self, activity: str) -> bool:
        """Whether a priority-1 call may take a unit from this duty."""
        return activity in self.cfg.p1_breaks_duties

    def on_call(self, unit: PatrolUnit) -> simpy.Event:
        """The unit starts (or goes back to) a duty a priority-1 call may break: an event that
        fires if one takes it.  A priority-1 call already waiting takes it at once."""
        called = unit.called = self.env.event()
        self.may_call[unit.index] = True
        if len(self.queue) and self.answers_p1[unit.index]:
            # A unit of limited reach takes only what it reaches with its breakoff counted.
            taken = self._waiting_for(unit, (1,), self.cfg.duty_breakoff_min)
            if taken is not None:
                incident, event = taken
                self._call_from_duty(unit, incident)
                event.succeed(unit)
        return called

    def drop_off_call(self) -> None:
        """After the breakable duties changed: units on a duty no longer listed are not."""
        for i in np.flatnonzero(self.may_call).tolist():
            if not self.breaks(self.units[i].activity):
                self.off_call(self.units[i])

    def off_call(self, unit: PatrolUnit) -> None:
        self.may_call[unit.index] = False
        unit.called = None

    def _call_from_duty(self, unit: PatrolUnit, incident) -> None:
        called = unit.called
        self.off_call(unit)
        self.breakoff[unit.index] = self.cfg.duty_breakoff_min
        self.duties_broken += 1
        unit.activity = ""
        self.assign(unit, incident)
        called.succeed()

    def resume(self, unit: PatrolUnit) -> None:
        """The duty is done: back on patrol (or off, if the shift is over)."""
        self._next(unit, "patrolling")

    def _shift_activities(self, unit: PatrolUnit) -> list[tuple[float, str, float]]:
        """(when, what, minutes) of the duties of the shift starting or under way now."""
        t = self.unit_types[unit.unit_type]
        if unit.shift_hours >= 24 or not (t.handover_min or t.meal_break_min
                                         or t.post_duty_min):
            return []
        now = self.env.now
        end = unit.shift_end_after(now)
        length = unit.shift_hours * 60.0
        start = end - length
        drawn = self._plans.get(unit.index)
        if drawn is not None and abs(drawn[0] - start) < 1e-6:
            # Back on the roster mid-shift: the duties drawn at its start, those still ahead
            # (a duty under way or done is not taken twice).
            return [a for a in drawn[1] if a[0] > now]
        u = self.rng.random(2).tolist()
        plan = []
        if t.handover_min > 0 and now - start < 1e-6 * length + 1e-9:
            plan.append((now, "handover", t.handover_min))
        if t.meal_break_min > 0:
            # Mid-shift: between a quarter and three quarters of the way through.
            plan.append((start + (0.25 + 0.5 * u[0]) * length, "meal", t.meal_break_min))
        if t.post_duty_min > 0:
            room = max(length - t.handover_min - t.post_duty_min, 0.0)
            plan.append((start + t.handover_min + u[1] * room, "post", t.post_duty_min))
        plan = sorted(a for a in plan if a[0] >= now)
        self._plans[unit.index] = (start, plan)
        return plan

    # ------------------------------------------------------------------ shifts

    def shift_start(self, unit: PatrolUnit) -> None:
        unit.off_after_job = False
        if unit.on_duty:
            return
        unit.start_duty(self.env.now)
        # Back on the roster in the middle of a duty a priority-1 call may break: on call
        # again (its duty's process still holds the event).
        if (unit.state == "duty" and unit.called is not None and not unit.called.triggered
                and self.breaks(unit.activity)):
            self.may_call[unit.index] = True
        unit.shift_token += 1
        self.on_duty_in_grid[unit.home_grid] += 1
        self.on_duty_p1 += int(self.eligible_mask[1][unit.index])
        plan = self._shift_activities(unit)
        if not unit.busy:
            if plan and plan[0][1] == "handover":
                self.hold(unit)
            else:
                unit.state = "patrolling"
                self.make_available(unit)
        if plan:
            self.env.process(unit.shift_work(self, plan, unit.shift_end_after(self.env.now)))

    def shift_end(self, unit: PatrolUnit) -> None:
        if not unit.on_duty:
            return
        unit.end_duty(self.env.now)
        self.may_call[unit.index] = False        # no longer called from its duty
        self.on_duty_in_grid[unit.home_grid] -= 1
        self.on_duty_p1 -= int(self.eligible_mask[1][unit.index])
        if unit.busy:
            unit.off_after_job = True
        else:
            self._set_free(unit, False)
            self._stop_on_the_way(unit)
            unit.state = "off_duty"

    # ------------------------------------------------------------------ patrol presence

    def free_near(self, x: float, y: float, r: float) -> int:
        """Units free on patrol within street-grid radius `r` (km) of (x, y) in each axis."""
        return int(np.count_nonzero(self.free & (np.abs(self.x - x) <= r)
                                    & (np.abs(self.y - y) <= r)))

    @property
    def queued(self) -> int:
        return len(self.queue)
