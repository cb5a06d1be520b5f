"""The district model as the browser demo builds it: keyword parameters the page passes on
Reset (seed, timeline, grid count, staffing), plus live policy knobs that remember their
setting and a narrative that translates the timeline's notes.

The base config (scenario and other overrides from the command line) is composed once per
server by ``experiments.demo.app``; Reset only edits a copy of that plain dict, so it needs no
Hydra and is safe with several browser tabs.
"""

from __future__ import annotations

import copy
import json
import os
from functools import lru_cache

from sim.config import ConfigError, parse_config
from sim.model import DistrictModel
from sim.narrative import render
from sim.timeline_file import (
    TimelineFile,
    config_with_timeline,
    explain,
    load_timeline,
    merge_timeline,
    timeline_names,
)

NO_TIMELINE = "none"
DEMO_DAYS = 7.0          # default horizon of a demo run without a timeline (or its `days`)
ENV_OVERRIDES = "DISTRICT_DEMO_OVERRIDES"   # JSON list of Hydra-style overrides from the CLI


@lru_cache(maxsize=1)
def base_setup() -> tuple[dict, str]:
    """(plain config without a timeline, the timeline named on the command line or "none")."""
    overrides = json.loads(os.environ.get(ENV_OVERRIDES, "[]"))
    rest = [o for o in overrides if not o.startswith("timeline=")]
    named = [o.split("=", 1)[1] for o in overrides if o.startswith("timeline=")]
    timeline = named[-1] if named else NO_TIMELINE
    if timeline != NO_TIMELINE:
        tl = load_timeline(timeline)
        if tl.scenario and not any(o.startswith("scenario=") for o in rest):
            rest = [f"scenario={tl.scenario}", *rest]
    if not any(o.startswith("sim.days=") for o in rest):
        days = DEMO_DAYS
        if timeline != NO_TIMELINE and load_timeline(timeline).days:
            days = load_timeline(timeline).days
        rest.append(f"sim.days={days:g}")
    cfg, _ = config_with_timeline([*rest, "sim.progress=false"])
    return cfg, timeline


def timeline_choices() -> list[str]:
    """Shipped timelines written for the running scenario (plus "none" and the CLI's own)."""
    cfg, chosen = base_setup()
    scenario = cfg["scenario"]["name"]
    names = [n for n in timeline_names() if load_timeline(n).scenario in (None, scenario)]
    if chosen not in names and chosen != NO_TIMELINE:
        names.append(chosen)
    return [NO_TIMELINE, *names]


def demo_config(seed: int, timeline: str, grids: int, police: int, guards: int,
                part_time: int) -> tuple[dict, TimelineFile | None]:
    """The validated config for one demo run (raises ConfigError naming the field)."""
    base, _ = base_setup()
    cfg = copy.deepcopy(base)
    s = cfg["scenario"]
    cfg["seed"] = int(seed)
    s["grids"]["count"] = int(grids)
    if "police" in s["units"]:
        s["units"]["police"]["per_shift"] = int(police)
    if "guard" in s["units"]:
        s["units"]["guard"]["per_shift"] = int(guards)
    s["mediators"]["community_part_time"] = int(part_time)
    if timeline in (None, "", NO_TIMELINE):
        parse_config(cfg)
        return cfg, None
    tl = load_timeline(timeline)
    first = len(s.get("events") or [])
    merged = merge_timeline(cfg, tl)
    if tl.days and cfg["sim"]["days"] < tl.days:
        merged["sim"]["days"] = tl.days
    try:
        parse_config(merged)
    except ConfigError as exc:
        raise explain(exc, tl, first) from None
    return merged, tl


def defaults() -> dict:
    """The Reset parameters of the command line's config."""
    cfg, timeline = base_setup()
    s = cfg["scenario"]
    return {"seed": cfg["seed"], "timeline": timeline, "grids": s["grids"]["count"],
            "police": s["units"].get("police", {}).get("per_shift", 0),
            "guards": s["units"].get("guard", {}).get("per_shift", 0),
            "part_time": s["mediators"]["community_part_time"]}


class DemoModel(DistrictModel):
    """A ``DistrictModel`` built from the demo's Reset parameters."""

    def __init__(self, seed: int | None = None, timeline: str | None = None,
                 grids: int | None = None, police: int | None = None, guards: int | None = None,
                 part_time: int | None = None):
        d = defaults()
        given = {"seed": seed, "timeline": timeline, "grids": grids, "police": police,
                 "guards": guards, "part_time": part_time}
        self.params = {k: d[k] if v is None else v for k, v in given.items()}
        cfg, self.timeline_file = demo_config(**self.params)
        super().__init__(parse_config(cfg), narrative=True)
        # Live knob settings, so the page can show them (the model keeps only their effect).
        self.strength: dict[str, float] = {}

    # ------------------------------------------------------------------ live knobs

    def set_unit_strength(self, unit_type: str, share: float) -> None:
        super().set_unit_strength(unit_type, share)
        self.strength[unit_type] = share

    def set_mediator_strength(self, kind: str, share: float) -> None:
        super().set_mediator_strength(kind, share)
        self.strength[kind] = share

    # ------------------------------------------------------------------ narrative

    def narrative_lines(self, lang: str = "en", last: int = 50) -> list[str]:
        """Latest lines, newest last; timeline notes in Chinese where the file gives them."""
        if self.narrative is None:
            return []
        zh = self.timeline_file.notes_zh if (self.timeline_file and lang == "zh") else {}
        out = []
        for minute, key, params in list(self.narrative)[-last:]:
            if key == "note" and params.get("text") in zh:
                params = {**params, "text": zh[params["text"]]}
            out.append(render((minute, key, params), lang))
        return out
