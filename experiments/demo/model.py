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
import math
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
TICKS = (1, 2, 5, 10)    # simulated minutes per Step offered on the page
# Log entries about a dispute (their `id` is the dispute's); other entries with an `id` name an
# incident.
DISPUTE_KEYS = frozenset({"dispute_raised", "dispute_taken", "session_held", "dispute_escalated",
                          "dispute_closed"})
DEFAULT_TICK = 5         # an incident lasts ~22 min: a class sees it dispatched, on scene, done


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
        if tl.seed is not None and not any(o.startswith("seed=") for o in rest):
            rest.append(f"seed={tl.seed}")     # the seed where its lesson shows
    if not any(o.startswith("sim.days=") for o in rest):
        # A timeline runs its own length (demo_config); without one, the demo's.
        rest.append(f"sim.days={DEMO_DAYS:g}")
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
    if int(grids) != grid_count(base):
        # A folder's grids.geojson fixes the count unless the policy redraws the grids.
        cfg.setdefault("policy", {})["grids"] = int(grids)
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
    if tl.days:
        merged["sim"]["days"] = tl.days      # a timeline runs its own length
    try:
        parse_config(merged)
    except ConfigError as exc:
        raise explain(exc, tl, first) from None
    return merged, tl


def reset_params(current: dict, asked: dict) -> dict:
    """The parameters a Reset builds from: those asked for on the page; when the timeline
    changes and the seed does not, the new timeline's own seed (where its lesson shows)."""
    params = {**current, **asked}
    timeline = params.get("timeline")
    if (timeline != current.get("timeline") and params.get("seed") == current.get("seed")
            and timeline not in (None, "", NO_TIMELINE)):
        seed = load_timeline(timeline).seed
        if seed is not None:
            params["seed"] = seed
    return params


def grid_count(cfg: dict) -> int:
    """The patrol grids a config builds: a district folder's grids.geojson sets the count
    unless the policy redraws."""
    return parse_config(copy.deepcopy(cfg)).scenario.grids.count


