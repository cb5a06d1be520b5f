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
from collections.abc import Callable

import reacton.core
import solara
import solara.lab
from mesa.visualization.solara_viz import ModelCreator
from mesa.visualization.utils import force_update, update_counter
from solara.server import kernel_context

from experiments.demo.charts import busy_spec, disputes_spec, response_spec
from experiments.demo.model import TICKS, DemoModel, base_setup, timeline_choices
from experiments.demo.model import reset_params as reset_params_for
from experiments.demo.side_by_side import b_knobs_of, difference_specs, follow, summary, twin
from experiments.demo.svg_chart import to_svg
from experiments.demo.text import clock, t
from experiments.demo.vector_map import ASSETS, VectorMap
from sim.config import ConfigError
from sim.timeline import event_start_minutes

Lang = solara.create_context("en")
DISPATCH_RULES = ("own_then_nearest", "own_grid", "nearest")
BOLD = {"font-weight": "bold"}


CHART_SECONDS = 2.0    # while playing, the charts are redrawn this often (wall time) at most
# While playing, at least this long between one frame shown and the next step (s): a click
# (Pause, the language) that lands between frames then renders at once instead of waiting
# for a frame in flight.  At the fastest settings frames otherwise came back to back and a
# language switch waited up to 0.6 s (0.26 s with this gap, 0.27 s with 0.1 s, which halved
# the fastest play: python -m benchmarks.bench_demo_latency); more steps per redraw make up
# the speed.
MIN_GAP_S = 0.05


@solara.component
def Chart(make, key: list):
    """The SVG of the ``ChartSpec`` `make()` returns, built again only when `key` changes."""
    svg = solara.use_memo(lambda: to_svg(make()), key)
    return solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["demo-chart-cell"])


def chart_key(model, lang: str, playing: bool) -> list:
    """When a chart is redrawn: after every step and language switch while paused; while
    playing at the language switch and every CHART_SECONDS (a chart's data grows with the run:
    there is no point in sending it at every frame)."""
    if playing:
        return [id(model), lang, int(time.monotonic() / CHART_SECONDS)]
    return [id(model), lang, update_counter.value]


def _figure_view(spec, doc: str):
    """A panel that re-draws `spec(model, lang)` as ``chart_key`` says."""

    @solara.component
    def View(model, playing: bool = False):
        update_counter.get()
        lang = solara.use_context(Lang)
        Chart(lambda: spec(model, lang), chart_key(model, lang, playing))

    View.__doc__ = doc
    return View


DisputesView = _figure_view(disputes_spec, "Open disputes by level.")
ResponseView = _figure_view(response_spec, "Response times so far.")
BusyView = _figure_view(busy_spec, "Busy units by type.")


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
        solara.v.Html(tag="div", children=[clock(model.now, lang)], class_="demo-clock",
                      attributes=tid("clock"), style_="font-size: 22px; font-weight: bold")
        solara.Text(t("horizon", lang, days=model.end_minutes / 1440.0))
        if not model.running:
            solara.v.Html(tag="div", children=[t("finished", lang)], attributes=tid("run-over"),
                          style_="font-size: 18px; font-weight: bold; color: #b71c1c")
        on_duty = [u for u in model.units if u.state != "off_duty"]
        solara.Text(t("units_on_map", lang, n=len(on_duty), busy=sum(u.busy for u in on_duty)),
                    classes=["demo-units"], style={"display": "block"})


def _act(fn):
    """A knob's handler: apply the value, then redraw the page."""
    def handler(value):
        fn(value)
        force_update()
    return handler


@solara.component
def PolicyCard(model, lang: str):
    """Knobs that act on the running model at once (no reset)."""
    update_counter.get()
    s = model.cfg.scenario

    with solara.Card(t("policy", lang)):
        solara.v.Select(label=t("dispatch_rule", lang), v_model=s.dispatch.rule,
                        items=[{"text": t(r, lang), "value": r} for r in DISPATCH_RULES],
                        on_v_model=_act(model.set_dispatch_rule))
        solara.Switch(label=t("unified_platform", lang), value=s.dispatch.unified_platform,
                      on_value=_act(model.set_unified_platform))
        solara.Switch(label=t("mentoring", lang), value=s.mediators.mentoring,
                      on_value=_act(model.set_mentoring))
        solara.Switch(label=t("meals_on_call", lang), value="meal" in s.dispatch.p1_breaks_duties,
                      on_value=_act(model.set_meals_on_call))
        for unit_type in ("police", "guard"):
            if unit_type in s.units:
                solara.SliderInt(
                    t("strength", lang, what=t(unit_type, lang)),
                    value=int(round(model.strength.get(unit_type, 1.0) * 100)), min=0, max=100,
                    step=10, thumb_label="always",
                    on_value=_act(lambda v, u=unit_type: model.set_unit_strength(u, v / 100.0)))
        for kind in ("part_time", "xiaoma"):
            solara.SliderInt(
                t("strength", lang, what=t(kind, lang)),
                value=int(round(model.strength.get(kind, 1.0) * 100)), min=0, max=100, step=10,
                thumb_label="always",
                on_value=_act(lambda v, k=kind: model.set_mediator_strength(k, v / 100.0)))
        solara.Text(t("reset_hint", lang), style={"font-size": "12px", "color": "#666"})


