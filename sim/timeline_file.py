"""Trainers' timeline files: a YAML list of injected events for one scenario, with a teaching note.

    # conf/timeline/wage_dispute.yaml
    scenario: small_district          # the scenario it is written for (used if none is given)
    days: 5                           # its length: the demo runs this long; no event after it
    seed: 4                           # a seed where its lesson shows (used if none is given)
    teaching_note: |                  # what to point out to trainees (optional: teaching_note_zh)
      ...
    events:
      - at: day 2 14:00               # or a number of days since the start
        kind: dispute                 # note | call_surge | mediator_absence | unit_absence |
        category: labour              # dispute | incident   (fields: see sim/timeline.py)
        community: 5                  # as numbered on the map (from 1)
        parties: 40
        note: Forty workers at a construction site in community 5 say they were not paid

``share`` may also be written as a percentage ("30%"), and ``note_zh`` gives a note's Chinese for
the demo's narrative.  The events are appended to the scenario's
own ``scenario.events``; an invalid timeline raises ``TimelineError`` naming the file, the line
and the field, e.g. ``conf/timeline/x.yaml, line 14: events[1].share: must be a number in [0, 1],
got 1.3``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.clock import DAY
from sim.compose import CONF_DIR
from sim.config import ConfigError
from sim.events import event_start_minutes

TIMELINE_DIR = CONF_DIR / "timeline"
TOP_KEYS = ("scenario", "days", "seed", "teaching_note", "teaching_note_zh", "title", "title_zh",
            "events")
_EVENT_FIELD = re.compile(r"^scenario\.events\[(\d+)\](?:\.(\w+))?")


class TimelineError(ConfigError):
    """A timeline file is missing, not valid YAML, or has an invalid event (names file and line)."""


@dataclass
class TimelineFile:
    """One parsed timeline: its events as plain dicts plus where each sits in the file."""

    name: str
    path: Path
    scenario: str | None
    days: float | None
    title: dict[str, str]
    teaching_note: dict[str, str]
    events: list[dict[str, Any]]
    notes_zh: dict[str, str] = field(default_factory=dict)   # note -> its Chinese (note_zh)
    # events[i] -> (line of the item, {field: line of its value}); lines are 1-based.
    lines: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    top_lines: dict[str, int] = field(default_factory=dict)
    seed: int | None = None    # a seed where the teaching note's lesson shows

    def line_of(self, index: int, name: str | None = None) -> int:
        """The file line of event `index` (its field `name` if present there)."""
        item_line, fields = self.lines[index]
        return fields.get(name, item_line) if name else item_line

    def where(self, line: int) -> str:
        return f"{_display(self.path)}, line {line}"


def _display(path: Path) -> str:
    try:
        text = str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        text = str(path)
    return _show(text)


def _show(text: str, limit: int = 120) -> str:
    """A name as one short line (a name can hold newlines or be 100,000 characters long)."""
    if len(text) > limit:
        text = text[:limit - 20] + f"... ({len(text):,} characters)"
    return text if text.isprintable() else repr(text)


def timeline_names() -> list[str]:
    """The timelines shipped in conf/timeline/."""
    return sorted(p.stem for p in TIMELINE_DIR.glob("*.yaml"))


def resolve_path(name_or_path: str | Path) -> Path:
    """A shipped timeline's name (``festival_night``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.parent != Path("."):
        return p
    return TIMELINE_DIR / f"{p.name}.yaml"


