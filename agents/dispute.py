"""A dispute between residents, from the moment it is raised to its one outcome."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

NAN = math.nan

LEVELS = ("community", "street", "district")
# "redirected": turned away at intake to litigation, arbitration or an administrative channel.
OUTCOMES = ("settled", "redirected", "court", "violent", "open")
# How a case came to the station: the parties raised it, screening found it, the police
# referred it (警调对接), it broke out again after a settlement, or a timeline put it there.
SOURCES = ("resident", "screening", "police", "recurrence", "timeline")

# Positions in a dispute's row of intrinsic draws (sim/mediation.py draws the rows in blocks,
# one per dispute, so paired policies see the same disputes with the same luck).
ROW = {
    "gap": 0, "raiser": 1, "category": 2, "severity": 3, "amount": 4, "parties": 5,
    "self_surface": 6, "screen_surface": 7, "channel": 8, "violence": 9, "self_resolve": 10,
    "flare": 11, "on_spot": 12, "call_service": 13, "redirect": 14, "recur": 15,
    "recur_days": 16, "refer": 17, "repeat": 18, "intake_level": 19,
}
PARTY_DRAWS = 20          # uniforms 20..27: the other parties (more: from a keyed stream)
N_PARTY_DRAWS = 8
SESSION_DRAWS = 28        # per session k: 28 + 3k (gap), +1 (length), +2 (settle draw)
MAX_SESSIONS_DRAWN = 12
SPARE_DRAWS = SESSION_DRAWS + 3 * MAX_SESSIONS_DRAWN   # later calls and flare-ups, in order
N_SPARE = 20
ROW_WIDTH = SPARE_DRAWS + N_SPARE


@dataclass(slots=True)
class Dispute:
    """One case at the people's mediation stations; times in minutes since the start, NaN until
    reached."""

    dispute_id: int
    category: str
    severity: float
    amount_yuan: float
    raiser: int            # resident id
    community: int
    street: int
    risk_group: int        # district working group that owns this category
    t_raised: float
    t_violent: float       # when it would turn violent if still unsettled (may be inf)
    t_first_session: float = NAN
    t_closed: float = NAN
    outcome: str = "open"
    level: str = "community"
    escalations: int = 0
    mediator_id: int = -1
    mediator_kind: str = ""
    sessions: int = field(default=0)
    # beyond the output contract:
    key: tuple = ()        # identity of its intrinsic draws (same key, same draws, any policy)
    parties: tuple = ()    # resident ids, the raiser first
    source: str = "resident"
    n_parties: int = 2
    intake_level: str = "community"
    police_involved: bool = False
    mentored: bool = False
    settle_chance: float = NAN   # chance of the session in which it settled
    hours: float = 0.0           # mediator hours spent on it
    t_next_session: float = NAN  # start of a meeting booked and not yet held (the demo shows it)
    generation: int = 0          # 0 for a first outbreak, k for its k-th recurrence
    conflict: object = None      # the Conflict behind the case (its draws are its row)

    @property
    def is_open(self) -> bool:
        return self.outcome == "open"


class Conflict:
    """The quarrel between residents behind a case: it arises, stays latent, surfaces, and is
    taken to a channel (the parties themselves, the station, the police, a court), perhaps more
    than once, until it is over.  One conflict has at most one open case at a time."""

    __slots__ = ("key", "row", "ci", "category", "raiser", "parties", "community", "street",
                 "severity", "amount_yuan", "t_surfaced", "t_violent", "police_involved",
                 "is_open", "generation", "flares", "case", "calls", "repeating", "_spare",
                 "_rng")

    def __init__(self, key: tuple, row: list, ci: int, category: str, raiser: int,
                 parties: tuple, community: int, street: int, severity: float,
                 amount_yuan: float, generation: int = 0):
        self.key = key
        self.row = row
        self.ci = ci
        self.category = category
        self.raiser = raiser
        self.parties = parties
        self.community = community
        self.street = street
        self.severity = severity
        self.amount_yuan = amount_yuan
        self.t_surfaced = NAN
        self.t_violent = math.inf
        self.police_involved = False
        self.is_open = True
        self.generation = generation
        self.flares = 0
        self.case: Dispute | None = None
        self.calls = 0
        self.repeating = False
        self._spare = 0
        self._rng = None

    def draw(self, streams) -> float:
        """The conflict's next own uniform for a later event (a call, a flare-up): from its
        row while they last, then from a stream keyed by the conflict."""
        k = self._spare
        self._spare += 1
        if k < N_SPARE:
            return self.row[SPARE_DRAWS + k]
        if self._rng is None:
            self._rng = streams.derived("disputes", *self.key, 1)
        return float(self._rng.random())
