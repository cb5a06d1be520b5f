"""Mediation: disputes raised by residents, the mediator pools at community, street and district
level, and the story of each dispute from raised to settled, court or violence."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import simpy

from agents.dispute import LEVELS, Dispute
from agents.mediator import DAY, Mediator
from sim.config import Disputes as DisputesConfig
from sim.config import Mediators as MediatorsConfig
from sim.geography import largest_remainder

INF = math.inf
# Severity at which `violence.hazard_per_day` applies.
REFERENCE_SEVERITY = 0.4
# A session outcome: the mediator left for good before the case was done.
HANDED_OVER = "handed_over"


class MediationPool:
    """The mediators of one community station, street studio or district working group, with a
    first-come-first-served queue of disputes waiting for a free caseload slot."""

    def __init__(self, env: simpy.Environment, level: str, home: int):
        self.env = env
        self.level = level
        self.home = home
        self.mediators: list[Mediator] = []
        self.waiting: deque = deque()

    def _pick(self) -> Mediator | None:
        # Spread cases by load (part-timers carry committee work too), full-time staff first
        # at equal load since they can meet any day, then the most skilled; ties by list
        # order, so runs are reproducible.
        best, best_key = None, None
        for m in self.mediators:
            if m.has_room:
                key = (m.active / m.caseload, m.available_days is not None, -m.skill)
                if best_key is None or key < best_key:
                    best, best_key = m, key
        return best

    def request(self) -> simpy.Event:
        """An event that fires with the mediator who takes the case."""
        event = self.env.event()
        m = self._pick()
        if m is not None and not self.waiting:
            m.take_case(self.env.now)
            event.succeed(m)
        else:
            self.waiting.append(event)
        return event

    def cancel(self, event: simpy.Event) -> None:
        """Withdraw a waiting request (the dispute turned violent while it waited)."""
        if event.triggered:
            event.value.close_case(self.env.now, 0.0)
            self._serve_waiting()
        else:
            self.waiting.remove(event)

    def release(self, mediator: Mediator, growth: float) -> None:
        mediator.close_case(self.env.now, growth)
        self._serve_waiting()

    def _serve_waiting(self) -> None:
        while self.waiting:
            m = self._pick()
            if m is None:
                return
            m.take_case(self.env.now)
            self.waiting.popleft().succeed(m)


class Mediation:
    """Builds the mediator pools and runs every dispute's story."""

    def __init__(self, model, dcfg: DisputesConfig, mcfg: MediatorsConfig):
        self.model = model
        self.env = model.env
        self.dcfg = dcfg
        self.mcfg = mcfg
        self.disputes: list[Dispute] = []
        self.rng = model.streams["mediation"]
        self.categories = list(dcfg.categories)
        self.category_cfg = list(dcfg.categories.values())
        self.category_cum = np.cumsum([c.share for c in self.category_cfg])
        self.mediators: list[Mediator] = []
        self.open_by_level = dict.fromkeys(LEVELS, 0)
        self._build_pools()
        self.set_handoff()

    def set_handoff(self) -> None:
        """Escalation hand-off for the current platform setting (it can change mid-run)."""
        d = self.dcfg
        self.handoff_days = (d.escalation_handoff_days
                             if self.model.cfg.scenario.dispatch.unified_platform
                             else d.escalation_handoff_days_no_platform)

    # ------------------------------------------------------------------ staff

    def _build_pools(self) -> None:
        m, d = self.mcfg, self.model.district
        rng = self.model.streams["staff"]
        env = self.env
        self.community_pools = [MediationPool(env, "community", c) for c in range(d.n_communities)]
        self.street_pools = [MediationPool(env, "street", s) for s in range(d.n_streets)]
        self.group_pools = [MediationPool(env, "district", g) for g in range(m.working_groups)]
        street_pop = np.bincount(d.community_street, weights=d.community_pop,
                                 minlength=d.n_streets)
        # Each district working group's share of cases follows its categories' shares.
        group_share = np.zeros(m.working_groups)
        for i, c in enumerate(self.category_cfg):
            group_share[i % m.working_groups] += c.share
        if not self.dcfg.enabled:
            return  # no disputes in this scenario: no one to staff (utilisation stays NaN)

        def staff(pools, weights, count, kind, level, minimum=0):
            per_pool = largest_remainder(weights, count, minimum=min(minimum, count // max(
                len(pools), 1)))
            for pool, n in zip(pools, per_pool, strict=True):
                for _ in range(int(n)):
                    full = kind != "part_time"
                    skill = getattr(m.skill_init, level) + rng.normal(0.0, m.skill_spread)
                    days = None
                    if not full:
                        days = tuple(sorted(rng.choice(7, m.part_time_days_per_week,
                                                       replace=False).tolist()))
                    med = Mediator(self.model, kind, level, pool.home,
                                   m.caseload_full_time if full else m.caseload_part_time,
                                   float(min(max(skill, 0.0), 1.0)), days)
                    pool.mediators.append(med)
                    self.mediators.append(med)

        # Every community station gets a Xiao Ma first; the rest go to the biggest communities.
        staff(self.community_pools, d.community_pop, m.community_xiaoma, "xiaoma", "community", 1)
        staff(self.community_pools, d.community_pop, m.community_part_time, "part_time",
              "community")
        staff(self.street_pools, street_pop, m.street_full_time, "full_time", "street", 1)
        staff(self.street_pools, street_pop, m.street_part_time, "part_time", "street")
        staff(self.group_pools, group_share, m.district_full_time, "full_time", "district", 1)
        staff(self.group_pools, group_share, m.district_part_time, "part_time", "district")

        # "The old horse leads the young horse": each community mediator's mentor is the most
        # skilled full-time mediator of the street studio above it.
        for pool in self.community_pools:
            street = self.street_pools[int(d.community_street[pool.home])]
            seniors = [s for s in street.mediators if s.kind == "full_time"]
            if seniors:
                mentor = max(seniors, key=lambda s: s.skill)
                for med in pool.mediators:
                    med.mentor = mentor

    def resume_waiting(self) -> None:
        """Mediators are back (after an absence): give waiting disputes to them."""
        for pools in (self.community_pools, self.street_pools, self.group_pools):
            for pool in pools:
                pool._serve_waiting()

    def inject(self, category: str | None, community: int | None, severity: float | None,
               amount_yuan: float | None, parties: int, rng: np.random.Generator) -> Dispute:
        """A dispute a timeline puts in the scenario now (missing attributes drawn as usual)."""
        residents, district = self.model.residents, self.model.district
        ci = (self.categories.index(category) if category is not None
              else int(rng.integers(len(self.categories))))
        cat = self.category_cfg[ci]
        if community is None:
            community = int(rng.integers(district.n_communities))
        members = np.flatnonzero(residents.community == community)
        raiser = int(members[rng.integers(len(members))]) if len(members) else 0
        if severity is None:
            a = cat.severity_mean * self.dcfg.severity_concentration
            severity = float(rng.beta(a, self.dcfg.severity_concentration - a))
        if amount_yuan is None:
            amount_yuan = float(rng.lognormal(math.log(max(cat.amount_median_yuan, 1e-9)),
                                              cat.amount_sigma)) * max(parties / 2, 1)
        dispute = Dispute(
            dispute_id=len(self.disputes), category=self.categories[ci], severity=severity,
            amount_yuan=amount_yuan, raiser=raiser, community=community,
            street=int(district.community_street[community]),
            risk_group=ci % self.mcfg.working_groups, t_raised=self.env.now,
            t_violent=self.env.now + self._time_to_violence(severity, rng.exponential()),
        )
        self.disputes.append(dispute)
        self.open_by_level[dispute.level] += 1
        self.env.process(self.life(dispute))
        self.model.say(f"{dispute.category} dispute ({parties} parties, "
                       f"{dispute.amount_yuan / 1e4:,.0f} wan yuan) raised in community "
                       f"{community + 1}")
        return dispute

    def pool_for(self, dispute: Dispute, level: str) -> MediationPool:
        if level == "community":
            return self.community_pools[dispute.community]
        if level == "street":
            return self.street_pools[dispute.street]
        return self.group_pools[dispute.risk_group]

    # ------------------------------------------------------------------ arrivals

    def arrivals(self):
        """SimPy process: residents raise disputes (Poisson), the prone ones more often."""
        env = self.env
        residents = self.model.residents
        d = self.dcfg
        if d.arrival_rate_per_hour is not None:
            rate_per_min = d.arrival_rate_per_hour / 60.0
        else:
            rate_per_min = d.rate_per_1000_per_year * residents.n / 1000.0 / (365 * DAY)
        if rate_per_min <= 0:
            return
        for batch in self._draw_batches(rate_per_min):
            for gap, raiser, community, street, ci, severity, amount, e_violence in zip(
                    *batch, strict=True):
                yield env.timeout(gap)
                dispute = Dispute(
                    dispute_id=len(self.disputes),
                    category=self.categories[ci],
                    severity=severity,
                    amount_yuan=amount,
                    raiser=raiser,
                    community=community,
                    street=street,
                    risk_group=ci % self.mcfg.working_groups,
                    t_raised=env.now,
                    t_violent=env.now + self._time_to_violence(severity, e_violence),
                )
                self.disputes.append(dispute)
                self.open_by_level[dispute.level] += 1
                env.process(self.life(dispute))
                if self.model.narrative is not None:
                    self.model.log("dispute_raised", category=dispute.category,
                                   community=community + 1)

    def _draw_batches(self, rate_per_min: float, size: int = 1024):
        """Arrival attributes drawn in vectorised blocks (numpy's per-call cost dominates
        otherwise); the blocks come from the disputes and violence streams only."""
        rng, vrng = self.model.streams["disputes"], self.model.streams["violence"]
        residents = self.model.residents
        street_of = self.model.district.community_street
        d = self.dcfg
        cum = self.category_cum / self.category_cum[-1]
        sev_mean = np.array([c.severity_mean for c in self.category_cfg])
        median = np.array([max(c.amount_median_yuan, 1e-300) for c in self.category_cfg])
        has_amount = np.array([c.amount_median_yuan > 0 for c in self.category_cfg])
        sigma = np.array([c.amount_sigma for c in self.category_cfg])
        k = d.severity_concentration
        while True:
            gaps = rng.exponential(1.0 / rate_per_min, size)
            u = rng.random((2, size))
            ci = np.minimum(np.searchsorted(cum, u[1], side="right"), len(cum) - 1)
            a = sev_mean[ci] * k
            severity = rng.beta(a, k - a)
            amount = np.where(has_amount[ci], rng.lognormal(np.log(median[ci]), sigma[ci]), 0.0)
            raisers = residents.pick_by_propensity(u[0])
            communities = residents.community[raisers]
            yield (gaps.tolist(), raisers.tolist(), communities.tolist(),
                   street_of[communities].tolist(), ci.tolist(), severity.tolist(),
                   amount.tolist(),
                   vrng.exponential(1.0, size).tolist())

    def _time_to_violence(self, severity: float, e: float) -> float:
        """Invert the cumulative hazard h·(s/s0)^k·(t + t²/2g) (t in days) at an Exp(1) draw."""
        v = self.dcfg.violence
        h = v.hazard_per_day * (severity / REFERENCE_SEVERITY) ** v.severity_exponent
        if h <= 0:
            return INF
        g = v.growth_days
        days = g * (math.sqrt(1.0 + 2.0 * e / (h * g)) - 1.0)
        return days * DAY

    # ------------------------------------------------------------------ the story

    def life(self, dispute: Dispute):
        """Community station, then street studio, then district working group, then court; at
        any point an unsettled dispute may turn violent."""
        tried_a_level = False
        for level in LEVELS:
            pool = self.pool_for(dispute, level)
            if not pool.mediators:
                continue  # no one at this level in this scenario: the case goes up
            self._set_level(dispute, level)
            if tried_a_level:
                dispute.escalations += 1
                self.model.log("dispute_escalated", category=dispute.category,
                               community=dispute.community + 1, level=level)
                if (yield from self._wait(dispute, self.handoff_days * DAY)):
                    return
            tried_a_level = True
            outcome = HANDED_OVER
            while outcome is HANDED_OVER:
                mediator = yield from self._assigned(dispute, pool)
                if mediator is None:
                    return  # turned violent while waiting
                outcome = yield from self._sessions(dispute, mediator, level)
                pool.release(mediator, 0.0 if outcome is HANDED_OVER else self._growth(mediator))
            if outcome is None:
                return  # turned violent
            if outcome:
                self._close(dispute, "settled")
                return
        self._close(dispute, "court")

    def _assigned(self, dispute: Dispute, pool: MediationPool):
        """Wait for a mediator of `pool` to take the case; None if violence came first."""
        env = self.env
        request = pool.request()
        if not request.triggered:
            remaining = dispute.t_violent - env.now
            if remaining < INF:
                yield request | env.timeout(remaining)
            else:
                yield request
            if not request.triggered:
                pool.cancel(request)
                self._turn_violent(dispute)
                return None
        mediator: Mediator = request.value
        dispute.mediator_id = mediator.unique_id
        dispute.mediator_kind = mediator.kind
        return mediator

    def _sessions(self, dispute: Dispute, mediator: Mediator, level: str):
        """Hold up to max_sessions; True if settled, False if not, None if it turned violent,
        HANDED_OVER if the mediator is gone for good (a colleague at the same level takes it)."""
        d, rng, env = self.dcfg, self.rng, self.env
        for k in range(int(getattr(d.max_sessions, level))):
            mean_gap = getattr(d.first_session_days if k == 0 else d.session_gap_days, level)
            gap = rng.exponential(mean_gap * DAY) if mean_gap > 0 else 0.0
            start = mediator.next_available(env.now + gap)
            if start == INF:
                return HANDED_OVER
            if (yield from self._wait(dispute, start - env.now)):
                return None
            if dispute.sessions == 0:
                dispute.t_first_session = env.now
            dispute.sessions += 1
            hours = getattr(d.session_hours, level)
            if (yield from self._wait(dispute, rng.exponential(hours * 60.0))):
                return None
            if d.single_session or rng.random() < self._settle_chance(dispute, mediator, level):
                return True
        return False

    def _settle_chance(self, dispute: Dispute, mediator: Mediator, level: str) -> float:
        d = self.dcfg
        logit = (getattr(d.settle_logit, level) + d.settle_skill_weight * mediator.skill
                 - d.settle_severity_weight * dispute.severity)
        if self.mcfg.mentoring and mediator.mentor is not None:
            logit += self.mcfg.mentoring_settle_bonus
        return 1.0 / (1.0 + math.exp(-logit))

    def _growth(self, mediator: Mediator) -> float:
        m = self.mcfg
        bonus = m.mentoring_growth_bonus if (m.mentoring and mediator.mentor is not None) else 0.0
        return m.skill_growth_per_case + bonus

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
        model = self.model
        res = model.residents
        model.desk.report(
            "dispute", "dispute_violence", None, float(res.x[dispute.raiser]),
            float(res.y[dispute.raiser]), dispute.raiser,
            on_scene_min=model.cfg.scenario.calls.violent_dispute_on_scene_min,
            priority=1, violent=True,
        )

    def _close(self, dispute: Dispute, outcome: str) -> None:
        self.open_by_level[dispute.level] -= 1
        dispute.outcome = outcome
        dispute.t_closed = self.env.now
        r = self.model.cfg.scenario.residents
        delta = {"settled": r.satisfaction_settled, "court": r.satisfaction_court,
                 "violent": r.satisfaction_violent}[outcome]
        self.model.residents.adjust_satisfaction(dispute.raiser, delta)
        self.model.narrate_dispute(dispute)

    def _set_level(self, dispute: Dispute, level: str) -> None:
        self.open_by_level[dispute.level] -= 1
        self.open_by_level[level] += 1
        dispute.level = level