@solara.component
def SideBySideCard(model, copy_b, lang: str):
    """Switch copy B on or off, and B's own knobs (they act on B at once)."""
    update_counter.get()
    b = copy_b.value

    def switch(on):
        a = model.value
        # B starts as A with mentoring flipped: one knob apart, ready to compare.
        copy_b.set(twin(a, {**b_knobs_of(a), "mentoring": not a.cfg.scenario.mediators.mentoring})
                   if on else None)

    with solara.Card(t("side_by_side", lang)):
        with solara.v.Html(tag="div", attributes=tid("side-by-side-switch")):
            solara.Switch(label=t("sbs_switch", lang), value=b is not None, on_value=switch)
        if b is None:
            return
        solara.Text(t("sbs_hint", lang), style={"font-size": "12px", "color": "#666"})
        s = b.cfg.scenario
        solara.Switch(label=f"B: {t('mentoring', lang)}", value=s.mediators.mentoring,
                      on_value=_act(b.set_mentoring))
        solara.Switch(label=f"B: {t('unified_platform', lang)}",
                      value=s.dispatch.unified_platform, on_value=_act(b.set_unified_platform))
        solara.Switch(label=f"B: {t('meals_on_call', lang)}",
                      value="meal" in s.dispatch.p1_breaks_duties,
                      on_value=_act(b.set_meals_on_call))
        if "police" in s.units:
            solara.SliderInt(f"B: {t('strength', lang, what=t('police', lang))}",
                             value=int(round(b.strength.get("police", 1.0) * 100)), min=0,
                             max=100, step=10, thumb_label="always",
                             on_value=_act(lambda v: b.set_unit_strength("police", v / 100.0)))


@solara.component
def SideBySidePanel(a, b, playing: bool = False):
    """A and B on one clock: B's knobs, the numbers side by side, the difference over time."""
    update_counter.get()
    lang = solara.use_context(Lang)
    k = b_knobs_of(b)
    onoff = {True: t("on", lang), False: t("off", lang)}
    with solara.v.Html(tag="div", attributes=tid("side-by-side"), style_="font-size: 15px"):
        solara.Text(f"{t('sbs_title', lang)} · {clock(a.now, lang)}",
                    style={**BOLD, "font-size": "16px"})
        solara.v.Html(tag="div", class_="sbs-knobs", children=[t(
            "sbs_knobs", lang, mentoring=onoff[k["mentoring"]], platform=onoff[k["platform"]],
            meals=onoff[k["meals"]], police=k["police"],
            rule=t(b.cfg.scenario.dispatch.rule, lang))])
        with solara.Columns([4, 4, 4]):
            sa, sb = summary(a), summary(b)

            def cell(v):
                return "–" if isinstance(v, float) and math.isnan(v) else (
                    f"{v:.1f}" if isinstance(v, float) else str(v))

            rows = [((t(f"m_{key}", lang), cell(sa[key]), cell(sb[key])), None) for key in sa]
            _table("side-by-side-table", "", [t(h, lang) for h in ("h_measure", "h_a", "h_b")],
                   rows, max_height="260px")
            for k in range(2):
                Chart(lambda k=k: difference_specs(a, b, lang)[k],
                      chart_key(a, lang, playing) + [id(b)])


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


def tid(name: str) -> dict:
    """The stable ``data-testid`` hook of an element (issue 11's list; keep them)."""
    return {"data-testid": name}


