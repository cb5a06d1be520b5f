"""Patrol units: police cars, armed patrols, rapid-response teams and guard foot patrols."""

from __future__ import annotations

import mesa

STATES = ("off_duty", "patrolling", "dispatched", "on_scene", "reporting", "duty", "returning")
# Not free for dispatch: on a job (travelling, on scene, writing it up) or on other duty.
BUSY_STATES = ("dispatched", "on_scene", "reporting", "duty")


class PatrolUnit(mesa.Agent):
    """One unit, tied to a home grid, working a daily shift."""

    def __init__(self, model, index: int, unit_type: str, name: str, home_grid: int,
                 speed_kmh: float, turnout_min: float, shift_start_h: float, shift_hours: float,
                 shift_index: int = 0):
        super().__init__(model)
        self.index = index                  # position in the dispatcher's arrays
        self.unit_type = unit_type
        self.name = name                    # e.g. "P-07"
        self.home_grid = home_grid
        self.speed_kmh = speed_kmh
        self.turnout_min = turnout_min
        self.shift_start_h = shift_start_h
        self.shift_hours = shift_hours
        self.shift_index = shift_index      # which of its type's shifts it works
        self.absent_until = 0.0             # off the roster until this time (timeline events)
        self.state = "off_duty"
        self.activity = ""                  # what it is doing while in state "duty"
        self.on_duty = False
        self.free = False                   # on duty and dispatchable (patrolling or returning)
        self.off_after_job = False          # shift ended while busy: go home after this job
        self.shift_token = 0                # bumps at each shift start; stale stories stop
        self.clear_event = None             # fires when its job is done (a duty is waiting)
        self.called = None                  # fires when a P1 call takes it from its duty
        self.x = 0.0
        self.y = 0.0
        self.beat_x = 0.0                   # the patrol point it returns to after a job
        self.beat_y = 0.0
        self.trip = None                    # sim.roads.Trip while on the road
        self.incident = None
        self.epoch = 0                      # bumps on each dispatch; stale returns are ignored
        self.busy_minutes = 0.0             # on calls: dispatch to report written
        self.duty_minutes = 0.0             # on duty, overtime included
        self.free_minutes = 0.0             # free for dispatch while on duty
        self._busy_since = None
        self._duty_since = None
        self._free_since = None

    @property
    def busy(self) -> bool:
        return self.state in BUSY_STATES

    # ------------------------------------------------------------------ the shift's own work

    def shift_work(self, dispatcher, activities: list[tuple[float, str, float]], end: float):
        """SimPy process: the work of one shift besides calls.  `activities` lists (when, what,
        minutes): the hand-over at the start, a meal break, a spell of fixed-post or station
        duty.  Each waits until the unit is clear of the job in hand, and none outlasts the
        shift."""
        env = self.model.env
        token = self.shift_token
        for at, activity, minutes in activities:
            if at > env.now:
                yield env.timeout(at - env.now)
            if token != self.shift_token or not self.on_duty or env.now >= end:
                return
            if self.free:
                dispatcher.hold(self)
            elif self.state != "duty" and not (yield dispatcher.when_clear(self)):
                return                      # its shift ended while it was on the job
            if env.now >= end:
                # Clear of the job only in the hand-over overlap after its shift: the duty
                # lapses and the unit patrols until it goes off.
                dispatcher.resume(self)
                return
            left = min(minutes, end - env.now)
            while left > 0:
                self.state, self.activity = "duty", activity
                if not dispatcher.breaks(activity):
                    yield env.timeout(left)
                    break
                # On call: a priority-1 call may take it from the duty (Dispatcher.send).
                called = dispatcher.on_call(self)
                since = env.now
                yield env.timeout(left) | called
                left -= env.now - since
                if not called.triggered:
                    dispatcher.off_call(self)
                    break
                # The rest of the duty waits until the unit has cleared that call.
                if not (yield dispatcher.when_clear(self)):
                    return
                if env.now >= end:
                    dispatcher.resume(self)
                    return
                left = min(left, end - env.now)
            self.activity = ""
            dispatcher.resume(self)

    # ------------------------------------------------------------------ position

    def position_on_trip(self, now: float) -> tuple[float, float]:
        """Where the unit is on its current trip: along its route on the road network."""
        return self.trip.position(now)

    def in_shift(self, now: float) -> bool:
        """Whether `now` (minutes) falls inside this unit's daily shift."""
        if self.shift_hours >= 24:
            return True
        hour = (now / 60.0) % 24.0
        return (hour - self.shift_start_h) % 24.0 < self.shift_hours

    def shift_end_after(self, now: float) -> float:
        """When the shift the unit is working at `now` ends (inf for round-the-clock units)."""
        if self.shift_hours >= 24:
            return float("inf")
        into = ((now / 60.0) % 24.0 - self.shift_start_h) % 24.0
        return now + (self.shift_hours - into) * 60.0

    # ------------------------------------------------------------------ time accounting

    def start_duty(self, now: float) -> None:
        self.on_duty = True
        if self._duty_since is None:      # still clocked in from overtime: one stretch
            self._duty_since = now

    def clock_out(self, now: float) -> None:
        if self._duty_since is not None:
            self.duty_minutes += now - self._duty_since
            self._duty_since = None

    def end_duty(self, now: float) -> None:
        self.on_duty = False
        if not self.busy:
            self.clock_out(now)
        # else overtime: the job in hand is finished first, and counts as time on duty

    def set_free(self, now: float, free: bool) -> None:
        self.free = free
        if free:
            self._free_since = now
        elif self._free_since is not None:
            self.free_minutes += now - self._free_since
            self._free_since = None

    def start_job(self, now: float, incident) -> None:
        self.incident = incident
        self.epoch += 1
        self.state = "dispatched"
        self._busy_since = now

    def end_job(self, now: float) -> None:
        self.incident = None
        if self._busy_since is not None:
            self.busy_minutes += now - self._busy_since
            self._busy_since = None

    def utilisation_parts(self, now: float) -> tuple[float, float]:
        """(minutes on calls, minutes on duty) so far, counting the current stretch."""
        busy = self.busy_minutes + (now - self._busy_since if self._busy_since is not None else 0)
        duty = self.duty_minutes + (now - self._duty_since if self._duty_since is not None else 0)
        return busy, duty

    def free_part(self, now: float) -> float:
        """Minutes free for dispatch while on duty so far."""
        return self.free_minutes + (now - self._free_since if self._free_since is not None
                                    else 0.0)
