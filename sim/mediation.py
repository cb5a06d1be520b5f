"""Mediation: the mediator pools at community, street and district level, their hours, and the
story of each case from intake to settled, court or violence.

A case reaches a community station when its parties raise it, when screening finds it, or when
the police refer it (sim/conflicts.py and sim/police_mediation.py tell those stories).  At
intake it may be redirected (litigation, arbitration, an administrative channel), more often
when the station cannot meet soon.  Otherwise it goes to whoever can meet soonest, full-time
staff before part-timers, and climbs community -> street -> district -> court; each session
books hours in the mediator's diary, so a busy station makes cases wait.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from agents.dispute import LEVELS, MAX_SESSIONS_DRAWN, ROW, SESSION_DRAWS, Conflict, Dispute
from agents.mediator import HOUR_KINDS, Mediator
from sim.clock import DAY, YEAR
from sim.config import ConfigError
from sim.config import Disputes as DisputesConfig
from sim.config import Mediators as MediatorsConfig
from sim.geography import largest_remainder
from sim.streams import exp1

INF = math.inf
NAN = math.nan
# Severity at which `violence.hazard_per_day` applies.
REFERENCE_SEVERITY = 0.4
# Assignment order at equal start times: full-time staff before part-timers.
_KIND_RANK = {"xiaoma": 0, "full_time": 0, "part_time": 1}


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class MediationPool:
    """The mediators of one community station, street studio or district working group."""

    def __init__(self, level: str, home: int):
        self.level = level
        self.home = home
        self.mediators: list[Mediator] = []

    def order(self) -> None:
        """Full-time staff first, then part-timers, each in staffing order (ties keep it)."""
        self.mediators.sort(key=lambda m: _KIND_RANK[m.kind])

    def soonest(self, t: float, minutes: float = 0.0) -> tuple[Mediator | None, float]:
        """The mediator who can have `minutes` of work asked for at `t` done soonest (with no
        minutes: start soonest), and when (inf: no one).  Ties keep the pool's order."""
        best, best_t = None, INF
        for m in self.mediators:
            end = m.finish_at(t, minutes)
            if end < best_t:
                best, best_t = m, end
        return best, best_t

    def backlog_days(self, t: float) -> float:
        """Days from `t` until someone here could start on a new case."""
        _, start = self.soonest(t)
        return (start - t) / DAY