def defaults() -> dict:
    """The Reset parameters of the command line's config."""
    cfg, timeline = base_setup()
    s = cfg["scenario"]
    return {"seed": cfg["seed"], "timeline": timeline, "grids": grid_count(cfg),
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
        # Each dispute's own entries, kept whole for its case story (the log keeps the latest
        # 500 of all).  Set before the model is built: building it may already log.
        self.stories: dict[int, list[tuple]] = {}
        # Every change of the live knobs: (minute, knobs() after it), for copy B to replay.
        self.knob_log: list[tuple[float, dict]] = []
        super().__init__(parse_config(cfg), narrative=True)
        # Live knob settings, so the page can show them (the model keeps only their effect).
        self.strength: dict[str, float] = {}
        # Patrols pick a new point of their beat on the config's clock (as a batch run does at
        # its tick), not at each Step: the page's tick then changes what you see, never what
        # happens (same seed, same incidents, units and times at any tick).
        self.patrol_minutes = self.tick_minutes
        self.env.process(self._patrol_clock())
        self.tick_minutes = float(DEFAULT_TICK)
        self.since: dict[str, tuple[str, float]] = {}   # unit name -> (state, since minute)
        self.ended_drives: dict[str, object] = {}       # unit name -> Trip, in the last step
        # Every drive the model starts, kept for the step it starts in: a drive that starts
        # and ends inside one step is then shown along its road too, not as a straight glide.
        self._started_drives: dict[str, object] = {}
        make_trip = self.travel.trip

        def trip(unit, *args):
            self._started_drives[unit.name] = drive = make_trip(unit, *args)
            return drive

        self.travel.trip = trip
        # The crews on at midnight go on duty at minute 0: run that minute's events now (as the
        # first step would, in the same order), so the page opens with its units on the map.
        while self.env.peek() <= 0:
            self.env.step()

    def knobs(self) -> dict:
        """The live knobs' settings, to carry over a Reset."""
        s = self.cfg.scenario
        return {"rule": s.dispatch.rule, "platform": s.dispatch.unified_platform,
                "mentoring": s.mediators.mentoring,
                "meals": "meal" in s.dispatch.p1_breaks_duties, "strength": dict(self.strength),
                "tick": self.tick_minutes}

    def apply_knobs(self, k: dict) -> None:
        """Set the knobs `k` (from ``knobs()``), logging only those that differ."""
        s = self.cfg.scenario
        if k["rule"] != s.dispatch.rule:
            self.set_dispatch_rule(k["rule"])
        if k["platform"] != s.dispatch.unified_platform:
            self.set_unified_platform(k["platform"])
        if k["mentoring"] != s.mediators.mentoring:
            self.set_mentoring(k["mentoring"])
        if k["meals"] != ("meal" in s.dispatch.p1_breaks_duties):
            self.set_meals_on_call(k["meals"])
        for what, share in k["strength"].items():
            if what in ("police", "guard", "armed_patrol", "rapid_response"):
                self.set_unit_strength(what, share)
            else:
                self.set_mediator_strength(what, share)
        self.tick_minutes = k["tick"]

    # ------------------------------------------------------------------ stepping

    def step(self) -> None:
        """Advance by the page's tick (which may change between steps), then log what happened
        to each incident inside it (arrived, cleared, waited) at the minute it happened.  After
        the end it does nothing."""
        if not self.running:
            return
        drives = {u.name: u.trip for u in self.units if u.trip is not None}
        self._started_drives = started = {}
        before = self.env.now
        target = min(before + self.tick_minutes, self.end_minutes)
        if target > before:
            self.env.run(until=target)
        self._record()
        # Drives that ended in this step (the unit arrived), the unit's last if it drove twice:
        # the map glides the unit along the rest of its road rather than straight to where it
        # stopped.
        drives.update(started)
        self.ended_drives = {u.name: drives[u.name] for u in self.units
                             if u.name in drives and u.trip is None}
        self._log_case_steps(before, self.env.now)
        for u in self.units:
            if self.since.get(u.name, ("",))[0] != u.state:
                self.since[u.name] = (u.state, self.env.now)
        if target >= self.end_minutes:
            self.running = False

    def _patrol_clock(self):
        while True:
            yield self.env.timeout(self.patrol_minutes)
            self._move_patrols()

    def shown_xy(self, unit) -> tuple[float, float]:
        """Where to draw `unit` now: along its road if it is driving (the dispatcher's copy
        moves only on the patrol clock)."""
        if unit.trip is not None and unit.state in ("dispatched", "returning"):
            return unit.position_on_trip(self.env.now)
        return unit.x, unit.y

    def _log_case_steps(self, t0: float, t1: float) -> None:
        # A step runs the events of [t0, t1): SimPy leaves those at t1 itself to the next step.
        if self.narrative is None:
            return
        new = []
        for inc in self.desk.incidents:
            where = {"kind": inc.kind, "grid": inc.grid + 1, "id": inc.incident_id}
            if t0 <= inc.t_reported < t1 and not inc.overflow and not (
                    inc.t_dispatched <= inc.t_reported):
                new.append((inc.t_reported, "incident_queued", {**where,
                                                                "priority": inc.priority}))
            if t0 <= inc.t_arrived < t1:
                new.append((inc.t_arrived, "unit_arrived", {**where, "unit": inc.unit_id,
                            "minutes": inc.t_arrived - inc.t_reported}))
            if t0 <= inc.t_cleared < t1:
                new.append((inc.t_cleared, "incident_cleared", {**where, "unit": inc.unit_id}))
        if not new:
            return
        # Merge with this tick's entries so the log reads in time order.
        tail = []
        while self.narrative and self.narrative[-1][0] > t0:
            tail.append(self.narrative.pop())
        self.narrative.extend(sorted(tail[::-1] + new, key=lambda e: e[0]))

    def waiting(self) -> list:
        """Incidents waiting for a unit, most urgent then oldest first."""
        out = [inc for inc in self.desk.incidents
               if math.isnan(inc.t_dispatched) and not inc.abandoned and not inc.overflow]
        return sorted(out, key=lambda i: (i.priority, i.t_reported))

    def incident(self, incident_id: int):
        for inc in self.desk.incidents:
            if inc.incident_id == incident_id:
                return inc
        return None

    def dispute(self, dispute_id: int):
        ds = self.mediation.disputes
        return ds[dispute_id] if 0 <= dispute_id < len(ds) else None

    def dispute_story(self, dispute_id: int) -> list[tuple]:
        """The dispute's entries so far (raised, taken, sessions, escalations, closed), in time
        order, then ("session_booked", n) if its n-th session is booked but not yet held, or
        ("violent_incident", incident id) if it turned violent: the priority-1 call it became
        (reported at its raiser's home the minute it closed)."""
        story = list(self.stories.get(dispute_id, []))
        d = self.dispute(dispute_id)
        if d is not None and d.is_open and not math.isnan(d.t_next_session):
            # Its meeting is still to come (or going on now).
            story.append((self.now, "session_booked", {"n": d.sessions + 1, "level": d.level,
                                                       "start": d.t_next_session}))
        if d is not None and d.outcome == "violent":
            for inc in reversed(self.desk.incidents):
                if (inc.source == "dispute" and inc.caller == d.raiser
                        and inc.t_reported == d.t_closed):
                    story.append((d.t_closed, "violent_incident", {"incident": inc.incident_id}))
                    break
        return story

    def log(self, key: str, **params) -> None:
        super().log(key, **params)
        if key in DISPUTE_KEYS and self.narrative is not None:
            self.stories.setdefault(params["id"], []).append((self.env.now, key, params))
        elif key == "knob":
            self.knob_log.append((self.env.now, self.knobs()))

    # ------------------------------------------------------------------ live knobs

    def set_unit_strength(self, unit_type: str, share: float) -> None:
        super().set_unit_strength(unit_type, share)
        self.strength[unit_type] = share
        self.log("knob", knob=unit_type, value=f"{share:.0%}")

    def set_mediator_strength(self, kind: str, share: float) -> None:
        super().set_mediator_strength(kind, share)
        self.strength[kind] = share
        self.log("knob", knob=kind, value=f"{share:.0%}")

    def set_dispatch_rule(self, rule: str) -> None:
        super().set_dispatch_rule(rule)
        self.log("knob", knob="dispatch_rule", value=rule)

    def set_unified_platform(self, on: bool) -> None:
        super().set_unified_platform(on)
        self.log("knob", knob="unified_platform", value="on" if on else "off")

    def set_mentoring(self, on: bool) -> None:
        super().set_mentoring(on)
        self.log("knob", knob="mentoring", value="on" if on else "off")

    def set_meals_on_call(self, on: bool) -> None:
        super().set_meals_on_call(on)
        self.log("knob", knob="meals_on_call", value="on" if on else "off")

    def set_tick(self, minutes: int) -> None:
        self.tick_minutes = float(minutes)
        self.log("knob", knob="tick_minutes", value=f"{minutes}")

    # ------------------------------------------------------------------ narrative

    def narrative_lines(self, lang: str = "en", last: int = 50) -> list[str]:
        """Latest lines, newest last; timeline notes in Chinese where the file gives them."""
        return [line for line, _ in self.narrative_entries(lang, last)]

    def narrative_entries(self, lang: str = "en", last: int = 50) -> list[tuple[str, tuple | None]]:
        """Latest (line, case) pairs, newest last: the case a line names, ("incident", id) or
        ("dispute", id), so the page can open its story; None for other lines."""
        return [(line, case) for _, line, case in self.log_entries(lang, last)]

    def log_entries(self, lang: str = "en", last: int = 50) -> list[tuple[int, str, tuple | None]]:
        """As ``narrative_entries``, each with a key that names its entry in either language
        and while later entries arrive (the page keys its log lines by it, so a language switch
        relabels them rather than building them again).  The key is the entry's identity: unique
        among the entries kept, which outnumber the lines shown."""
        if self.narrative is None:
            return []
        zh = self.timeline_file.notes_zh if (self.timeline_file and lang == "zh") else {}
        out = []
        for entry in list(self.narrative)[-last:]:
            minute, key, params = entry
            if key == "note" and params.get("text") in zh:
                params = {**params, "text": zh[params["text"]]}
            case = None
            if "id" in params:
                case = ("dispute" if key in DISPUTE_KEYS else "incident", params["id"])
            out.append((id(entry), render((minute, key, params), lang), case))
        return out
