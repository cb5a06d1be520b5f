"""Where a parameter's number comes from, kept beside the number in the schema.

Every leaf of the run config is declared once, in ``sim/config.py``, with ``param(...)``: its
default, unit, allowed range and provenance, which is one of

- ``report``: the district's own figures (the Dec 2021 report; ``docs/sources.md``);
- a citation (census, Ministry of Justice, a study): the citation text itself;
- ``assumed``: our choice with no published figure, always with a *plausible* range (low, high)
  that a sceptical reviewer would accept; these ranges drive the sensitivity analysis.

``parameters(run_config)`` walks a resolved config and yields one ``Parameter`` per leaf, which is
what ``python -m experiments.params`` prints and the sensitivity tools read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

REPORT = "report"
ASSUMED = "assumed"

# Citations used by more than one parameter (the text is what `experiments.params` shows).
CENSUS = "2020 census: Jiangbei 925,800 residents"
AREA = "Jiangbei district area, public figure 220.8 km² (other sources 213.5)"
MOJ = ("Ministry of Justice: 9.53 M disputes mediated in 2018 (6.8 per 1,000 residents); "
       "14.94 M in 2022 incl. 6.75 M court-entrusted (5.8 per 1,000 without)")
CFS = ("city police staffing studies: 200-1,000 calls for service per 1,000 residents a year, "
       "19-31 min on scene")
QUICK_RESPONSE = "'1-3-5 minute' quick-response circles: arrival within 3-5 min"
VALIDATION = "setting: validation scenarios' shortcut (mmc_mediation, hypercube)"
LABEL = "setting: a label in outputs"
SWITCH = "setting: a model switch, not a measured quantity"
RUN = "setting: how the run is made"
LEVER = "setting: a policy lever"
EVENT = "setting: a timeline event"
FOLDER_CHECK = "setting: a check on a district folder, not a model assumption"


def param(default: Any = ..., *, source: str, unit: str = "", ge: float | None = None,
          le: float | None = None, gt: float | None = None, plausible: tuple | None = None,
          relative: tuple[float, float] | None = None, note: str = "", **kw) -> Any:
    """A schema field with its unit and provenance.

    `plausible` is an absolute (low, high); `relative` a (low, high) factor of the value, for
    fields whose default differs per entry (a dispute category's share, a unit type's speed).
    An ``assumed`` number must give one of them.  `note` says more about the source (e.g. the
    report's total that an assumed split adds up to).
    """
    if source == ASSUMED and plausible is None and relative is None and _is_number(default):
        raise TypeError("an assumed number needs a plausible (or relative) range")
    extra = {"unit": unit, "source": source}
    if note:
        extra["note"] = note
    if plausible is not None:
        extra["plausible"] = list(plausible)
    if relative is not None:
        extra["relative"] = list(relative)
    if isinstance(default, (list, dict, BaseModel)):
        return Field(default_factory=lambda d=default: _copy(d), ge=ge, le=le, gt=gt,
                     json_schema_extra=extra, **kw)
    return Field(default, ge=ge, le=le, gt=gt, json_schema_extra=extra, **kw)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_copy(deep=True)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Parameter:
    """One leaf of a resolved config, with what the schema says about it."""

    name: str                       # dotted path, as on the command line
    value: Any
    unit: str
    range: tuple[float | None, float | None] | None
    source: str
    plausible: tuple[Any, Any] | None
    note: str = ""

    @property
    def kind(self) -> str:
        """report, assumed, setting (what the user chooses) or cited (a citation)."""
        if self.source in (REPORT, ASSUMED):
            return self.source
        return "setting" if self.source.startswith("setting:") else "cited"

    @property
    def is_number(self) -> bool:
        return _is_number(self.value) or (isinstance(self.value, list) and all(
            _is_number(v) for v in self.value))

    def as_json(self) -> dict:
        lo, hi = self.range or (None, None)
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "range": None if lo is None and hi is None else [lo, hi],
                "source": self.source,
                "plausible": list(self.plausible) if self.plausible is not None else None,
                "note": self.note}


def bounds(metadata) -> tuple[float | None, float | None] | None:
    """The allowed [lo, hi] from pydantic constraint metadata (None where open)."""
    lo = hi = None
    for m in metadata:
        for name in ("ge", "gt"):
            if getattr(m, name, None) is not None:
                lo = getattr(m, name)
        for name in ("le", "lt"):
            if getattr(m, name, None) is not None:
                hi = getattr(m, name)
        if hasattr(m, "metadata") and m is not None and isinstance(m.metadata, list):
            inner = bounds(m.metadata)
            if inner:
                lo = inner[0] if inner[0] is not None else lo
                hi = inner[1] if inner[1] is not None else hi
    return None if lo is None and hi is None else (lo, hi)


def item_metadata(annotation) -> list:
    """Constraint metadata of a field's items (``dict[str, Annotated[int, Field(ge=0)]]``)."""
    import typing

    args = typing.get_args(annotation)
    for arg in reversed(args):
        if typing.get_origin(arg) is typing.Annotated:
            return list(typing.get_args(arg)[1:])
        found = item_metadata(arg)
        if found:
            return found
    return []


def _bounds(info) -> tuple[float | None, float | None] | None:
    return bounds(info.metadata) or bounds(item_metadata(info.annotation))


def _plausible(extra: dict, value: Any) -> tuple | None:
    if extra.get("source") != ASSUMED:
        return None
    if "plausible" in extra:
        lo, hi = extra["plausible"]
        return (lo, hi)
    if "relative" in extra and value is not None:
        a, b = extra["relative"]
        if isinstance(value, list):
            return ([v * a for v in value], [v * b for v in value])
        if _is_number(value):
            lo, hi = value * a, value * b
            if isinstance(value, int) and not isinstance(value, bool):
                lo, hi = math.floor(lo), math.ceil(hi)
            return (lo, hi)
    return None


def parameters(model: BaseModel, prefix: str = "") -> Iterator[Parameter]:
    """Every leaf of `model` (a validated config), depth first, in schema order."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}{name}"
        yield from _leaves(path, value, info)


def _leaves(path: str, value: Any, info) -> Iterator[Parameter]:
    if isinstance(value, BaseModel):
        yield from parameters(value, path + ".")
        return
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        for key, sub in value.items():
            yield from parameters(sub, f"{path}.{key}.")
        return
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        for i, sub in enumerate(value):
            yield from parameters(sub, f"{path}[{i}].")
        return
    extra = info.json_schema_extra or {}
    if isinstance(value, dict) and value and all(_is_number(v) for v in value.values()):
        # A table of numbers (hotspot counts, unit costs): one leaf per entry.
        for key, v in value.items():
            yield Parameter(f"{path}.{key}", v, extra.get("unit", ""), _bounds(info),
                            extra.get("source", ""), _plausible(extra, v), extra.get("note", ""))
        return
    yield Parameter(path, value, extra.get("unit", ""), _bounds(info), extra.get("source", ""),
                    _plausible(extra, value), extra.get("note", ""))
