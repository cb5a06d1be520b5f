"""The schema of a timeline event: something that happens at a set time, injected by a stress
scenario (``scenario.events``) or a trainer's timeline file.  What each kind does is told in
``sim/timeline.py``; this module only says what an event may contain."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from sim.clock import DAY
from sim.provenance import EVENT, param

_AT = re.compile(r"^\s*day\s+(\d+)(?:\s+(\d{1,2}):(\d{2}))?\s*$", re.IGNORECASE)
# Fields each kind reads, besides at, kind, duration_days and note.
EVENT_FIELDS = {
    "note": (),
    "call_surge": ("factor", "hotspot_kinds"),
    "mediator_absence": ("share", "mediator_kind"),
    "unit_absence": ("share", "unit_type", "shift"),
    "dispute": ("category", "community", "severity", "amount_yuan", "parties"),
    "incident": ("incident_kind", "priority", "grid", "community"),
}
EVENT_KINDS = tuple(EVENT_FIELDS)
MEDIATOR_KINDS = ("xiaoma", "full_time", "part_time")
EVENT_COMMON_FIELDS = ("at", "kind", "duration_days", "note")   # fields of every event


def event_start_minutes(at: Any) -> float:
    """Minutes since the start for an event's ``at``: a number of days (0 = start) or a text
    such as "day 2 14:00" (day 1 is the first day)."""
    if isinstance(at, bool):
        raise ValueError(f"must be a number of days or 'day N HH:MM', got {at!r}")
    if isinstance(at, (int, float)):
        if not math.isfinite(at) or at < 0:
            raise ValueError(f"must be a finite number of days >= 0, got {at!r}")
        return float(at) * DAY
    m = _AT.match(str(at))
    if not m:
        raise ValueError(f"must be a number of days or 'day N HH:MM' (e.g. 'day 2 14:00'), "
                         f"got {at!r}")
    day = int(m.group(1))
    hour = int(m.group(2) or 0)
    minute = int(m.group(3) or 0)
    if day < 1 or day > 36_500 or hour > 23 or minute > 59:
        raise ValueError(f"day must be in [1, 36500], hour 0-23 and minute 0-59, got {at!r}")
    return (day - 1) * DAY + hour * 60 + minute


class Event(BaseModel):
    """One scheduled event.  Which fields matter depends on `kind`; a field that does not
    apply to the kind is an error (see ``EVENT_FIELDS``)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    at: float | str = param(0.0, unit="days since start, or 'day N HH:MM'", source=EVENT)
    kind: str | None = param(None, source=EVENT)
    duration_days: float | None = param(None, unit="days", ge=0.0, le=36_500.0, source=EVENT)
    note: str = param("", source=EVENT, max_length=2000)
    # call_surge
    factor: float = param(1.0, unit="x normal call rate", ge=0.0, le=1000.0, source=EVENT)
    hotspot_kinds: list[str] = param([], source=EVENT)
    # mediator_absence / unit_absence
    share: float = param(0.0, unit="share of the pool", ge=0.0, le=1.0, source=EVENT)
    mediator_kind: str | None = param(None, source=EVENT)
    unit_type: str | None = param(None, source=EVENT)
    shift: int | None = param(None, unit="shift number (from 0)", ge=0, le=23, source=EVENT)
    # dispute / incident
    category: str | None = param(None, source=EVENT)
    community: int | None = param(None, unit="as numbered on the map", ge=1, le=1_000_000,
                                  source=EVENT)
    severity: float | None = param(None, unit="0..1", ge=0.0, le=1.0, source=EVENT)
    amount_yuan: float | None = param(None, unit="yuan", ge=0.0, le=1e12, source=EVENT)
    parties: int = param(2, unit="people", ge=1, le=1_000_000, source=EVENT)
    incident_kind: str | None = param(None, source=EVENT)
    priority: int | None = param(None, ge=1, le=3, source=EVENT)
    grid: int | None = param(None, unit="as numbered on the map", ge=1, le=1_000_000,
                             source=EVENT)

    @field_validator("at")
    @classmethod
    def _when(cls, at):
        event_start_minutes(at)   # raises ValueError with the allowed forms
        return at

    @property
    def start_minutes(self) -> float:
        return event_start_minutes(self.at)

    def misplaced_field(self) -> str | None:
        """The first field set that does not apply to this kind of event, if any."""
        applies = EVENT_FIELDS.get(self.kind or "", ())
        for name in type(self).model_fields:
            if (name in self.model_fields_set and name not in EVENT_COMMON_FIELDS
                    and name not in applies):
                return name
        return None
