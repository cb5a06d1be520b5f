"""Residents: every one individual, held as numpy columns.

A million Mesa ``Agent`` objects cost seconds and half a gigabyte; the same people as columns
cost milliseconds and tens of megabytes.  ``Residents[i]`` gives a ``Resident`` view of one
person whose attributes read and write the columns, so code can still talk about "a resident".

Behaviour lives here as functions on the columns: ``choose_channel`` (where a resident takes a
dispute: handle it themselves, the mediation station, the police, a court) and ``update_trust``
(how the way a dispute or call was handled moves the parties' trust and satisfaction).
"""

from __future__ import annotations

import math

import numpy as np

from sim.config import Residents as ResidentsConfig
from sim.geography import District


class Resident:
    """View of one resident; attribute access goes straight to the population's columns."""

    __slots__ = ("_pop", "id")

    def __init__(self, population: Residents, rid: int):
        self._pop = population
        self.id = int(rid)

    @property
    def community(self) -> int:
        return int(self._pop.community[self.id])

    @property
    def location(self) -> tuple[float, float]:
        return float(self._pop.x[self.id]), float(self._pop.y[self.id])

    @property
    def propensity(self) -> float:
        return float(self._pop.propensity[self.id])

    @property
    def satisfaction(self) -> float:
        return float(self._pop.satisfaction[self.id])

    @property
    def trust_mediation(self) -> float:
        return float(self._pop.trust_mediation[self.id])

    @property
    def trust_police(self) -> float:
        return float(self._pop.trust_police[self.id])

    def __repr__(self) -> str:
        return (f"Resident({self.id}, community={self.community}, "
                f"satisfaction={self.satisfaction:.2f})")


# Channels a resident can take a dispute to (codes of ``choose_channel``).
SELF, STATION, POLICE, COURT = 0, 1, 2, 3
CHANNELS = ("self", "station", "police", "court")


def channel_weights(trust_mediation, trust_police, severity, log_amount, c, exp=np.exp):
    """Multinomial-logit weights (self, station, police, court) of where a dispute is taken:
    relative to handling it oneself, trust in mediation (above what residents start with)
    draws it to the station, trust in the police and severity to 110, money at stake to a
    court.  Works on floats or arrays."""
    w_station = exp(c.station_logit + c.trust_weight * trust_mediation)
    w_police = exp(c.police_logit + c.trust_weight * trust_police
                   + c.police_severity_weight * (severity - 0.4))
    w_court = exp(c.court_logit + c.court_amount_weight * log_amount)
    return 1.0, w_station, w_police, w_court