@solara.component
def ControlsCard(model, copy_b, playing, interval, per_frame, reset_params, defaults_on_reset,
                 lang: str):
    """Reset / Play / Pause / Step, the tick and the speed: Mesa's ``ModelController`` in our
    words.

    The run state lives in ``Page`` (reactive values passed in), so a language switch neither
    pauses the run nor forgets the speed.  Reset keeps the live knobs unless the trainer ticks
    "restore defaults": comparing a knob's effect means rerunning the same seed with it changed.
    """
    update_counter.get()
    error = solara.use_reactive(None)
    done = not model.value.running
    drawn = solara.use_memo(threading.Event, [])
    solara.use_effect(drawn.set)     # no dependencies: after every render, i.e. every frame shown
    renderer = reacton.core.get_render_context()

    def others_rendering() -> bool:
        # A click (Pause, the language, a knob) renders in the thread that received it, and
        # its messages reach the browser only when that render is over.  Were we to step
        # meanwhile, it would render our steps too, for as long as we play: wait for it instead.
        lock = renderer.thread_lock
        owner = getattr(renderer, "_lock_thread", None)     # reacton internals: may be absent
        return lock.locked() and owner is not threading.current_thread()

    def advance():
        if not model.value.running:
            return                  # the run is over: Step does nothing
        for _ in range(per_frame.value):
            model.value.step()
            if copy_b.value is not None:
                follow(copy_b.value, model.value)      # B on A's clock
            if not model.value.running:
                break
        force_update()

    def play_loop(stop: threading.Event):
        # Runs in its own thread (as Mesa's controller does) while `playing` is set.
        def going():
            return playing.value and not stop.is_set()

        try:
            while going() and model.value.running:
                time.sleep(max(interval.value / 1000, MIN_GAP_S))
                while others_rendering() and going():
                    time.sleep(0.005)
                if not going():
                    break
                drawn.clear()
                advance()
                # While another thread renders (a knob, the language switch), our redraw request
                # is left to that render, which keeps re-rendering as long as we change the model:
                # without this wait the model would run on unseen and the page freeze.  Short
                # waits, so Pause is seen at once.
                for _ in range(100):
                    if drawn.wait(timeout=0.1) or not going():
                        break
        except Exception as exc:    # show it on the page rather than only in the server log
            traceback.print_exc()
            error.set(f"{type(exc).__name__}: {exc}")
            playing.set(False)
            return
        if not stop.is_set() and not model.value.running:
            playing.set(False)      # the run is over: Play is off, Pause has nothing to pause

    def start_playing():
        """A play thread while `playing`; stopped when it flips back or the tab closes.  Not
        ``solara.lab.use_task``: each use of it registers a kernel-start callback in a
        module-level list that is never removed, and that kept every closed tab's model (about
        7 MB a tab)."""
        if not playing.value:
            return None
        context = kernel_context.get_current_context()
        stop = threading.Event()

        def run():
            with context:
                play_loop(stop)

        threading.Thread(target=run, daemon=True, name="demo-play").start()
        return stop.set

    solara.use_effect(start_playing, [playing.value])

    def reset():
        playing.set(False)
        error.set(None)
        old = model.value
        try:
            fresh = DemoModel(**reset_params_for(old.params, reset_params.value))
        except ConfigError as exc:
            error.set(str(exc))
            return
        if not defaults_on_reset.value:
            fresh.apply_knobs(old.knobs())
        model.set(fresh)
        if copy_b.value is not None:
            copy_b.set(twin(fresh, b_knobs_of(copy_b.value)))

    def set_tick(value):
        model.value.set_tick(int(value))
        force_update()

    with solara.Card(t("controls", lang)):
        with solara.v.Html(tag="div", attributes=tid("tick-minutes")):
            solara.v.Select(label=t("tick_minutes", lang), v_model=int(model.value.tick_minutes),
                            items=[{"text": t("n_minutes", lang, n=m), "value": m}
                                   for m in TICKS], on_v_model=set_tick)
        with solara.v.Html(tag="div", attributes=tid("speed")):
            solara.SliderInt(t("play_interval", lang), value=interval, min=0, max=500, step=10,
                             thumb_label="always")
        solara.SliderInt(t("per_frame", lang), value=per_frame, min=1, max=24,
                         thumb_label="always")
        with solara.Row(justify="space-between"):
            solara.Button(t("reset", lang), color="primary", on_click=reset,
                          classes=["demo-reset"], attributes=tid("reset"))
            solara.Button(t("play", lang), color="primary", on_click=lambda: playing.set(True),
                          disabled=done or playing.value, classes=["demo-play"],
                          attributes=tid("play"))
            solara.Button(t("pause", lang), color="primary", on_click=lambda: playing.set(False),
                          disabled=not playing.value, classes=["demo-pause"],
                          attributes=tid("pause"))
            solara.Button(t("step", lang), color="primary", on_click=advance,
                          disabled=playing.value or done, classes=["demo-step"],
                          attributes=tid("step"))
        solara.Checkbox(label=t("defaults_on_reset", lang), value=defaults_on_reset)
        if error.value:
            solara.Error(error.value)


