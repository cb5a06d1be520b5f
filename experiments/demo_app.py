"""The trainers' browser page: Mesa's SolaraViz around the district model.

Started by ``python -m experiments.demo`` (which runs ``solara run experiments.demo_app``); the
scenario and other overrides arrive in the environment (see ``experiments.demo_model``).

Layout: Mesa's sidebar (speed = play interval, steps per frame, Reset / play-pause / Step, the
Reset parameters) plus our clock, language switch and live policy knobs; the main area holds the
map, the narrative log, three charts and the timeline's teaching note.  Each browser tab gets
its own model (``use_memo`` inside ``Page``): a module-level model would be shared by all tabs.
"""

from __future__ import annotations

import math

import solara
from mesa.visualization import SolaraViz, solara_viz
from mesa.visualization.utils import force_update, update_counter

from experiments.demo_charts import busy_chart, disputes_chart, response_chart
from experiments.demo_map import map_figure
from experiments.demo_model import DemoModel, base_setup, timeline_choices
from experiments.demo_text import clock, t
from sim.timeline import event_start_minutes

Lang = solara.create_context("en")
DISPATCH_RULES = ("own_then_nearest", "own_grid", "nearest")
BOLD = {"font-weight": "bold"}


def _figure(fig):
    # A fixed size (no bbox "tight"), so the picture keeps the grid cell's shape in either language.
    return solara.FigureMatplotlib(fig, format="png")


@solara.component
def MapView(model):
    """The district map (re-drawn after every step)."""
    update_counter.get()
    _figure(map_figure(model, solara.use_context(Lang)))


@solara.component
def DisputesView(model):
    update_counter.get()
    _figure(disputes_chart(model, solara.use_context(Lang)))


@solara.component
def ResponseView(model):
    update_counter.get()
    _figure(response_chart(model, solara.use_context(Lang)))


@solara.component
def BusyView(model):
    update_counter.get()
    _figure(busy_chart(model, solara.use_context(Lang)))


@solara.component
def NarrativeView(model):
    """What just happened, newest first."""
    update_counter.get()
    lang = solara.use_context(Lang)
    lines = model.narrative_lines(lang, last=60)[::-1] or [t("nothing_yet", lang)]
    with solara.Column(classes=["narrative-log"], gap="0px",
                       style={"max-height": "330px", "overflow-y": "auto",
                              "font-size": "13px", "font-family": "monospace"}):
        solara.Text(t("narrative", lang), style={**BOLD, "font-family": "sans-serif"})
        for line in lines:
            solara.Text(line)


@solara.component
def TimelineView(model):
    """The timeline's teaching note and its events, done or to come."""
    update_counter.get()
    lang = solara.use_context(Lang)
    tl = model.timeline_file
    # Plain text, not Markdown: solara's Markdown pulls KaTeX from a CDN, absent offline.
    with solara.Column(classes=["timeline-note"], gap="6px",
                       style={"max-height": "330px", "overflow-y": "auto", "font-size": "13px"}):
        if tl is None:
            solara.Text(f"{t('timeline', lang)}: {t('no_timeline', lang)}", style=BOLD)
            return
        title = tl.title.get(lang) or tl.name
        solara.Text(f"{t('timeline', lang)}: {title} ({tl.name})", style=BOLD)
        solara.Text(f"{t('teaching_note', lang)}: {tl.teaching_note.get(lang, '')}")
        solara.Text(f"{t('upcoming', lang)} (✔ {t('done', lang)}, … {t('next', lang)})",
                    style=BOLD)
        for ev in tl.events:
            at = event_start_minutes(ev.get("at", 0))
            mark = "✔" if model.now >= at else "…"
            note = ev.get("note") or ev.get("kind", "")
            if lang == "zh":
                note = tl.notes_zh.get(note, note)
            solara.Text(f"{mark} {clock(at, lang)}: {note}")


@solara.component
def ClockCard(model, lang: str):
    # `lang` is passed, not read from the context: the sidebar renders outside Page's tree.
    update_counter.get()
    with solara.Card():
        solara.Text(clock(model.now, lang), classes=["demo-clock"],
                    style={"font-size": "20px", "font-weight": "bold"})
        solara.Text(t("horizon", lang, days=model.end_minutes / 1440.0))
        on_duty = [u for u in model.units if u.state != "off_duty"]
        solara.Text(t("units_on_map", lang, n=len(on_duty), busy=sum(u.busy for u in on_duty)),
                    classes=["demo-units"], style={"display": "block"})


