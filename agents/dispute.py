"""A dispute between residents, from the moment it is raised to its one outcome."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

NAN = math.nan

LEVELS = ("community", "street", "district")
OUTCOMES = ("settled", "court", "violent", "open")


@dataclass(slots=True)
class Dispute:
    """One dispute; times in minutes since the start, NaN until reached."""

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

    @property
    def is_open(self) -> bool:
        return self.outcome == "open"