@solara.component_vue(str(ASSETS / "board_table.vue"))
def _BoardTable(testid: str, title: str, header: list, rows: list, picks: list,
                row_testid: str = "", max_height: str = "300px",
                event_pick: Callable | None = None):
    pass


def _table(name: str, title: str, header: list[str], rows: list[tuple], on_pick=None,
           row_id: str | None = None, max_height: str = "300px"):
    """A titled table with a data-testid; a row is (cells, the case it picks or None)."""
    def pick(case):
        if on_pick is not None and case:
            on_pick(tuple(case))

    _BoardTable(testid=name, title=title, header=header,
                rows=[[str(c) for c in cells] for cells, _ in rows],
                picks=[list(case) if case is not None else None for _, case in rows],
                row_testid=row_id or "", max_height=max_height, event_pick=pick)


def _minutes(now: float, since: float) -> str:
    return f"{max(now - since, 0.0):.0f}"


@solara.component
def UnitBoard(model, selected):
    """Every unit on duty: call sign, type, grid, state, current job, minutes in state."""
    update_counter.get()
    lang = solara.use_context(Lang)
    now = model.now
    rows = []
    for u in model.units:
        if u.state == "off_duty":
            continue
        inc = u.incident
        job = f"#{inc.incident_id} {t(inc.kind, lang)} P{inc.priority}" if inc is not None else ""
        since = model.since.get(u.name, (u.state, now))[1]
        # On a duty the board names which one (the map's legend groups them in one colour).
        state = t(f"duty_{u.activity}", lang) if u.state == "duty" and u.activity else t(
            u.state, lang)
        rows.append(((u.name, t(u.unit_type, lang), t("grid", lang, n=u.home_grid + 1),
                      state, job, _minutes(now, since)),
                     ("incident", inc.incident_id) if inc is not None else None))
    _table("unit-board", t("unit_board", lang, n=len(rows)),
           [t(h, lang) for h in ("h_unit", "h_type", "h_grid", "h_state", "h_job", "h_min")],
           rows, on_pick=selected.set, row_id="unit-row", max_height="360px")


@solara.component
def IncidentQueue(model, selected):
    """Calls waiting for a unit, like a CAD screen: priority, kind, grid, minutes waiting."""
    update_counter.get()
    lang = solara.use_context(Lang)
    now = model.now
    rows = [((f"#{i.incident_id}", t("priority", lang, p=i.priority), t(i.kind, lang),
              t("grid", lang, n=i.grid + 1), _minutes(now, i.t_reported)),
             ("incident", i.incident_id))
            for i in model.waiting()]
    if not rows:
        rows = [((t("queue_empty", lang),), None)]
    _table("incident-queue", t("incident_queue", lang, n=len(model.waiting())),
           [t(h, lang) for h in ("h_id", "h_priority", "h_kind", "h_grid", "h_waiting")],
           rows, on_pick=selected.set, max_height="200px")


@solara.component
def DisputeBoard(model, selected):
    """Open disputes by level, oldest first: age and the session count so far; a click on a
    row follows that dispute."""
    update_counter.get()
    lang = solara.use_context(Lang)
    now = model.now
    order = {"community": 0, "street": 1, "district": 2}
    open_ = sorted((d for d in model.mediation.disputes if d.is_open),
                   key=lambda d: (order.get(d.level, 9), d.t_raised))
    rows = [((f"#{d.dispute_id}", t(d.level, lang), t(d.category, lang), d.n_parties,
              f"{d.amount_yuan / 1e4:,.1f}", f"{(now - d.t_raised) / 1440:.1f}", d.sessions),
             ("dispute", d.dispute_id)) for d in open_[:40]]
    _table("dispute-board", t("dispute_board", lang, n=len(open_)),
           [t(h, lang) for h in ("h_id", "h_level", "h_category", "h_parties", "h_amount",
                                 "h_age", "h_sessions")], rows, on_pick=selected.set,
           row_id="dispute-row", max_height="220px")


def _story_line(text: str) -> None:
    solara.v.Html(tag="div", children=[text])


def _unit_named(model, name: str):
    return next((u for u in model.units if u.name == name), None)


