"""Mediators: community "Xiao Ma" station staff, committee full- and part-timers, and the
senior "Lao Ma" of the street studios who mentor the juniors.

A mediator's time is the resource.  Each has a diary: the hours a week left for casework after
other duties and screening visits, worked through first come, first served on the mediator's
working days.  A session's preparation, meeting, follow-up and travel are booked as one block;
when the week's hours are taken the block starts later, so cases wait when hours run out.
"""

from __future__ import annotations

import math

import mesa

from sim.clock import DAY, WEEK

INF = math.inf

KINDS = ("xiaoma", "full_time", "part_time")
# Hours, shares and utilisation are kept for the street studios' senior mediators apart from
# the other full-timers; in the staffing counts they are full-time committee mediators.
HOUR_KINDS = (*KINDS, "senior")


class Mediator(mesa.Agent):
    """One mediator: a diary of booked work, and a skill that grows with cases."""

    def __init__(self, model, kind: str, level: str, home: int, caseload: int, skill: float,
                 available_days: tuple[int, ...] | None = None, casework_hours: float = 168.0,
                 paid_hours: float = 168.0, senior: bool = False):
        super().__init__(model)
        self.kind = kind
        self.level = level
        self.home = home                    # community, street or working-group index
        self.caseload = caseload            # kept for the demo's display; hours limit work
        self.skill = skill
        self.novice_skill = skill
        self.senior = senior
        self.available_days = available_days  # weekdays (0 = Monday); None = every day
        self.mentor: Mediator | None = None
        self.absent_until = 0.0             # off sick / on leave until this time
        self.active = 0                     # open cases in hand
        self.cases_handled = 0
        self.paid_hours = paid_hours        # a week
        self.screening_hours = 0.0          # a week, set by the station
        self.casework_hours = casework_hours
        days = tuple(range(7)) if available_days is None else tuple(sorted(available_days))
        self._days = days
        self._before = [sum(1 for d in days if d < k) for k in range(8)]
        self._works = [k in days for k in range(7)]
        self._n_days = len(days)
        self._all_days = len(days) == 7
        self._free_work = 0.0               # work-minute coordinate at which the diary is free
        # Spells away (off sick, on leave, gone): (from, to) on the working-days clock, during
        # which the work clock stands still.
        self._away: list[tuple[float, float]] = []
        self.booked_work = 0.0              # work minutes booked so far (cases and mentoring)
        self.set_hours(casework_hours)

    @property
    def hour_kind(self) -> str:
        return "senior" if self.senior else self.kind

    # ------------------------------------------------------------------ the diary

    def set_hours(self, casework_hours: float) -> None:
        """Hours a week this mediator can give to cases (after other duties and screening);
        the work clock stays continuous through a change."""
        now = self.model.env.now
        w_now = self.work_at(now) if hasattr(self, "_rate") else 0.0
        self.casework_hours = casework_hours
        # Work minutes per working calendar minute (a sliver at least: no one has no hours).
        self._rate = max(casework_hours, 1e-3) / (len(self._days) * 24.0)
        self._w0 = w_now - self._rate * self._working_minutes(now)

    def _working_minutes(self, t: float) -> float:
        """Minutes this mediator has worked or could have by `t`: working days, less spells
        away."""
        x = self._days_minutes(t)
        if self._away:
            x -= sum(min(x, b) - a for a, b in self._away if a < x)
        return x

    def _days_minutes(self, t: float) -> float:
        """Minutes of this mediator's working days up to `t`."""
        if self._all_days or math.isinf(t):
            return t
        week = t // WEEK
        rem = t - week * WEEK
        d = int(rem // DAY)
        if d > 6:
            d = 6
        within = rem - d * DAY if self._works[d] else 0.0
        return (week * self._n_days + self._before[d]) * DAY + within

    def work_at(self, t: float) -> float:
        """Work minutes this mediator has had available (from an arbitrary origin) by `t`."""
        return self._w0 + self._rate * self._working_minutes(t)

    def time_at(self, w: float, end: bool = False) -> float:
        """The time at which this mediator's work clock reaches `w`.  At a day boundary a start
        is the next working day's beginning, an `end` the last working day's close."""
        m = (w - self._w0) / self._rate
        for a, b in self._away:
            # The spells away are skipped; a block ending as one begins ends before it.
            if m < a or (end and m == a):
                break
            m += b - a
        if self._all_days or math.isinf(m):
            return m
        n = self._n_days
        span = n * DAY
        if end:
            week = math.ceil(m / span) - 1
            rem = m - week * span
            k = max(math.ceil(rem / DAY) - 1, 0)
        else:
            week = math.floor(m / span)
            rem = m - week * span
            k = int(rem // DAY)
            if k >= n:
                week, k, rem = week + 1, 0, 0.0
        return week * WEEK + self._days[k] * DAY + (rem - k * DAY)

    def earliest_start(self, t: float) -> float:
        """When a block of work asked for at `t` could start (inf: never again)."""
        if t < self.absent_until:
            t = self.absent_until
            if t == INF:
                return INF
        w = self._w0 + self._rate * self._working_minutes(t)
        if w >= self._free_work:
            return t if self._all_days or self._works[int((t % WEEK) // DAY)] else \
                max(self.time_at(w), t)
        return max(self.time_at(self._free_work), t)

    def finish_at(self, t: float, minutes: float) -> float:
        """When `minutes` of work asked for at `t` would be done (inf: never)."""
        if minutes <= 0:
            return self.earliest_start(t)
        if t < self.absent_until:
            t = self.absent_until
            if t == INF:
                return INF
        w = max(self._w0 + self._rate * self._working_minutes(t), self._free_work)
        return max(self.time_at(w + minutes, end=True), t)

    def backlog_days(self, t: float) -> float:
        """Days from `t` until this mediator could start new work."""
        return (self.earliest_start(t) - t) / DAY

    def away(self, now: float, until: float) -> None:
        """Off sick, on leave or gone for good (`until` inf) from `now` to `until`; an `until`
        not after `now` brings the mediator back now.  The work clock stands still meanwhile,
        so sessions already in the diary move later by the time away."""
        here = self._days_minutes(now)
        spells = [(a, min(b, here)) for a, b in self._away if a < here]
        if until > now:
            spells.append((here, self._days_minutes(until)))
        self._away = [(a, b) for a, b in spells if b > a]
        self.absent_until = until if until > now else 0.0

    def book(self, t: float, minutes: float) -> tuple[float, float]:
        """Book `minutes` of work asked for at `t`: (start, end) in calendar minutes."""
        t = max(t, self.absent_until)
        if math.isinf(t):
            return INF, INF
        w = max(self.work_at(t), self._free_work)
        end_w = w + max(minutes, 0.0)
        self._free_work = end_w
        self.booked_work += max(minutes, 0.0)
        start = max(self.time_at(w), t)
        return start, max(self.time_at(end_w, end=True), start)

    def unbook(self, end_w: float, minutes: float) -> None:
        """Give back a block that has not been worked (its case closed first), if it is the last
        one in the diary (it ends at `end_w` on the work clock); an earlier block stays, as time
        already set aside."""
        if abs(self._free_work - end_w) < 1e-6:
            self._free_work -= minutes
            self.booked_work -= minutes

    def work_done(self, now: float) -> float:
        """Booked work minutes already worked by `now` (the rest is booked ahead)."""
        ahead = max(self._free_work - self.work_at(now), 0.0)
        return max(self.booked_work - ahead, 0.0)

    # ------------------------------------------------------------------ cases and skill

    def take_case(self, now: float) -> None:
        if self.active == 0:
            self.model.busy_mediators[self.kind] += 1
        self.active += 1

    def close_case(self, now: float, growth: float) -> None:
        """A case in hand is over; learn from it (`growth` includes any mentoring)."""
        self.active -= 1
        if self.active == 0:
            self.model.busy_mediators[self.kind] -= 1
        self.cases_handled += 1
        self.skill += growth * (1.0 - self.skill)

    def replaced(self) -> None:
        """This mediator left; a novice takes over the post (and the diary)."""
        self.skill = self.novice_skill

    def next_available(self, t: float) -> float:
        """Earliest time >= t at which this mediator works (inf: never again)."""
        t = max(t, self.absent_until)
        if self.available_days is None or math.isinf(t):
            return t
        day = math.floor(t / DAY)
        for k in range(8):
            if (day + k) % 7 in self.available_days:
                return t if k == 0 else (day + k) * DAY
        return t  # unreachable: available_days is never empty