def _percent(value: Any, where: str) -> Any:
    """Trainers write shares as "30%"; the model wants 0.3."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise TimelineError(f"{where}: share: must be a number in [0, 1] or a "
                                f"percentage such as '30%', got {value!r}") from None
    return value


# A 20,000-event timeline is about 1.7 MB and 400,000 YAML nodes; these limits are far above
# any hand-written file and keep a hostile one (or a "billion laughs" of aliases) cheap.
MAX_BYTES = 16 * 2**20
MAX_NODES = 1_000_000
MAX_DAYS = 36_500.0
_SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml: ~20x faster


def _read_text(path: Path, shown: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise TimelineError(f"{shown}: too large ({size:,} bytes; a timeline file is at "
                                f"most {MAX_BYTES:,})")
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise TimelineError(f"{shown}: cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise TimelineError(f"{shown}: too large (a timeline file is at most {MAX_BYTES:,} "
                            f"bytes)")
    try:
        return raw.decode("utf-8-sig")      # a byte-order mark (Windows editors) is fine
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise TimelineError(f"{shown}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                            f"save the file as UTF-8") from None


def _parse(text: str, shown: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for line numbers and checks) and the data built from it."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_tree(root, shown)
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TimelineError(f"{shown}{line}: not valid YAML: {problem}") from None
    except RecursionError:
        raise TimelineError(f"{shown}: nested too deeply to be a timeline") from None
    finally:
        loader.dispose()
    return root, data


def _check_tree(root: yaml.Node, shown: str) -> None:
    """What PyYAML lets through silently: a key given twice in one mapping (the second would
    win), an alias inside itself, aliases that expand to millions of values, and ``${...}``,
    which OmegaConf would resolve (``${oc.env:HOME}`` reads the environment): a timeline is a
    file trainers share, so its text is only ever text."""
    scalar, sequence, merge = yaml.ScalarNode, yaml.SequenceNode, "tag:yaml.org,2002:merge"
    stack: list = [(root, "", False)]
    on_path: set[int] = set()       # the collections between the root and here (aliases)
    seen = 0
    while stack:
        node, where, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        seen += 1
        if seen > MAX_NODES:
            raise TimelineError(f"{shown}, line {node.start_mark.line + 1}: too large (more "
                                f"than {MAX_NODES:,} values, counting aliases as often as "
                                f"they are used)")
        if type(node) is scalar:
            if "${" in node.value:
                raise TimelineError(f"{shown}, line {node.start_mark.line + 1}: "
                                    f"{where or 'timeline'}: '${{' is not allowed in a timeline "
                                    f"(interpolations and resolvers are never run), got "
                                    f"{_show(node.value, 80)}")
            continue
        if id(node) in on_path:
            raise TimelineError(f"{shown}, line {node.start_mark.line + 1}: "
                                f"{where or 'timeline'}: an alias that contains itself")
        on_path.add(id(node))
        stack.append((node, where, True))
        if type(node) is sequence:
            stack.extend((item, f"{where}[{i}]", False) for i, item in enumerate(node.value))
            continue
        keys: set = set()
        for key, value in node.value:
            name = key.value if type(key) is scalar else "?"
            path = f"{where}.{name}" if where else str(name)
            if type(key) is scalar and key.tag != merge:
                if (key.tag, name) in keys:
                    raise TimelineError(f"{shown}, line {key.start_mark.line + 1}: {path}: given "
                                        f"twice (the first would be ignored); keep one")
                keys.add((key.tag, name))
            stack.append((key, path, False))
            stack.append((value, path, False))


def load_timeline(name_or_path: str | Path) -> TimelineFile:
    """Read and structurally check a timeline file (event fields are checked by the simulator,
    see ``config_with_timeline``)."""
    if not isinstance(name_or_path, (str, Path)):
        raise TimelineError(f"timeline: must be a name or a path, got {name_or_path!r}"[:200])
    try:
        path = resolve_path(name_or_path)
        found = path.is_file()
    except (OSError, ValueError):   # a name too long for the file system, a NUL byte
        path, found = Path(str(name_or_path)), False
    if not found:
        known = ", ".join(timeline_names()) or "none"
        raise TimelineError(f"timeline {_show(str(name_or_path), 80)}: no such file (shipped "
                            f"timelines: {known}; or give a path to a .yaml file)")
    shown = _display(path)
    root, data = _parse(_read_text(path, shown), shown)
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise TimelineError(f"{shown}, line 1: must be a mapping with an 'events' list")

    top_lines = {k.value: v.start_mark.line + 1 for k, v in root.value}
    for key in data:
        if key not in TOP_KEYS:
            raise TimelineError(f"{shown}, line {top_lines.get(key, 1)}: {_show(str(key), 80)}: "
                                f"unknown key; allowed keys here: {', '.join(TOP_KEYS)}")
    events_node = dict((k.value, v) for k, v in root.value).get("events")
    events = data.get("events")
    if not isinstance(events, list) or not isinstance(events_node, yaml.SequenceNode):
        raise TimelineError(f"{shown}, line {top_lines.get('events', 1)}: events: "
                            f"must be a list of events")
    scenario = data.get("scenario")
    if scenario is not None and not (isinstance(scenario, str) and _SCENARIO_NAME.match(scenario)):
        raise TimelineError(f"{shown}, line {top_lines['scenario']}: scenario: must be the name "
                            f"of a scenario in conf/scenario/, got {_show(repr(scenario), 80)}")
    for key in ("title", "title_zh", "teaching_note", "teaching_note_zh"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise TimelineError(f"{shown}, line {top_lines[key]}: {key}: must be a text, got "
                                f"{_show(repr(data[key]), 80)}")
    lines, notes_zh = [], {}
    for i, (ev, node) in enumerate(zip(events, events_node.value, strict=True)):
        item_line = node.start_mark.line + 1
        if not isinstance(ev, dict) or not isinstance(node, yaml.MappingNode):
            raise TimelineError(f"{shown}, line {item_line}: events[{i}]: must be a "
                                f"mapping such as {{at: 'day 2 14:00', kind: note}}")
        fields = {k.value: v.start_mark.line + 1 for k, v in node.value}
        if "share" in ev:
            ev["share"] = _percent(ev["share"], f"{shown}, line {fields.get('share', item_line)}: "
                                                f"events[{i}]")
        # `note_zh` is the demo's, not the simulator's: keep it beside the events.
        zh = ev.pop("note_zh", None)
        if zh is not None and not isinstance(zh, str):
            raise TimelineError(f"{shown}, line {fields.get('note_zh', item_line)}: "
                                f"events[{i}].note_zh: must be a text, got {_show(repr(zh), 80)}")
        if zh and ev.get("note"):
            notes_zh[str(ev["note"])] = zh
        lines.append((item_line, fields))
    days = data.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, float))
                             or not 0 < days <= MAX_DAYS):
        raise TimelineError(f"{shown}, line {top_lines['days']}: days: must be a number of days "
                            f"in (0, {MAX_DAYS:g}], got {_show(repr(days), 80)}")

    if days is not None:
        for i, ev in enumerate(events):
            try:
                start = event_start_minutes(ev.get("at", 0))
            except ValueError:
                continue          # the simulator's own check names this one
            if start >= days * DAY:
                raise TimelineError(f"{shown}, line {lines[i][1].get('at', lines[i][0])}: "
                                    f"events[{i}].at: after the timeline's end (days: {days:g}), "
                                    f"got {_show(repr(ev.get('at')), 80)}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**32):
        raise TimelineError(f"{shown}, line {top_lines['seed']}: seed: must be an integer in "
                            f"[0, 2**32), got {_show(repr(seed), 80)}")

    def both(key: str) -> dict[str, str]:
        en = str(data.get(key) or "").strip()
        return {"en": en, "zh": str(data.get(f"{key}_zh") or en).strip()}

    return TimelineFile(name=path.stem, path=path, scenario=scenario,
                        days=None if days is None else float(days), title=both("title"),
                        teaching_note=both("teaching_note"), events=events, notes_zh=notes_zh,
                        lines=lines, top_lines=top_lines, seed=seed)


def merge_timeline(cfg: dict, timeline: TimelineFile) -> dict:
    """A copy of the plain config dict with the timeline's events after the scenario's own."""
    out = _copied(cfg)
    scenario = out.setdefault("scenario", {})
    scenario["events"] = list(scenario.get("events") or []) + _copied(timeline.events)
    return out


def _copied(value: Any) -> Any:
    """A copy of plain YAML data (copy.deepcopy is ten times slower on 20,000 events)."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def explain(error: ConfigError, timeline: TimelineFile, first_index: int) -> ConfigError:
    """Turn the simulator's "scenario.events[i].field: ..." into the file, line and field of the
    timeline (events before `first_index` are the scenario's own and stay as they are)."""
    message = str(error)
    m = _EVENT_FIELD.match(message)
    if not m or int(m.group(1)) < first_index:
        return error
    index = int(m.group(1)) - first_index
    name = m.group(2)
    rest = message[m.end():]
    where = f"events[{index}]" + (f".{name}" if name else "")
    line = timeline.line_of(index, name)
    return TimelineError(f"{timeline.where(line)}: {where}{rest}")