@solara.component
def CaseStory(model, selected, on_pick):
    """The followed case's story: an incident's (reported, dispatched with unit and ETA,
    arrived, cleared) or a dispute's (raised, taken by whom, sessions, escalations, outcome)."""
    update_counter.get()
    lang = solara.use_context(Lang)
    kind, ident = selected.value or (None, None)
    inc = model.incident(ident) if kind == "incident" else None
    dispute = model.dispute(ident) if kind == "dispute" else None
    with solara.v.Html(tag="div", attributes=tid("case-story"), style_="font-size: 15px"):
        solara.v.Html(tag="div", children=[t("case_story", lang)],
                      style_="font-weight: bold; font-size: 16px")
        if dispute is not None:
            DisputeStory(model, dispute, lang, on_pick)
            return
        if inc is None:
            solara.v.Html(tag="div", children=[t("pick_case", lang)])
            return
        prio = t("priority", lang, p=inc.priority)
        solara.v.Html(tag="div", children=[f"#{inc.incident_id} {t(inc.kind, lang)} · {prio}"
                                           f" · {t('grid', lang, n=inc.grid + 1)}"])

        def line(key, minute, **extra):
            if not math.isnan(minute):
                _story_line(f"{clock(minute, lang)}  {t(key, lang, **extra)}")

        line("story_reported", inc.t_reported)
        if not math.isnan(inc.t_dispatched):
            arrival = inc.t_arrived
            if math.isnan(arrival):   # still on the way: its drive knows when it arrives
                unit = _unit_named(model, inc.unit_id)
                if unit is not None and unit.trip is not None and unit.incident is inc:
                    arrival = unit.trip.t1
            eta = arrival - inc.t_dispatched
            line("story_dispatched", inc.t_dispatched, unit=inc.unit_id,
                 eta="?" if math.isnan(eta) else f"{eta:.0f}")
        line("story_arrived", inc.t_arrived, unit=inc.unit_id)
        line("story_cleared", inc.t_cleared, unit=inc.unit_id)
        if inc.abandoned:
            line("story_abandoned", inc.t_abandoned)
        if inc.overflow:
            line("story_overflow", inc.t_reported)


@solara.component
def DisputeStory(model, d, lang: str, on_pick):
    """A dispute's story, each line at the minute it happened; a violent ending names the
    incident it became (a click follows that incident)."""
    update_counter.get()   # its arguments stay the same object while the case moves on
    amount = f"{d.amount_yuan / 1e4:,.1f}"
    _story_line(f"#{d.dispute_id} {t(d.category, lang)} · "
                f"{t('community_n', lang, n=d.community + 1)} · "
                f"{t('story_parties', lang, n=d.n_parties, amount=amount)}")
    for minute, key, p in model.dispute_story(d.dispute_id):
        stamp = clock(minute, lang)
        if key == "dispute_raised":
            _story_line(f"{stamp}  {t('story_raised', lang)}")
        elif key == "dispute_taken":
            mentored = t("story_mentored", lang) if p["mentored"] else ""
            _story_line(f"{stamp}  " + t("story_taken", lang, level=t(p["level"], lang),
                                         kind=t(f"mk_{p['mediator_kind']}", lang),
                                         mediator=p["mediator"], mentored=mentored))
        elif key == "session_held":
            result = t("story_agreement" if p["settled"] else "story_no_agreement", lang)
            _story_line(f"{clock(p['start'], lang)}  " + t(
                "story_session", lang, n=p["n"], level=t(p["level"], lang), result=result))
        elif key == "session_booked":
            started = p["start"] <= model.now
            _story_line(f"{clock(p['start'], lang)}  " + t(
                "story_under_way" if started else "story_booked", lang, n=p["n"],
                level=t(p["level"], lang)))
        elif key == "dispute_escalated":
            _story_line(f"{stamp}  " + t("story_escalated", lang, level=t(p["level"], lang)))
        elif key == "dispute_closed":
            _story_line(f"{stamp}  " + t(f"story_closed_{p['outcome']}", lang,
                                         level=t(p["level"], lang)))
        elif key == "violent_incident":
            LogLine(f"{stamp}  " + t("story_violent", lang, id=p["incident"]),
                    ("incident", p["incident"]), on_pick)
    if d.is_open:
        _story_line(t("story_open", lang, level=t(d.level, lang), sessions=d.sessions))


