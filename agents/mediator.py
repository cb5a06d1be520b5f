"""Mediators: community "Xiao Ma" station staff, committee full- and part-timers, and the
senior "Lao Ma" of the street studios who mentor the juniors."""

from __future__ import annotations

import math

import mesa

DAY = 1440.0
WEEK = 7 * DAY

KINDS = ("xiaoma", "full_time", "part_time")


class Mediator(mesa.Agent):
    """One mediator: a caseload of concurrent disputes, a skill that grows with cases."""

    def __init__(self, model, kind: str, level: str, home: int, caseload: int, skill: float,
                 available_days: tuple[int, ...] | None = None):
        super().__init__(model)
        self.kind = kind
        self.level = level
        self.home = home                    # community, street or working-group index
        self.caseload = caseload
        self.skill = skill
        self.available_days = available_days  # weekdays (0 = Monday); None = every day
        self.mentor: Mediator | None = None
        self.absent_until = 0.0             # off sick / on leave until this time
        self.active = 0
        self.cases_handled = 0
        self._slot_minutes = 0.0             # integral of active cases over time
        self._last_change = 0.0

    @property
    def has_room(self) -> bool:
        return self.active < self.caseload and self.model.env.now >= self.absent_until

    def _account(self, now: float) -> None:
        self._slot_minutes += self.active * (now - self._last_change)
        self._last_change = now

    def take_case(self, now: float) -> None:
        self._account(now)
        if self.active == 0:
            self.model.busy_mediators[self.kind] += 1
        self.active += 1

    def close_case(self, now: float, growth: float) -> None:
        """Free a caseload slot and learn from the case (`growth` includes any mentoring)."""
        self._account(now)
        self.active -= 1
        if self.active == 0:
            self.model.busy_mediators[self.kind] -= 1
        self.cases_handled += 1
        self.skill += growth * (1.0 - self.skill)

    def slot_minutes(self, now: float) -> float:
        """Caseload-slot minutes used so far (for utilisation)."""
        return self._slot_minutes + self.active * (now - self._last_change)

    def next_available(self, t: float) -> float:
        """Earliest time >= t at which this mediator can hold a session (inf: never again)."""
        t = max(t, self.absent_until)
        if self.available_days is None or math.isinf(t):
            return t
        day = math.floor(t / DAY)
        for k in range(8):
            if (day + k) % 7 in self.available_days:
                return t if k == 0 else (day + k) * DAY
        return t  # unreachable: available_days is never empty