def split_overrides(overrides: list[str] | tuple[str, ...]) -> tuple[list[str], str | None]:
    """Separate ``timeline=<name or path>`` from the Hydra overrides."""
    rest, timeline = [], None
    for item in overrides:
        if item.startswith("timeline="):
            timeline = item.split("=", 1)[1] or None
        else:
            rest.append(item)
    return rest, timeline


def config_with_timeline(overrides: list[str] | tuple[str, ...] = (),
                         default_days: float | None = None):
    """The validated run config for Hydra-style `overrides` that may include ``timeline=...``.

    The timeline's ``scenario`` is used unless ``scenario=`` is given; its ``days`` (else
    `default_days`) sets the horizon unless ``sim.days=`` is given; its ``seed`` unless
    ``seed=`` is given.  Returns
    ``(plain config dict, TimelineFile or None)``; raises ``ConfigError`` (``TimelineError`` with
    file and line for a bad timeline).
    """
    from omegaconf import OmegaConf

    from sim.compose import compose_config
    from sim.config import parse_config

    rest, name = split_overrides(overrides)
    timeline = load_timeline(name) if name else None
    if timeline and timeline.scenario and not any(o.startswith("scenario=") for o in rest):
        rest = [f"scenario={timeline.scenario}", *rest]
    days = (timeline.days if timeline and timeline.days else None) or default_days
    if days is not None and not any(o.startswith("sim.days=") for o in rest):
        rest = [*rest, f"sim.days={days:g}"]
    if timeline and timeline.seed is not None and not any(o.startswith("seed=") for o in rest):
        rest = [*rest, f"seed={timeline.seed}"]
    try:
        cfg = OmegaConf.to_container(compose_config(rest), resolve=True)
    except ConfigError as exc:
        if timeline is not None and "scenario" in timeline.top_lines and str(exc).startswith(
                "scenario:"):
            # The timeline named the scenario: point at its line.
            raise TimelineError(f"{_display(timeline.path)}, line "
                                f"{timeline.top_lines['scenario']}: {exc}") from None
        raise
    if timeline is None:
        parse_config(cfg)
        return cfg, None
    first = len(cfg.get("scenario", {}).get("events") or [])
    merged = merge_timeline(cfg, timeline)
    try:
        parse_config(merged)
    except ConfigError as exc:
        raise explain(exc, timeline, first) from None
    return merged, timeline