class Residents:
    """The whole population: home community and location, dispute propensity, trust in
    mediation and in the police, satisfaction."""

    def __init__(self, district: District, cfg: ResidentsConfig, geo_rng, rng):
        counts = district.community_pop
        self.n = int(counts.sum())
        self.community = np.repeat(np.arange(district.n_communities), counts).astype(np.int32)
        # Residents are stored community by community: community c is the range
        # [community_start[c], community_start[c + 1]).
        self.community_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._community_start = self.community_start.tolist()
        cells = district.community_cells.pick(self.community, geo_rng.random(self.n))
        x, y = district.random_points_in_cells(cells, geo_rng)
        self.x = x.astype(np.float32)
        self.y = y.astype(np.float32)
        # Mean-one lognormal: a few residents are far more dispute-prone than most.
        sigma = cfg.propensity_sigma
        self.propensity = rng.lognormal(-sigma**2 / 2, sigma, self.n).astype(np.float32)
        self._cum_propensity = np.cumsum(self.propensity, dtype=np.float64)
        self.satisfaction = np.full(self.n, cfg.satisfaction_init, dtype=np.float64)
        # Running sum so the per-tick mean costs nothing for a million residents.
        self._satisfaction_sum = float(cfg.satisfaction_init) * self.n
        self.trust_mediation = np.full(self.n, cfg.trust_mediation_init, dtype=np.float32)
        self.trust_police = np.full(self.n, cfg.trust_police_init, dtype=np.float32)
        self.trust_ref = (float(cfg.trust_mediation_init), float(cfg.trust_police_init))
        self.trust_rate = cfg.trust_learning_rate
        self.satisfaction_rate = cfg.satisfaction_learning_rate
        # Residents who had a dispute handled or called the police during the run: their mean
        # satisfaction is the outcome (the population's mean would only dilute it and creep
        # as more people are touched).
        self.contacted = np.zeros(self.n, dtype=bool)
        self.party = np.zeros(self.n, dtype=bool)     # had a dispute of theirs handled
        self.called = np.zeros(self.n, dtype=bool)    # had a call of theirs answered or lost

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rid: int) -> Resident:
        if not 0 <= rid < self.n:
            raise IndexError(rid)
        return Resident(self, rid)

    def pick_by_propensity(self, u: np.ndarray) -> np.ndarray:
        """The residents whose shares of total propensity cover the uniform draws `u`."""
        i = np.searchsorted(self._cum_propensity, u * self._cum_propensity[-1], side="right")
        return np.minimum(i, self.n - 1)

    def adjust_satisfaction(self, rid: int, delta: float) -> None:
        """Move one resident's satisfaction by `delta`, kept within [0, 1]."""
        sat = self.satisfaction
        old = sat.item(rid)
        new = min(1.0, max(0.0, old + delta))
        sat[rid] = new
        self._satisfaction_sum += new - old
        self.contacted[rid] = True
        self.called[rid] = True

    def pick_in_community(self, community: int, u: float) -> int:
        """The resident of `community` at uniform draw `u` (everyone equally likely)."""
        lo, hi = self._community_start[community], self._community_start[community + 1]
        return min(lo + int(u * (hi - lo)), hi - 1) if hi > lo else 0

    # ------------------------------------------------------------------ behaviour

    def choose_channel(self, rids, u, severity, amount_yuan, channels_cfg) -> np.ndarray:
        """Where each raiser `rids[i]` takes a dispute, at uniform draw `u[i]` (codes SELF,
        STATION, POLICE, COURT); vectorised over the disputes."""
        rids = np.asarray(rids, dtype=np.int64)
        log_amount = np.log(np.maximum(np.asarray(amount_yuan, dtype=float), 1.0) / 1e4)
        w = channel_weights(self.trust_mediation[rids].astype(float) - self.trust_ref[0],
                            self.trust_police[rids].astype(float) - self.trust_ref[1],
                            np.asarray(severity, dtype=float), log_amount, channels_cfg)
        weights = np.vstack([np.broadcast_to(x, rids.shape) for x in w])
        cum = np.cumsum(weights, axis=0)
        pick = (np.asarray(u) * cum[-1])[None, :] >= cum
        return pick.sum(axis=0).astype(np.int8)

    def choose_channel_one(self, rid: int, u: float, severity: float, amount_yuan: float,
                           channels_cfg) -> int:
        """``choose_channel`` for one dispute, in plain floats (the per-event hot path)."""
        ws = channel_weights(self.trust_mediation.item(rid) - self.trust_ref[0],
                             self.trust_police.item(rid) - self.trust_ref[1],
                             severity, math.log(max(amount_yuan, 1.0) / 1e4), channels_cfg,
                             exp=math.exp)
        target = u * sum(ws)
        acc = 0.0
        for code, w in enumerate(ws):
            acc += w
            if target < acc:
                return code
        return COURT

    def update_trust(self, rids, experience: float, police: bool = False) -> None:
        """The parties `rids` had a dispute handled with `experience` (0 awful .. 1 excellent):
        their trust in mediation (or the police) and their satisfaction move part of the way
        towards it, so both stay in [0, 1] and settle where service puts them."""
        a, b = self.trust_rate, self.satisfaction_rate
        if a == 0.0 and b == 0.0:
            return            # residents who learn nothing (validation scenarios)
        trust = self.trust_police if police else self.trust_mediation
        if len(rids) > 16:     # a crowd (a wage dispute with forty workers): one array step
            ids = np.asarray(rids, dtype=np.int64)
            trust[ids] += a * (experience - trust[ids])
            self.party[ids] = True
            for rid in ids.tolist():
                self._satisfy_towards(rid, experience, b)
            return
        party = self.party
        for rid in rids:       # two or three parties: plain floats are faster than arrays
            t = trust.item(rid)
            trust[rid] = t + a * (experience - t)
            party[rid] = True
            self._satisfy_towards(rid, experience, b)

    def _satisfy_towards(self, rid: int, experience: float, rate: float) -> None:
        old = self.satisfaction.item(rid)
        new = old + rate * (experience - old)
        self.satisfaction[rid] = new
        self._satisfaction_sum += new - old
        self.contacted[rid] = True

    @property
    def mean_satisfaction(self) -> float:
        return self._satisfaction_sum / self.n if self.n else float("nan")

    @property
    def party_satisfaction(self) -> float:
        """Mean satisfaction of the residents who were parties to a dispute handled so far."""
        touched = self.satisfaction[self.party]
        return float(touched.mean()) if len(touched) else float("nan")

    @property
    def caller_satisfaction(self) -> float:
        """Mean satisfaction of the residents whose calls to the police were handled so far
        (reached, given up, or handed to the backup force); a caller may be a party too."""
        touched = self.satisfaction[self.called]
        return float(touched.mean()) if len(touched) else float("nan")

    @property
    def contacted_satisfaction(self) -> float:
        """Mean satisfaction of the residents who had a dispute or a call handled so far."""
        touched = self.satisfaction[self.contacted]
        return float(touched.mean()) if len(touched) else float("nan")
