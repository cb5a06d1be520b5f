"""The page's charts as SVG: well-formed, the model's numbers in the right places, and a
language switch changes their words only (no model data is recomputed differently)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from experiments.demo import model as demo
from experiments.demo.charts import (
    ChartSpec,
    Series,
    busy_spec,
    disputes_spec,
    response_spec,
    response_times,
)
from experiments.demo.svg_chart import BOTTOM, LEFT, RIGHT, TOP, H, W, nice_ticks, to_svg

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def model():
    import os
    old = os.environ.get(demo.ENV_OVERRIDES)
    os.environ[demo.ENV_OVERRIDES] = '["timeline=festival_night", "seed=1"]'
    demo.base_setup.cache_clear()
    m = demo.DemoModel()
    while m.now < 1.2 * 1440:
        m.step()
    yield m
    if old is None:
        os.environ.pop(demo.ENV_OVERRIDES, None)
    else:
        os.environ[demo.ENV_OVERRIDES] = old
    demo.base_setup.cache_clear()


def _points(el) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in el.get("points").split()])


def test_nice_ticks_cover_the_top_in_round_steps():
    assert nice_ticks(4, 4) == [0, 1, 2, 3, 4]
    assert nice_ticks(37, 4) == [0, 10, 20, 30, 40]
    assert nice_ticks(0.3, 6) == pytest.approx([0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])


def test_charts_are_svg_with_the_models_series(model):
    for make in (disputes_spec, response_spec, busy_spec):
        for lang in ("en", "zh"):
            spec = make(model, lang)
            root = ET.fromstring(to_svg(spec))
            texts = [t.text for t in root.iter(f"{NS}text")]
            assert spec.title in texts and spec.xlabel in texts
            assert all(s.label in texts for s in spec.series)
    # Busy units: one line per unit type and the queue, ending at the last recorded value.
    spec = busy_spec(model)
    lines = ET.fromstring(to_svg(spec)).findall(f"{NS}polyline")
    assert len(lines) == len(spec.series) == len(model.cfg.scenario.units) + 1
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    ymax = nice_ticks(max(float(s.y.max()) for s in spec.series) or 1.0, 4)[-1]
    for line, s in zip(lines, spec.series, strict=True):
        xy = _points(line)
        assert xy[:, 0].min() >= LEFT - 0.05 and xy[:, 0].max() <= LEFT + pw + 0.05
        assert xy[:, 1].min() >= TOP - 0.05 and xy[:, 1].max() <= TOP + ph + 0.05
        # the last point is the last recorded minute and value
        assert xy[-1, 0] == pytest.approx(LEFT + pw * model.timeseries[-1]["day"] / spec.xmax,
                                          abs=0.06)
        assert xy[-1, 1] == pytest.approx(TOP + ph * (1 - s.y[-1] / ymax), abs=0.06)
    # Response times: the bars of each bin add up to the incidents reached so far.
    spec = response_spec(model)
    n = sum(len(v) for v in response_times(model).values())
    assert n > 0 and sum(s.y.sum() for s in spec.series) == n
    assert str(n) in spec.note


def test_language_switch_changes_only_words(model):
    def shapes(svg):
        return re.sub(r"<text[^>]*>[^<]*</text>", "", svg)
    for make in (disputes_spec, response_spec, busy_spec):
        en, zh = to_svg(make(model, "en")), to_svg(make(model, "zh"))
        assert en != zh and shapes(en) == shapes(zh)


def test_an_empty_chart_says_so():
    spec = ChartSpec("T", "x", "hist", np.zeros(0), empty="no arrivals yet")
    assert "no arrivals yet" in to_svg(spec)
    lines = ChartSpec("T", "day", "lines", np.zeros(0), [Series("a", np.zeros(0), "#000")])
    ET.fromstring(to_svg(lines))              # no data yet: still a valid picture
