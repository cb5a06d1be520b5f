"""Conflicts between residents: how they arise, stay latent, surface and are taken somewhere.

A conflict arises between two or more residents of a community and is latent at first, its
severity growing, until one of the parties acts or screening visits (排查) find it.  Found by
screening, it goes to the station at once.  Otherwise the raiser chooses
(``Residents.choose_channel``, by trust, severity and money at stake) between handling it
themselves, the mediation station, the police (sim/police_mediation.py) and a court; the
choice is made with the trust the raiser has when the conflict arises, and carried out when it
surfaces.  Handled by the parties, it settles quietly or flares up later, more severe, and they
choose again (with their trust then).  Conflicts settled quietly or taken to court touch
neither the stations nor the police, so they are only counted.
A settled conflict can break out again between the same parties, less often when it was
settled well.  Every way it ends moves the parties' trust and satisfaction
(``Residents.update_trust``).

Common random numbers: every conflict's intrinsic draws (category, severity, amount, parties,
surfacing, choices, its sessions' uniforms) are one row drawn for it alone, in arrival order
from the disputes stream (recurrences and timeline cases from streams keyed by the conflict),
so paired policies see the same conflicts with the same luck.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from agents.dispute import N_PARTY_DRAWS, PARTY_DRAWS, ROW, ROW_WIDTH, Conflict, Dispute
from agents.resident import COURT, POLICE, SELF, STATION
from sim.clock import DAY
from sim.streams import exp1

INF = math.inf
# Conflicts that arose before the run are simulated from this many mean latent periods back,
# so the run starts with the latent pipeline full (no warm-up trend in what surfaces).
WARMUP_LATENT_PERIODS = 6.0
MAX_FLARES = 3


class Conflicts:
    """Arising, surfacing and channel choice of conflicts; the residents' side of mediation."""

    def __init__(self, model, mediation):
        self.model = model
        self.env = model.env
        self.mediation = mediation
        self.dcfg = d = mediation.dcfg
        self.channels = d.channels
        self.categories = mediation.categories
        self.category_cfg = mediation.category_cfg
        self.n_arisen = 0
        self.reset_counts()
        residents, district = model.residents, model.district
        # Screening's detection hazard per minute for a latent conflict in each community:
        # households reached a week over the community's households.
        s = d.screening
        households = np.maximum(district.community_pop / s.household_size, 1.0)
        self.screen_rate = (mediation.screening_hours * s.households_per_hour / households
                            / (7 * DAY))
        self._screen_rate = self.screen_rate.tolist()
        self._street_of = district.community_street
        self._timeline_n = 0
        self._residents = residents
        self._direct = False

    def reset_counts(self) -> None:
        """Where conflicts went, and each case's severity when taken in (read by the metrics;
        started again at the end of a warm-up)."""
        self.counts = dict.fromkeys(
            ("surfaced", "screened", "self", "self_resolved", "flared", "station", "police",
             "court", "recurred", "violent_outside"), 0)
        self.severity_at_intake: list[float] = []

    # ------------------------------------------------------------------ drawing

    def draw_rows(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` rows of intrinsic draws (see agents.dispute.ROW): uniforms, with the category,
        severity at origin and money at stake drawn from their distributions."""
        rows = rng.random((n, ROW_WIDTH))
        cum = np.cumsum([c.share for c in self.category_cfg])
        ci = np.minimum(np.searchsorted(cum / cum[-1], rows[:, ROW["category"]], side="right"),
                        len(cum) - 1)
        k = self.dcfg.severity_concentration
        a = np.array([c.severity_mean for c in self.category_cfg])[ci] * k
        rows[:, ROW["category"]] = ci
        rows[:, ROW["severity"]] = rng.beta(a, k - a)
        median = np.array([max(c.amount_median_yuan, 1e-300) for c in self.category_cfg])[ci]
        sigma = np.array([c.amount_sigma for c in self.category_cfg])[ci]
        has = np.array([c.amount_median_yuan > 0 for c in self.category_cfg])[ci]
        rows[:, ROW["amount"]] = np.where(has, median * np.exp(sigma * rng.standard_normal(n)),
                                          0.0)
        return rows

    def _parties(self, row: list, ci: int, raiser: int, community: int, key: tuple,
                 others: int | None = None) -> tuple:
        """The raiser and the other parties (one, plus a geometric number more), neighbours
        from the same community."""
        if others is None:
            m = self.category_cfg[ci].parties_extra_mean
            q = m / (1.0 + m)
            others = 1 + (int(math.log1p(-row[ROW["parties"]]) / math.log(q)) if q > 0 else 0)
        us = row[PARTY_DRAWS:PARTY_DRAWS + min(others, N_PARTY_DRAWS)]
        if others > N_PARTY_DRAWS:
            rng = self.model.streams.derived("disputes", *key, 2)
            us = us + rng.random(others - N_PARTY_DRAWS).tolist()
        pick = self._residents.pick_in_community
        return (raiser, *(pick(community, u) for u in us))

    # ------------------------------------------------------------------ arising

    def arrivals(self):
        """SimPy process: conflicts arise (Poisson, the prone residents more often), in blocks
        of vectorised draws; each is scheduled at the moment it surfaces."""
        d, env = self.dcfg, self.env
        residents = self.model.residents
        direct = self._direct = d.arrival_rate_per_hour is not None
        if direct:
            rate_per_min = d.arrival_rate_per_hour / 60.0
        else:
            rate_per_min = d.rate_per_1000_per_year * residents.n / 1000.0 / (365 * DAY)
        if rate_per_min <= 0:
            return
        rng = self.model.streams["disputes"]
        latent = 0.0 if direct else d.latent_days_mean * DAY
        t = -WARMUP_LATENT_PERIODS * latent
        size = 1024
        while True:
            rows = self.draw_rows(rng, size)
            gaps = rows[:, ROW["gap"]]
            arrive = t + np.cumsum(-np.log1p(-gaps) / rate_per_min)
            t = float(arrive[-1])
            raisers = residents.pick_by_propensity(rows[:, ROW["raiser"]])
            communities = residents.community[raisers]
            # Latent until the parties act or screening finds it, whichever is first.
            t_self = latent * -np.log1p(-rows[:, ROW["self_surface"]])
            lam = self.screen_rate[communities]
            with np.errstate(divide="ignore"):
                t_screen = np.where(lam > 0, -np.log1p(-rows[:, ROW["screen_surface"]])
                                    / np.where(lam > 0, lam, 1.0), INF)
            wait = np.minimum(t_self, t_screen)
            found = t_screen < t_self
            growth = np.exp(-wait / (d.severity_growth_days * DAY))
            severity = 1.0 - (1.0 - rows[:, ROW["severity"]]) * growth
            surface = arrive + wait
            first = self.n_arisen
            self.n_arisen += size
            # The raiser decides what to do about it when it arises (by trust at that time)
            # and acts when it surfaces; a conflict the parties settle quietly needs nothing
            # more simulated.
            if direct:
                channel = np.full(size, STATION, dtype=np.int8)
            else:
                channel = residents.choose_channel(raisers, rows[:, ROW["channel"]], severity,
                                                   rows[:, ROW["amount"]], self.channels)
            channel[found] = STATION
            after = surface >= env.now
            # Settled quietly by the parties, or taken to court (which tells the parties
            # nothing about mediation or the police): nothing more to simulate.
            quiet = after & (channel == SELF) & (rows[:, ROW["self_resolve"]]
                                                 < self.channels.self_resolve_prob)
            court = after & (channel == COURT)
            n_quiet, n_court = int(quiet.sum()), int(court.sum())
            self.counts["surfaced"] += n_quiet + n_court
            self.counts["self"] += n_quiet
            self.counts["self_resolved"] += n_quiet
            self.counts["court"] += n_court
            todo = np.flatnonzero(after & ~quiet & ~court)
            if len(todo):
                now = env.now
                surface_cb = self._surface_event
                for i, at, r, c, sv, f, ch in zip(
                        todo.tolist(), surface[todo].tolist(), raisers[todo].tolist(),
                        communities[todo].tolist(), severity[todo].tolist(),
                        found[todo].tolist(), channel[todo].tolist(), strict=True):
                    env.timeout(at - now).callbacks.append(partial(
                        surface_cb, (first + i, rows, i, r, c, sv, f, ch)))
            if t > env.now:
                yield env.timeout(t - env.now)

    def _surface_event(self, args: tuple, _event) -> None:
        k, rows, i, raiser, community, severity, found, channel = args
        self.counts["surfaced"] += 1
        if found:
            self.counts["screened"] += 1
        self.surface((0, k), rows[i].tolist(), raiser, community, severity, found, channel)

    def surface(self, key: tuple, row: list, raiser: int, community: int, severity: float,
                found: bool, channel: int) -> None:
        """A latent conflict comes to light (found by screening, or one of the parties acts)
        and is taken to `channel`."""
        ci = int(row[ROW["category"]])
        conflict = Conflict(key, row, ci, self.categories[ci], raiser, (), community,
                            int(self._street_of[community]), severity, row[ROW["amount"]])
        conflict.t_surfaced = self.env.now
        conflict.t_violent = self.env.now + self.mediation.time_to_violence(
            severity, exp1(row[ROW["violence"]]))
        if self._direct:
            conflict.parties = self._parties(row, ci, raiser, community, key, others=1)
            self.to_station(conflict, "resident")
        elif found:
            conflict.parties = self._parties(row, ci, raiser, community, key)
            self.to_station(conflict, "screening")
        else:
            self.take(conflict, channel)

    def choose(self, conflict: Conflict, u: float) -> None:
        """The raiser takes the conflict somewhere (``Residents.choose_channel``)."""
        self.take(conflict, self._residents.choose_channel_one(
            conflict.raiser, u, conflict.severity, conflict.amount_yuan, self.channels))

    def take(self, conflict: Conflict, channel: int) -> None:
        if channel == SELF:
            self.counts["self"] += 1
            self.self_help(conflict)
            return
        if not conflict.parties:
            conflict.parties = self._parties(conflict.row, conflict.ci, conflict.raiser,
                                             conflict.community, conflict.key)
        if channel == STATION:
            self.to_station(conflict, "recurrence" if conflict.generation else "resident")
        elif channel == POLICE:
            self.counts["police"] += 1
            self.mediation.police.call(conflict)
        else:
            self.counts["court"] += 1
            conflict.is_open = False      # to litigation: nothing the stations or police see

    def to_station(self, conflict: Conflict, source: str) -> Dispute:
        self.counts["station"] += 1
        self.severity_at_intake.append(conflict.severity)
        return self.mediation.raise_case(conflict, source)

    def self_help(self, conflict: Conflict) -> None:
        """The parties handle it themselves: it settles quietly, or flares up again later, more
        severe (unless violence comes first), and they choose again."""
        c, row = self.channels, conflict.row
        u = row[ROW["self_resolve"]] if conflict.flares == 0 else self._extra(conflict, 0)
        if u < c.self_resolve_prob or conflict.flares >= MAX_FLARES:
            self.counts["self_resolved"] += 1
            conflict.is_open = False
            return
        e = row[ROW["flare"]] if conflict.flares == 0 else self._extra(conflict, 1)
        flare_at = self.env.now + c.flare_days_mean * DAY * exp1(e)
        if conflict.police_involved and conflict.t_violent < flare_at:
            # Police were called and left it unsettled: the waiting feeds violence.
            self.env.timeout(max(conflict.t_violent - self.env.now, 0.0)).callbacks.append(
                lambda _e: self.turn_violent(conflict))
            return
        self.env.timeout(flare_at - self.env.now).callbacks.append(
            lambda _e: self._flare(conflict))

    def _flare(self, conflict: Conflict) -> None:
        if not conflict.is_open:
            return
        self.counts["flared"] += 1
        conflict.flares += 1
        conflict.severity = min(1.0, conflict.severity + self.channels.flare_severity_bump)
        self.choose(conflict, self._extra(conflict, 2))

    def _extra(self, conflict: Conflict, slot: int) -> float:
        """A further draw of the conflict's own, for its later flare-ups."""
        return conflict.draw(self.model.streams)

    # ------------------------------------------------------------------ endings

    def case_closed(self, dispute: Dispute) -> None:
        """A case at the stations is over: the conflict with it, and its parties judge how it
        went; a settlement may break out again later."""
        conflict = dispute.conflict
        outcome = dispute.outcome
        c = self.channels
        if outcome == "violent":
            self.turn_violent(conflict, record=False)
            return
        exp = c.experience["court" if outcome == "court" else outcome]
        if outcome == "settled":
            days = (dispute.t_closed - dispute.t_raised) / DAY
            exp -= c.experience_delay_penalty * min(days / 30.0, 1.0)
        self._residents.update_trust(dispute.parties, exp)
        if conflict is not None:
            conflict.is_open = False
            if outcome == "settled":
                self.maybe_recur(conflict, self.recurrence_chance(dispute.settle_chance))

    def end(self, conflict: Conflict, outcome: str, police: bool = False) -> None:
        """The conflict ends outside the stations (court, settled by the police on the spot,
        left unresolved)."""
        conflict.is_open = False
        self._residents.update_trust(conflict.parties or (conflict.raiser,),
                                     self.channels.experience[outcome], police=police)

    def turn_violent(self, conflict: Conflict | None, record: bool = True) -> None:
        """The conflict turns violent: a priority-1 police incident at the raiser's home."""
        if conflict is not None:
            if not conflict.is_open and record:
                return
            conflict.is_open = False
            if record:
                self.counts["violent_outside"] += 1
            parties = conflict.parties or (conflict.raiser,)
            raiser = conflict.raiser
        else:
            return
        model = self.model
        res = model.residents
        self._residents.update_trust(parties, self.channels.experience["violent"])
        model.desk.report(
            "dispute", "dispute_violence", None, float(res.x[raiser]), float(res.y[raiser]),
            raiser, on_scene_min=model.cfg.scenario.calls.violent_dispute_on_scene_min,
            priority=1, violent=True,
        )

    def recurrence_chance(self, settle_chance: float) -> float:
        """Chance that a mediated settlement breaks down: `prob_max` for one reached at a
        coin-flip chance, less the surer the settlement was (none at certainty)."""
        return self.dcfg.recurrence.prob_max * min(1.0, 2.0 * (1.0 - settle_chance))

    def maybe_recur(self, conflict: Conflict, p: float) -> None:
        """A settled conflict breaks out again between the same parties with chance `p`."""
        r = self.dcfg.recurrence
        row = conflict.row
        if p <= 0 or row[ROW["recur"]] >= p:
            return
        at = self.env.now + r.days_mean * DAY * exp1(row[ROW["recur_days"]])
        self.env.timeout(at - self.env.now).callbacks.append(lambda _e: self._recur(conflict))

    def _recur(self, old: Conflict) -> None:
        self.counts["recurred"] += 1
        gen = old.generation + 1
        key = (*old.key, 3, gen)
        row = self.draw_rows(self.model.streams.derived("disputes", *key), 1)[0]
        row[ROW["category"]] = old.ci       # the same quarrel between the same people
        row_l = row.tolist()
        conflict = Conflict(key, row_l, old.ci, old.category, old.raiser, old.parties,
                            old.community, old.street, float(row[ROW["severity"]]),
                            old.amount_yuan, generation=gen)
        conflict.t_surfaced = self.env.now
        conflict.t_violent = self.env.now + self.mediation.time_to_violence(
            conflict.severity, exp1(row_l[ROW["violence"]]))
        self.choose(conflict, row_l[ROW["channel"]])

    # ------------------------------------------------------------------ timeline

    def inject(self, category, community, severity, amount_yuan, parties, rng) -> Dispute:
        """A case a timeline puts at a station now (missing attributes drawn as usual)."""
        residents, district = self.model.residents, self.model.district
        self._timeline_n += 1
        key = (3, self._timeline_n)
        row = self.draw_rows(self.model.streams.derived("disputes", *key), 1)[0].tolist()
        ci = (self.categories.index(category) if category is not None
              else int(rng.integers(len(self.categories))))
        if community is None:
            community = int(rng.integers(district.n_communities))
        raiser = residents.pick_in_community(community, float(rng.random()))
        if severity is None:
            a = self.category_cfg[ci].severity_mean * self.dcfg.severity_concentration
            severity = float(rng.beta(a, self.dcfg.severity_concentration - a))
        if amount_yuan is None:
            amount_yuan = row[ROW["amount"]] * max(parties / 2, 1)
        conflict = Conflict(key, row, ci, self.categories[ci], raiser, (), community,
                            int(district.community_street[community]), severity, amount_yuan)
        conflict.parties = self._parties(row, ci, raiser, community, key,
                                         others=max(parties - 1, 0))
        conflict.t_surfaced = self.env.now
        conflict.t_violent = self.env.now + self.mediation.time_to_violence(
            severity, exp1(row[ROW["violence"]]))
        self.model.say(f"{conflict.category} dispute ({parties} parties, "
                       f"{amount_yuan / 1e4:,.0f} wan yuan) raised in community "
                       f"{community + 1}")
        return self.to_station(conflict, "timeline")