class Mediation:
    """Builds the mediator pools and runs every case's story."""

    def __init__(self, model, dcfg: DisputesConfig, mcfg: MediatorsConfig):
        self.model = model
        self.env = model.env
        self.dcfg = dcfg
        self.mcfg = mcfg
        self.disputes: list[Dispute] = []
        self.categories = list(dcfg.categories)
        self.category_cfg = list(dcfg.categories.values())
        self.mediators: list[Mediator] = []
        self.open_by_level = dict.fromkeys(LEVELS, 0)
        self.community_route = np.arange(model.district.n_communities)
        self.screening_hours = np.zeros(model.district.n_communities)
        # Per-level session parameters, looked up once (the per-session path is hot).
        self.level_cfg = {lv: {
            "first_gap": getattr(dcfg.first_session_days, lv) * DAY,
            "gap": getattr(dcfg.session_gap_days, lv) * DAY,
            "max_sessions": int(getattr(dcfg.max_sessions, lv)),
            "meeting": getattr(dcfg.session_hours, lv),
            "prep": getattr(dcfg.prep_hours, lv),
            "followup": getattr(dcfg.followup_hours, lv),
            "logit": getattr(dcfg.settle_logit, lv)} for lv in LEVELS}
        self._centres()
        self._build_pools()
        self.set_handoff()
        from sim.conflicts import Conflicts
        from sim.police_mediation import PoliceMediationLink

        self.police = PoliceMediationLink(model, self)
        self.conflicts = Conflicts(model, self)
        if dcfg.enabled and any(v > 0 for v in mcfg.turnover_per_year.values()):
            self.env.process(self.turnover())

    def set_handoff(self) -> None:
        """Escalation hand-off for the current platform setting (it can change mid-run)."""
        d = self.dcfg
        self.handoff_days = (d.escalation_handoff_days
                             if self.model.cfg.scenario.dispatch.unified_platform
                             else d.escalation_handoff_days_no_platform)

    # ------------------------------------------------------------------ staff

    def _centres(self) -> None:
        """Where each station, studio and the district's groups sit: their residents' centre."""
        res, d = self.model.residents, self.model.district
        n = np.maximum(d.community_pop, 1)
        cx = np.bincount(res.community, weights=res.x, minlength=d.n_communities) / n
        cy = np.bincount(res.community, weights=res.y, minlength=d.n_communities) / n
        spop = np.maximum(np.bincount(d.community_street, weights=d.community_pop,
                                      minlength=d.n_streets), 1)
        sx = np.bincount(d.community_street, weights=cx * d.community_pop,
                         minlength=d.n_streets) / spop
        sy = np.bincount(d.community_street, weights=cy * d.community_pop,
                         minlength=d.n_streets) / spop
        gx = float(np.average(cx, weights=d.community_pop)) if n.sum() else 0.0
        gy = float(np.average(cy, weights=d.community_pop)) if n.sum() else 0.0
        self.centre = {"community": (cx.tolist(), cy.tolist()),
                       "street": (sx.tolist(), sy.tolist()), "district": (gx, gy)}

    def _build_pools(self) -> None:
        m, d = self.mcfg, self.model.district
        rng = self.model.streams["staff"]
        self.community_pools = [MediationPool("community", c) for c in range(d.n_communities)]
        self.street_pools = [MediationPool("street", s) for s in range(d.n_streets)]
        self.group_pools = [MediationPool("district", g) for g in range(m.working_groups)]
        for name in ("paid_hours_per_week", "casework_share"):
            missing = set(HOUR_KINDS) - set(getattr(m, name))
            if missing:
                raise ConfigError(f"scenario.mediators.{name}: needs a value for "
                                  f"{', '.join(sorted(missing))}")
        if not self.dcfg.enabled:
            return  # no disputes in this scenario: no one to staff (utilisation stays NaN)
        street_pop = np.bincount(d.community_street, weights=d.community_pop,
                                 minlength=d.n_streets)
        group_share = np.zeros(m.working_groups)
        for i, c in enumerate(self.category_cfg):
            group_share[i % m.working_groups] += c.share
        growth = m.skill_growth_per_case

        def hire(pool, kind, level):
            full = kind != "part_time"
            novice = getattr(m.skill_init, level) + rng.normal(0.0, m.skill_spread)
            if not full:
                novice += m.part_time_skill_offset
            novice = float(min(max(novice, 0.0), 1.0))
            # Experience so far: years in post (the turnover rate's stationary spread) times
            # the cases a year such a mediator handles.
            rate = m.turnover_per_year.get(kind, 0.0)
            years = rng.exponential(1.0 / rate) if rate > 0 else 0.0
            cases = years * m.cases_per_year_init.get(kind, 0.0)
            g = growth + (m.mentoring_growth_bonus if level == "community" and m.mentoring
                          else 0.0)
            skill = 1.0 - (1.0 - novice) * (1.0 - g) ** cases
            days = None
            if full and m.full_time_days_per_week < 7:
                days = tuple(range(m.full_time_days_per_week))
            elif not full:
                days = tuple(sorted(rng.choice(7, m.part_time_days_per_week,
                                               replace=False).tolist()))
            med = Mediator(self.model, kind, level, pool.home,
                           m.caseload_full_time if full else m.caseload_part_time, skill, days)
            med.novice_skill = novice
            pool.mediators.append(med)
            self.mediators.append(med)

        def staff(pools, per_pool, kind, level):
            for pool, n in zip(pools, per_pool, strict=True):
                for _ in range(int(n)):
                    hire(pool, kind, level)

        # Every community station gets a Xiao Ma while there are enough; stations left without
        # one get a part-timer first; the rest go to the biggest communities.
        n = d.n_communities
        xm = largest_remainder(d.community_pop, m.community_xiaoma,
                               minimum=1 if m.community_xiaoma >= n else 0)
        staff(self.community_pools, xm, "xiaoma", "community")
        pt = np.zeros(n, dtype=np.int64)
        empty = np.flatnonzero(xm == 0)
        empty = empty[np.argsort(-d.community_pop[empty], kind="stable")]
        first = empty[: m.community_part_time]
        pt[first] = 1
        pt += largest_remainder(d.community_pop, m.community_part_time - len(first))
        staff(self.community_pools, pt, "part_time", "community")
        ns = d.n_streets
        staff(self.street_pools, largest_remainder(
            street_pop, m.street_full_time, minimum=min(1, m.street_full_time // ns)),
            "full_time", "street")
        staff(self.street_pools, largest_remainder(street_pop, m.street_part_time),
              "part_time", "street")
        ng = m.working_groups
        staff(self.group_pools, largest_remainder(
            group_share, m.district_full_time, minimum=min(1, m.district_full_time // ng)),
            "full_time", "district")
        staff(self.group_pools, largest_remainder(group_share, m.district_part_time),
              "part_time", "district")
        for pools in (self.community_pools, self.street_pools, self.group_pools):
            for pool in pools:
                pool.order()

        # Each street studio's most skilled full-timer is its "Lao Ma": a senior who mentors
        # the community staff below ("the old horse leads the young horse").
        for pool in self.street_pools:
            seniors = [s for s in pool.mediators if s.kind == "full_time"]
            if seniors:
                max(seniors, key=lambda s: s.skill).senior = True
        for pool in self.community_pools:
            street = self.street_pools[int(d.community_street[pool.home])]
            lao_ma = [s for s in street.mediators if s.senior]
            for med in pool.mediators:
                med.mentor = lao_ma[0] if lao_ma else None
        self._set_hours()
        self._route_empty_stations()

    def _set_hours(self) -> None:
        """Paid hours and the share left for cases; each station's screening visits are made
        by its Xiao Ma (by its part-timers if it has none), up to a share of their hours."""
        m, s = self.mcfg, self.dcfg.screening
        for med in self.mediators:
            k = med.hour_kind
            med.paid_hours = m.paid_hours_per_week[k]
            med.casework_hours = m.paid_hours_per_week[k] * m.casework_share[k]
        for c, pool in enumerate(self.community_pools):
            staff = [x for x in pool.mediators if x.kind == "xiaoma"] or pool.mediators
            if not staff or s.hours_per_week <= 0:
                continue
            each = s.hours_per_week / len(staff)
            for med in staff:
                med.screening_hours = min(each, s.max_share * med.casework_hours)
            self.screening_hours[c] = sum(x.screening_hours for x in staff)
        for med in self.mediators:
            med.set_hours(med.casework_hours - med.screening_hours)

    def _route_empty_stations(self) -> None:
        """A community without staff sends its cases to the nearest staffed station."""
        staffed = np.array([bool(p.mediators) for p in self.community_pools])
        if staffed.all() or not staffed.any():
            return
        cx, cy = (np.array(v) for v in self.centre["community"])
        idx = np.flatnonzero(staffed)
        for c in np.flatnonzero(~staffed):
            dist = np.abs(cx[idx] - cx[c]) + np.abs(cy[idx] - cy[c])
            self.community_route[c] = idx[int(np.argmin(dist))]

    def turnover(self):
        """SimPy process: mediators leave at their kind's annual rate; a novice takes the post
        (and the diary) at once."""
        rng, env = self.model.streams["staff"], self.env
        rates = self.mcfg.turnover_per_year
        heap = []
        for i, med in enumerate(self.mediators):
            r = rates.get(med.kind, 0.0)
            if r > 0:
                heap.append((env.now + rng.exponential(YEAR / r), i))
        heapq.heapify(heap)
        while heap:
            t, i = heapq.heappop(heap)
            if t > env.now:
                yield env.timeout(t - env.now)
            med = self.mediators[i]
            med.replaced()
            heapq.heappush(heap, (env.now + rng.exponential(YEAR / rates[med.kind]), i))

    def resume_waiting(self) -> None:
        """Mediators are back (after an absence).  Diaries need no nudge: a case asks for its
        next session when it is due, and takes whoever can meet soonest then."""

    def pool_for(self, dispute: Dispute, level: str) -> MediationPool:
        if level == "community":
            return self.community_pools[int(self.community_route[dispute.community])]
        if level == "street":
            return self.street_pools[dispute.street]
        return self.group_pools[dispute.risk_group]

    # ------------------------------------------------------------------ arrivals

    def arrivals(self):
        """SimPy process: disputes arise (sim/conflicts.py); in the validation scenario they
        arrive straight at the station instead."""
        yield from self.conflicts.arrivals()

    def inject(self, category: str | None, community: int | None, severity: float | None,
               amount_yuan: float | None, parties: int, rng: np.random.Generator) -> Dispute:
        """A dispute a timeline puts in the scenario now (missing attributes drawn as usual)."""
        return self.conflicts.inject(category, community, severity, amount_yuan, parties, rng)

    # ------------------------------------------------------------------ intake

    def time_to_violence(self, severity: float, e: float) -> float:
        """Invert the cumulative hazard h·(s/s0)^k·(t + t²/2g) (t in days) at an Exp(1) draw."""
        v = self.dcfg.violence
        h = v.hazard_per_day * (severity / REFERENCE_SEVERITY) ** v.severity_exponent
        if h <= 0:
            return INF
        g = v.growth_days
        days = g * (math.sqrt(1.0 + 2.0 * e / (h * g)) - 1.0)
        return days * DAY

    def raise_case(self, conflict: Conflict, source: str) -> Dispute:
        """The conflict comes to its community station as a case; intake decides whether it is
        taken for mediation or redirected."""
        env = self.env
        dispute = Dispute(
            dispute_id=len(self.disputes), category=conflict.category,
            severity=conflict.severity, amount_yuan=conflict.amount_yuan,
            raiser=conflict.raiser, community=conflict.community, street=conflict.street,
            risk_group=conflict.ci % self.mcfg.working_groups, t_raised=env.now,
            t_violent=conflict.t_violent, key=conflict.key, parties=conflict.parties,
            source=source, police_involved=conflict.police_involved,
            generation=conflict.generation, conflict=conflict)
        conflict.case = dispute
        dispute.n_parties = len(conflict.parties)
        if source == "resident":
            dispute.level = dispute.intake_level = self._intake_level(conflict)
        self.disputes.append(dispute)
        self.open_by_level[dispute.level] += 1
        if self.model.narrative is not None:
            self.model.log("dispute_raised", category=dispute.category,
                           community=dispute.community + 1, id=dispute.dispute_id)
        if self._redirected(dispute):
            self._close(dispute, "redirected")
        else:
            env.process(self.life(dispute))
        return dispute

    def _intake_level(self, conflict: Conflict) -> str:
        """Parties who come themselves may go straight to the district's specialised committee
        for the category (medical, traffic, labour, ...) or to the street studio."""
        u = conflict.row[ROW["intake_level"]]
        district = self.category_cfg[conflict.ci].district_intake_share
        if u < district:
            return "district"
        if u < district + self.dcfg.intake.street_intake_share:
            return "street"
        return "community"

    def _redirected(self, dispute: Dispute) -> bool:
        """Intake: redirect to litigation, arbitration or an administrative channel with a
        chance that grows with money at stake, severity and the station's backlog."""
        c = self.dcfg.intake
        if c.redirect_logit <= -50:
            return False
        pool = self._first_staffed_pool(dispute)
        backlog = min(pool.backlog_days(self.env.now), 365.0) if pool is not None else 365.0
        logit = (c.redirect_logit
                 + c.redirect_amount_weight * math.log(max(dispute.amount_yuan, 1.0) / 1e4)
                 + c.redirect_severity_weight * dispute.severity
                 + c.redirect_backlog_weight * backlog)
        return dispute.conflict.row[ROW["redirect"]] < _sigmoid(logit)

    def _first_staffed_pool(self, dispute: Dispute) -> MediationPool | None:
        """The pool that would take the case: its own level's, or, as a level with no one at
        it is skipped, the next staffed one up (None: no one at any level)."""
        for level in LEVELS[LEVELS.index(dispute.level):]:
            pool = self.pool_for(dispute, level)
            if pool.mediators:
                return pool
        return None

    # ------------------------------------------------------------------ the story

    def life(self, dispute: Dispute):
        """Community station, then street studio, then district working group, then court; at
        any point an unsettled dispute may turn violent.  A level with no one at it is skipped,
        and the skip counts as an escalation."""
        start = LEVELS.index(dispute.level)
        for i, level in enumerate(LEVELS[start:], start):
            pool = self.pool_for(dispute, level)
            if i > start:
                dispute.escalations += 1
                self.model.log("dispute_escalated", category=dispute.category,
                               community=dispute.community + 1, level=level,
                               id=dispute.dispute_id)
            if not pool.mediators:
                continue
            self._set_level(dispute, level)
            if i > start and (yield from self._wait(dispute, self.handoff_days * DAY)):
                return
            outcome = yield from self._at_level(dispute, pool, level)
            if outcome is None:
                return  # turned violent
            if outcome:
                self._close(dispute, "settled")
                return
        self._close(dispute, "court")

    def _at_level(self, dispute: Dispute, pool: MediationPool, level: str):
        """Up to max_sessions sessions with one mediator (a colleague takes over if the
        mediator leaves for good); True if settled, False if not, None if it turned violent."""
        d, env = self.dcfg, self.env
        lc = self.level_cfg[level]
        first_gap, later_gap = lc["first_gap"], lc["gap"]
        mediator: Mediator | None = None
        for k in range(lc["max_sessions"]):
            u_gap, u_len, u_settle = self._session_draws(dispute)
            gap = (first_gap if k == 0 else later_gap) * exp1(u_gap)
            if (yield from self._wait(dispute, gap)):
                if mediator is not None:
                    mediator.close_case(env.now, 0.0)
                return None
            while True:
                if mediator is None or math.isinf(mediator.earliest_start(env.now)):
                    if mediator is not None:
                        mediator.close_case(env.now, 0.0)
                    # Whoever can have the meeting done soonest (a part-timer whose hours are
                    # thin may start sooner and still finish later).
                    expect = self._session_hours(dispute, level, u_len, 0.0)[0]
                    mediator, _ = pool.soonest(env.now, expect * 60.0)
                    if mediator is None:
                        return False   # no one at this level can meet: the case goes up
                    self._assign(dispute, mediator, level)
                meeting, followup, put_in = self._session_hours(dispute, level, u_len,
                                                                mediator.backlog_days(env.now))
                start = yield from self._meeting(dispute, mediator, meeting * 60.0,
                                                 followup * 60.0)
                if start is None:
                    mediator.close_case(env.now, 0.0)
                    return None
                if not math.isinf(start):
                    break
                # The mediator left for good before the meeting: a colleague takes it over.
            dispute.hours += meeting + followup
            if dispute.sessions == 0:
                dispute.t_first_session = start
            dispute.sessions += 1
            if d.single_session:
                mediator.close_case(env.now, self._growth(dispute))
                self._narrate_session(dispute, level, start, True)
                return True
            p = self.settle_chance(dispute, mediator, level, put_in)
            self._narrate_session(dispute, level, start, u_settle < p)
            if u_settle < p:
                dispute.settle_chance = p
                mediator.close_case(env.now, self._growth(dispute))
                return True
        mediator.close_case(env.now, self._growth(dispute))
        return False

    def _meeting(self, dispute: Dispute, mediator: Mediator, meeting_min: float,
                 followup_min: float):
        """Book a session's meeting and follow-up in the mediator's diary and wait until the
        meeting is over; a spell away that begins meanwhile moves it later.  The meeting's
        start, or None if violence came first, or inf if the mediator left for good first."""
        env = self.env
        start, end = mediator.book(env.now, meeting_min)
        # The follow-up visit (回访) takes the mediator's hours after the meeting; the case
        # does not wait for it.
        _, followup_end = mediator.book(end, followup_min)
        # Where the blocks sit on the mediator's work clock, which stands still while away.
        start_w, end_w, followup_w = (mediator.work_at(t) for t in (start, end, followup_end))
        while end > env.now:
            dispute.t_next_session = start
            if (yield from self._wait(dispute, end - env.now)):
                start = None
                break
            start, end = mediator.time_at(start_w), mediator.time_at(end_w, end=True)
            if math.isinf(end):
                start = INF   # gone for good before the meeting was over
                break
        dispute.t_next_session = NAN
        if start is None or math.isinf(start):
            mediator.unbook(followup_w, followup_min)
            mediator.unbook(end_w, meeting_min)
        return start

    def _narrate_session(self, dispute: Dispute, level: str, start: float,
                         settled: bool) -> None:
        # The demo's case story needs each session's time and result, which the case record
        # keeps only as a count.
        if self.model.narrative is not None:
            self.model.log("session_held", category=dispute.category, id=dispute.dispute_id,
                           community=dispute.community + 1, level=level, n=dispute.sessions,
                           start=start, settled=settled, mediator=dispute.mediator_id,
                           mediator_kind=dispute.mediator_kind)

    def _session_draws(self, dispute: Dispute) -> tuple[float, float, float]:
        """The dispute's own uniforms for its next session (gap, length, settlement)."""
        k = dispute.sessions
        if k < MAX_SESSIONS_DRAWN:
            base = SESSION_DRAWS + 3 * k
            row = dispute.conflict.row
            return row[base], row[base + 1], row[base + 2]
        draw = dispute.conflict.draw
        streams = self.model.streams
        return draw(streams), draw(streams), draw(streams)

    def _assign(self, dispute: Dispute, mediator: Mediator, level: str) -> None:
        mediator.take_case(self.env.now)
        dispute.mediator_id = mediator.unique_id
        dispute.mediator_kind = mediator.kind
        dispute.mentored = False
        mentor = mediator.mentor
        if (level == "community" and self.mcfg.mentoring and mentor is not None
                and mentor.backlog_days(self.env.now) <= self.mcfg.mentoring_max_wait_days):
            # The senior reviews the case with the junior: it costs the senior's hours.
            mentor.book(self.env.now, self.mcfg.mentoring_hours_per_case * 60.0)
            dispute.mentored = True
        if self.model.narrative is not None:
            self.model.log("dispute_taken", category=dispute.category, id=dispute.dispute_id,
                           community=dispute.community + 1, level=level,
                           mediator_kind=mediator.kind,
                           mediator=mediator.unique_id, mentored=dispute.mentored)

    def _session_hours(self, dispute: Dispute, level: str, u_len: float,
                       backlog_days: float) -> tuple[float, float, float]:
        """Hours of one session: up to the meeting's end (travel to the parties, preparation,
        the meeting), the follow-up after it, and the hours put into the dispute.  A mediator
        with a backlog cuts preparation and follow-up short."""
        lc = self.level_cfg[level]
        meeting = lc["meeting"] * (1.0 + self.dcfg.session_hours_severity
                                   * dispute.severity) * exp1(u_len)
        rush = 1.0 / (1.0 + backlog_days / self.mcfg.rush_days)
        prep, followup = lc["prep"] * rush, lc["followup"] * rush
        return (self._travel_hours(dispute, level) + prep + meeting, followup,
                prep + meeting + followup)

    def _travel_hours(self, dispute: Dispute, level: str) -> float:
        """A round trip from the station to the raiser's home (home visits, 入户调解)."""
        speed = self.mcfg.travel_speed_kmh
        if speed >= 1e8:
            return 0.0
        res = self.model.residents
        if level == "district":
            x, y = self.centre["district"]
        else:
            xs, ys = self.centre[level]
            i = (int(self.community_route[dispute.community]) if level == "community"
                 else dispute.street)
            x, y = xs[i], ys[i]
        dist = abs(float(res.x[dispute.raiser]) - x) + abs(float(res.y[dispute.raiser]) - y)
        return 2.0 * dist / speed

    def settle_chance(self, dispute: Dispute, mediator: Mediator, level: str,
                      hours: float) -> float:
        """Chance that a session settles the dispute: more with the hours put in, the
        mediator's skill and a senior's mentoring; less with severity, money at stake, the
        number of parties and the time since the dispute was raised."""
        d, lc = self.dcfg, self.level_cfg[level]
        ref = (lc["prep"] + lc["followup"]
               + lc["meeting"] * (1.0 + d.session_hours_severity * dispute.severity))
        delay_days = (self.env.now - dispute.t_raised) / DAY
        logit = (lc["logit"] + d.settle_skill_weight * mediator.skill
                 - d.settle_severity_weight * dispute.severity
                 - d.settle_amount_weight * math.log1p(dispute.amount_yuan / 1e5)
                 - d.settle_parties_weight * max(len(dispute.parties) - 2, 0)
                 - d.settle_delay_weight * delay_days / 30.0)
        if d.settle_hours_weight > 0 and ref > 0:
            logit += d.settle_hours_weight * math.log(max(hours, 1e-3) / ref)
        if dispute.mentored:
            logit += self.mcfg.mentoring_settle_bonus
        return _sigmoid(logit)

    def _growth(self, dispute: Dispute) -> float:
        m = self.mcfg
        return m.skill_growth_per_case + (m.mentoring_growth_bonus if dispute.mentored else 0.0)

    def _wait(self, dispute: Dispute, delay: float):
        """Let `delay` minutes pass; True (and the dispute closed) if violence came first."""
        if delay <= 0:
            return False
        env = self.env
        if dispute.t_violent <= env.now + delay:
            yield env.timeout(max(dispute.t_violent - env.now, 0.0))
            self._turn_violent(dispute)
            return True
        yield env.timeout(delay)
        return False

    def _turn_violent(self, dispute: Dispute) -> None:
        self._close(dispute, "violent")

    def _close(self, dispute: Dispute, outcome: str) -> None:
        self.open_by_level[dispute.level] -= 1
        dispute.outcome = outcome
        dispute.t_closed = self.env.now
        self.conflicts.case_closed(dispute)
        self.model.narrate_dispute(dispute)

    def _set_level(self, dispute: Dispute, level: str) -> None:
        self.open_by_level[dispute.level] -= 1
        self.open_by_level[level] += 1
        dispute.level = level