@solara.component
def LogView(model, selected):
    """What just happened, newest first; a line naming an incident or a dispute opens its
    story."""
    update_counter.get()
    lang = solara.use_context(Lang)
    entries = model.log_entries(lang, last=80)[::-1] or [(0, t("nothing_yet", lang), None)]
    # Keyed by its entry: a new entry is a new line and the older ones only move down, and a
    # language switch only relabels them.
    lines = [[str(key), line, f"{case[0]}:{case[1]}" if case is not None else None]
             for key, line, case in entries]

    def pick(case: str):
        kind, _, ident = case.partition(":")
        selected.set((kind, int(ident)))

    _LogLines(title=t("narrative", lang), lines=lines, event_pick=pick)


@solara.component_vue(str(ASSETS / "log_lines.vue"))
def _LogLines(title: str, lines: list, event_pick: Callable | None = None):
    pass


@solara.component
def LogLine(line: str, case, on_pick):
    """One clickable line of a case story (a violent dispute's incident)."""
    div = solara.v.Html(tag="div", children=[line], class_="log-case",
                        attributes={"data-case": f"{case[0]}:{case[1]}"},
                        style_="cursor: pointer")
    solara.v.use_event(div, "click", lambda *_: on_pick(case))
    return div


@solara.component
def Page():
    """One browser tab: its own model, language, run controls and panels.

    Control-room layout for a projector (1920x1080, 1366x768): the map large on the left, the
    unit board, the incident queue and the dispute board beside it; log, case story and charts
    below.
    """
    lang = solara.use_reactive("en")
    first = solara.use_memo(DemoModel, [])
    model = solara.use_reactive(first)
    playing = solara.use_reactive(False)
    interval = solara.use_reactive(150)        # ms between steps while playing
    per_frame = solara.use_reactive(1)         # steps per Step press / per redraw while playing
    reset_params = solara.use_reactive({})     # filled by ModelCreator, used by Reset
    defaults_on_reset = solara.use_reactive(False)
    selected = solara.use_reactive(None)       # the followed case: ("incident"|"dispute", id)
    copy_b = solara.use_reactive(None)         # "run side by side": B, or None
    Lang.provide(lang.value)
    m = model.value
    # A Reset makes a new run: the case followed in the old one is not in it.
    solara.use_effect(lambda: selected.set(None), [id(m)])

    def switch_language():
        lang.set("zh" if lang.value == "en" else "en")

    solara.Title(t("title", lang.value))      # the browser tab's name, not "Solara"
    with solara.AppBar():
        solara.AppBarTitle(f"{t('title', lang.value)} · {m.cfg.scenario.name}")
        solara.Button(t("switch_lang", lang.value), on_click=switch_language, text=True,
                      classes=["lang-switch"], style={"color": "white"},
                      attributes=tid("lang"))
    with solara.Sidebar():
        ClockCard(m, lang.value)
        ControlsCard(model, copy_b, playing, interval, per_frame, reset_params,
                     defaults_on_reset, lang.value)
        PolicyCard(m, lang.value)
        SideBySideCard(model, copy_b, lang.value)
        with solara.Card(t("model_params", lang.value)):
            ModelCreator(model, model_params(m, lang.value), model_parameters=reset_params)
    with solara.Columns([7, 5]):
        with solara.v.Html(tag="div", attributes=tid("map")):
            VectorMap(m, playing=playing.value, selected=selected.value, lang=lang.value,
                      on_pick=lambda kind, ident: selected.set(_picked_case(m, kind, ident)))
        with solara.Column():
            UnitBoard(m, selected)
            IncidentQueue(m, selected)
            DisputeBoard(m, selected)
    with solara.Columns([7, 5]):
        LogView(m, selected)
        with solara.Column():
            CaseStory(m, selected, selected.set)
            TimelineView(m)
    with solara.Columns([4, 4, 4]):
        DisputesView(m, playing.value)
        ResponseView(m, playing.value)
        BusyView(m, playing.value)
    if copy_b.value is not None:
        SideBySidePanel(m, copy_b.value, playing.value)


def _picked_case(model, kind: str, ident):
    """The case to follow after a click on the map: the incident or dispute clicked, or the
    job of the unit clicked (None if it has none)."""
    if kind in ("incident", "dispute"):
        return (kind, int(ident))
    unit = _unit_named(model, ident)
    if unit is None or unit.incident is None:
        return None
    return ("incident", unit.incident.incident_id)


def _check() -> None:
    # Fail at import (server start) rather than on the first page view if the config is bad.
    base_setup()
    assert not math.isnan(DemoModel().end_minutes)


_check()