@solara.component
def PolicyCard(model, lang: str):
    """Knobs that act on the running model at once (no reset)."""
    update_counter.get()
    s = model.cfg.scenario

    def act(fn):
        def handler(value):
            fn(value)
            force_update()
        return handler

    with solara.Card(t("policy", lang)):
        solara.v.Select(label=t("dispatch_rule", lang), v_model=s.dispatch.rule,
                        items=[{"text": t(r, lang), "value": r} for r in DISPATCH_RULES],
                        on_v_model=act(model.set_dispatch_rule))
        solara.Switch(label=t("unified_platform", lang), value=s.dispatch.unified_platform,
                      on_value=act(model.set_unified_platform))
        solara.Switch(label=t("mentoring", lang), value=s.mediators.mentoring,
                      on_value=act(model.set_mentoring))
        for unit_type in ("police", "guard"):
            if unit_type in s.units:
                solara.SliderInt(
                    t("strength", lang, what=t(unit_type, lang)),
                    value=int(round(model.strength.get(unit_type, 1.0) * 100)), min=0, max=100,
                    step=10, on_value=act(lambda v, u=unit_type: model.set_unit_strength(
                        u, v / 100.0)))
        for kind in ("part_time", "xiaoma"):
            solara.SliderInt(
                t("strength", lang, what=t(kind, lang)),
                value=int(round(model.strength.get(kind, 1.0) * 100)), min=0, max=100, step=10,
                on_value=act(lambda v, k=kind: model.set_mediator_strength(k, v / 100.0)))
        solara.Text(t("reset_hint", lang), style={"font-size": "12px", "color": "#666"})


def model_params(model: DemoModel, lang: str) -> dict:
    """Mesa's Reset parameters, starting from the current model's values."""
    p = model.params
    base, _ = base_setup()
    n_cells = model.district.n_cells

    def slider(key, value, lo, hi, step=1):
        return {"type": "SliderInt", "value": int(value), "label": t(key, lang), "min": lo,
                "max": max(hi, int(value)), "step": step}

    return {
        "seed": slider("p_seed", p["seed"], 0, 99),
        "timeline": {"type": "Select", "value": p["timeline"], "values": timeline_choices(),
                     "label": t("p_timeline", lang)},
        "grids": slider("p_grids", p["grids"], 1,
                        min(n_cells, max(3 * base["scenario"]["grids"]["count"], 12))),
        "police": slider("p_police", p["police"], 0, max(3 * p["police"], 12)),
        "guards": slider("p_guards", p["guards"], 0, max(3 * p["guards"], 12)),
        "part_time": slider("p_part_time", p["part_time"], 0,
                            max(2 * p["part_time"], 20), max(1, p["part_time"] // 20)),
    }


COMPONENTS = [(MapView, 0), (NarrativeView, 0), (DisputesView, 0), (ResponseView, 0),
              (BusyView, 0), (TimelineView, 0)]
# Grid cells (12 columns) for COMPONENTS: a big map beside the log, three charts in a row, then
# the teaching note.  Trainers can still drag and resize them.
LAYOUT = [(0, 0, 7, 15), (7, 0, 5, 15), (0, 15, 4, 10), (4, 15, 4, 10), (8, 15, 4, 10),
          (0, 25, 12, 8)]


def _initial_layout(num_components: int) -> list[dict]:
    if num_components != len(LAYOUT):
        return _mesa_layout(num_components)
    return [{"i": i, "x": x, "y": y, "w": w, "h": h, "moved": False}
            for i, (x, y, w, h) in enumerate(LAYOUT)]


# SolaraViz has no layout argument; its two-column default makes the map too small to read.
_mesa_layout = solara_viz.make_initial_grid_layout
solara_viz.make_initial_grid_layout = _initial_layout


@solara.component
def Page():
    """One browser tab: its own model, language and SolaraViz."""
    lang = solara.use_reactive("en")
    first = solara.use_memo(DemoModel, [])
    model = solara.use_reactive(first)
    Lang.provide(lang.value)

    def switch_language():
        lang.set("zh" if lang.value == "en" else "en")

    with solara.AppBar():
        solara.Button(t("switch_lang", lang.value), on_click=switch_language, text=True,
                      classes=["lang-switch"], style={"color": "white"})
    with solara.Sidebar():
        ClockCard(model.value, lang.value)
        PolicyCard(model.value, lang.value)
    name = f"{t('title', lang.value)} · {model.value.cfg.scenario.name}"
    # Keyed by language: SolaraViz reads its labels once, so a language switch remounts it
    # (same model; it pauses) with the Reset parameters taken from the running model.
    SolaraViz(model, components=COMPONENTS, model_params=model_params(model.value, lang.value),
              name=name, play_interval=150).key(f"viz-{lang.value}")


def _check() -> None:
    # Fail at import (server start) rather than on the first page view if the config is bad.
    base_setup()
    assert not math.isnan(DemoModel().end_minutes)


_check()
