"""Property-based fuzzing of the schema: any one odd value anywhere in a valid config is either
accepted or refused with ``ConfigError`` whose one line starts with the field's dotted path.

Each example takes the composed default config, walks to a random leaf (or list, or table)
and puts a random bad or odd value there: NaN, ±inf, None, bools, huge or negative numbers,
numeric strings, empty or long text, lists, nested mappings, numpy scalars, Decimal, and
``${...}`` interpolations.  Nothing else may escape ``parse_config``: no OverflowError,
RecursionError, TypeError or OmegaConf exception, and never a message without a field.
"""

from __future__ import annotations

import copy
import decimal
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from sim.compose import compose_config
from sim.config import ConfigError, parse_config

BASE = OmegaConf.to_container(compose_config([]), resolve=True)
SMALL = OmegaConf.to_container(compose_config(["scenario=small_district"]), resolve=True)
_PATH = re.compile(r"^([A-Za-z_][\w-]*(?:\.[^\s.:\[\]]+|\[\d+\])*): \S")
# A district folder's files are checked against the config (hotspot kinds, the grid count);
# their errors name the file, feature and field instead (conf/districts/README.md).
_FILE = re.compile(r"^\S+\.(geojson|osm|graphml)\b")


def _nested(depth: int) -> dict:
    out: dict = {"x": 1}
    for _ in range(depth):
        out = {"a": out}
    return out


ODD_SCALARS = [
    math.nan, math.inf, -math.inf, None, True, False, 0, -1, -0.5, 1e308, -1e308, 10**30,
    -(10**30), 2**63, 2**63 - 1, 5e-324, "", " ", "1e3", "nan", "inf", "-1", "0x10", "true",
    "null", "x" * 10_000, "../../../x", "a/b", "\x00", "${oc.env:HOME}", "${seed}",
    "${no.such.key}", "${oc.env:NO_SUCH_VARIABLE_HERE}", np.int64(3), np.float64("nan"),
    np.float32(0.5), np.bool_(True), np.int8(-1), decimal.Decimal("1.5"),
    decimal.Decimal("NaN"), decimal.Decimal("1e400"), [], [1, 2, 3], [None], [math.nan],
    {}, {"a": 1}, {"share": 2.0}, (1, 2), {1, 2}, b"bytes", object(),
]
odd_values = st.one_of(
    st.sampled_from(ODD_SCALARS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.one_of(st.floats(), st.integers(), st.none(), st.text(max_size=5)),
             max_size=30),
    st.dictionaries(st.sampled_from(["a", "b", "share", "count", "name"]),
                    st.one_of(st.integers(), st.floats(), st.none()), max_size=3),
    st.integers(min_value=5, max_value=400).map(_nested),
)


def _places(tree, path=()):
    """Every place a value can be put: leaves, lists and mappings (tables, models)."""
    yield path
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _places(value, (*path, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _places(value, (*path, i))


PLACES = {name: [p for p in _places(cfg) if p] for name, cfg in (("base", BASE),
                                                                 ("small", SMALL))}


def _put(cfg, path, value):
    node = cfg
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _tokens(dotted: str) -> list:
    return [int(t[1:-1]) if t.startswith("[") else t
            for t in re.findall(r"\[\d+\]|[^.\[\]]+", dotted)]


def _exists(cfg, tokens) -> bool:
    node = cfg
    for t in tokens:
        if isinstance(node, dict) and t in node:
            node = node[t]
        elif isinstance(node, list) and isinstance(t, int) and t < len(node):
            node = node[t]
        else:
            return False
    return True


def _check(cfg) -> None:
    try:
        parse_config(cfg)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message, message
        if _FILE.match(message):
            return
        m = _PATH.match(message)
        assert m, f"no field path at the start: {message!r}"
        tokens = _tokens(m.group(1))
        assert _exists(cfg, tokens) or (len(tokens) > 1 and _exists(cfg, tokens[:-1])), (
            f"{m.group(1)} names no place in the config: {message!r}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(data=st.data(), which=st.sampled_from(["base", "small"]), value=odd_values)
def test_one_odd_value_anywhere_is_named_or_accepted(data, which, value):
    cfg = copy.deepcopy(BASE if which == "base" else SMALL)
    path = data.draw(st.sampled_from(PLACES[which]), label="path")
    _put(cfg, path, value)
    _check(cfg)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=st.data(), values=st.lists(odd_values, min_size=2, max_size=4))
def test_several_odd_values_at_once(data, values):
    cfg = copy.deepcopy(SMALL)
    for value in values:
        places = [p for p in _places(cfg) if p]
        _put(cfg, data.draw(st.sampled_from(places), label="path"), value)
    _check(cfg)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(key=st.text(min_size=1, max_size=20), where=st.sampled_from(
    [(), ("sim",), ("scenario",), ("scenario", "grids"), ("policy",), ("policy", "unit_factors"),
     ("scenario", "units", "police"), ("scenario", "calls", "kinds")]))
def test_a_free_form_key_is_refused_by_name(key, where):
    cfg = copy.deepcopy(SMALL)
    node = cfg
    for part in where:
        node = node[part]
    if key in node:
        return
    node[key] = 1
    with pytest.raises(ConfigError) as err:
        parse_config(cfg)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(".".join((*where, key)) + ":"), str(err.value)
