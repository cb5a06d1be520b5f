"""The trainers' browser page: the district model with Mesa's update mechanism, our own labels.

Started by ``python -m experiments.demo`` (which runs ``solara run experiments.demo.app``); the
scenario and other overrides arrive in the environment (see ``experiments.demo.model``).

Layout: the sidebar holds the clock, the language switch's labels, the live policy knobs, the run
controls (Reset / play-pause / Step, pause between steps, steps per press) and the Reset
parameters; the main area holds the map, the narrative log, three charts and the timeline's
teaching note in a draggable grid.  We do not use Mesa's ``SolaraViz`` page: its controller and
card titles are fixed English strings.  We still use Mesa's ``ModelCreator`` (Reset parameters,
labelled by us) and its ``update_counter``/``force_update`` redraw signal.  Each browser tab gets
its own model (``use_memo`` inside ``Page``): a module-level model would be shared by all tabs.
"""

from __future__ import annotations

import math
import threading
import time
import traceback

import solara
import solara.lab
from mesa.visualization.solara_viz import ModelCreator
from mesa.visualization.utils import force_update, update_counter

from experiments.demo.charts import busy_chart, disputes_chart, response_chart
from experiments.demo.map import map_figure
from experiments.demo.model import DemoModel, base_setup, timeline_choices
from experiments.demo.text import clock, t
from sim.config import ConfigError
from sim.timeline import event_start_minutes

Lang = solara.create_context("en")
DISPATCH_RULES = ("own_then_nearest", "own_grid", "nearest")
BOLD = {"font-weight": "bold"}


def _figure(fig):
    # A fixed size (no bbox "tight"), so the picture keeps the grid cell's shape in either language.
    return solara.FigureMatplotlib(fig, format="png")


def _figure_view(draw, doc: str):
    """A panel that re-draws `draw(model, lang)` after every step."""

    @solara.component
    def View(model):
        update_counter.get()
        _figure(draw(model, solara.use_context(Lang)))

    View.__doc__ = doc
    return View


MapView = _figure_view(map_figure, "The district map.")
DisputesView = _figure_view(disputes_chart, "Open disputes by level.")
ResponseView = _figure_view(response_chart, "Response times so far.")
BusyView = _figure_view(busy_chart, "Busy units by type.")


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


@solara.component
def ControlsCard(model, playing, interval, per_frame, reset_params, lang: str):
    """Reset / play-pause / Step and the speed: Mesa's ``ModelController`` in our words.

    The run state lives in ``Page`` (reactive values passed in), so a language switch neither
    pauses the run nor forgets the speed.
    """
    update_counter.get()
    error = solara.use_reactive(None)
    done = not model.value.running
    drawn = solara.use_memo(threading.Event, [])
    solara.use_effect(drawn.set)     # no dependencies: after every render, i.e. every frame shown

    def advance():
        for _ in range(per_frame.value):
            model.value.step()
            if not model.value.running:
                break
        force_update()

    def play_loop():
        # Runs in a thread (as Mesa's controller does); a new task starts when `playing` flips.
        try:
            while playing.value and model.value.running:
                time.sleep(interval.value / 1000)
                drawn.clear()
                advance()
                # While another thread renders (a knob, the language switch), our redraw request
                # is left to that render, which keeps re-rendering as long as we change the model:
                # without this wait the model would run on unseen and the page freeze.
                drawn.wait(timeout=10)
        except Exception as exc:    # show it on the page rather than only in the server log
            traceback.print_exc()
            error.set(f"{type(exc).__name__}: {exc}")
            playing.set(False)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def reset():
        playing.set(False)
        error.set(None)
        try:
            model.set(DemoModel(**reset_params.value))
        except ConfigError as exc:
            error.set(str(exc))

    with solara.Card(t("controls", lang)):
        solara.SliderInt(t("play_interval", lang), value=interval, min=1, max=500, step=10)
        solara.SliderInt(t("per_frame", lang), value=per_frame, min=1, max=24)
        with solara.Row(justify="space-between"):
            solara.Button(t("reset", lang), color="primary", on_click=reset,
                          classes=["demo-reset"])
            solara.Button(t("pause" if playing.value else "play", lang), color="primary",
                          on_click=lambda: playing.set(not playing.value), disabled=done,
                          classes=["demo-play"])
            solara.Button(t("step", lang), color="primary", on_click=advance,
                          disabled=playing.value or done, classes=["demo-step"])
        if error.value:
            solara.Error(error.value)


COMPONENTS = [MapView, NarrativeView, DisputesView, ResponseView, BusyView, TimelineView]
# Grid cells (12 columns) for COMPONENTS: a big map beside the log, three charts in a row, then
# the teaching note.  Trainers can still drag and resize them.
LAYOUT = [{"i": i, "x": x, "y": y, "w": w, "h": h, "moved": False}
          for i, (x, y, w, h) in enumerate([(0, 0, 7, 15), (7, 0, 5, 15), (0, 15, 4, 10),
                                            (4, 15, 4, 10), (8, 15, 4, 10), (0, 25, 12, 8)])]


@solara.component
def Page():
    """One browser tab: its own model, language, run controls and panels."""
    lang = solara.use_reactive("en")
    first = solara.use_memo(DemoModel, [])
    model = solara.use_reactive(first)
    playing = solara.use_reactive(False)
    interval = solara.use_reactive(150)        # ms between steps while playing
    per_frame = solara.use_reactive(1)         # steps per Step press / per redraw while playing
    reset_params = solara.use_reactive({})     # filled by ModelCreator, used by Reset
    layout = solara.use_reactive(LAYOUT)
    Lang.provide(lang.value)

    def switch_language():
        lang.set("zh" if lang.value == "en" else "en")

    with solara.AppBar():
        solara.AppBarTitle(f"{t('title', lang.value)} · {model.value.cfg.scenario.name}")
        solara.Button(t("switch_lang", lang.value), on_click=switch_language, text=True,
                      classes=["lang-switch"], style={"color": "white"})
    with solara.Sidebar():
        ClockCard(model.value, lang.value)
        ControlsCard(model, playing, interval, per_frame, reset_params, lang.value)
        PolicyCard(model.value, lang.value)
        with solara.Card(t("model_params", lang.value)):
            ModelCreator(model, model_params(model.value, lang.value),
                         model_parameters=reset_params)
    solara.GridDraggable(items=[c(model.value) for c in COMPONENTS], grid_layout=layout.value,
                         resizable=True, draggable=True, on_grid_layout=layout.set)


def _check() -> None:
    # Fail at import (server start) rather than on the first page view if the config is bad.
    base_setup()
    assert not math.isnan(DemoModel().end_minutes)


_check()
