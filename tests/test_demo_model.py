"""The control room's model side, without a browser: the page's tick changes what is shown,
never what happens; the log tells each step of a case; Reset can carry the live knobs; the
shipped timelines' named seeds show their lesson; a timeline's events stay inside its length."""

from __future__ import annotations

import math

import pytest

from experiments.demo import model as demo
from experiments.demo.text import clock
from sim.narrative import word
from sim.timeline_file import TimelineError, load_timeline


@pytest.fixture
def on_timeline(monkeypatch):
    """DemoModel as the page builds it for a timeline named on the command line."""
    def use(name):
        monkeypatch.setenv(demo.ENV_OVERRIDES, f'["timeline={name}"]')
        demo.base_setup.cache_clear()
        return demo.DemoModel
    yield use
    demo.base_setup.cache_clear()


@pytest.fixture
def festival(on_timeline):
    return on_timeline("festival_night")


def _run(model_cls, tick: float, **kw):
    m = model_cls(**kw)
    m.set_tick(tick)
    while m.running:
        m.step()
    return m


def _outcome(m):
    def num(v):
        return None if math.isnan(v) else round(v, 9)
    incidents = [(i.incident_id, i.kind, i.unit_id, num(i.t_dispatched), num(i.t_arrived),
                  num(i.t_cleared), i.abandoned) for i in m.desk.incidents]
    disputes = [(d.dispute_id, d.level, d.outcome, d.sessions, num(d.t_closed))
                for d in m.mediation.disputes]
    return incidents, disputes


def test_tick_changes_what_is_shown_not_what_happens(festival):
    one, ten = _run(festival, 1, seed=2), _run(festival, 10, seed=2)
    assert one.now == ten.now == one.end_minutes
    assert len(one.desk.incidents) > 20
    assert _outcome(one) == _outcome(ten)


def test_step_advances_by_the_tick_and_the_log_tells_the_case(festival):
    m = festival()
    assert m.tick_minutes == demo.DEFAULT_TICK
    m.step()
    assert clock(m.now) == "Day 1, 00:05"
    m.set_tick(10)
    m.step()
    assert clock(m.now) == "Day 1, 00:15"
    while m.now < 1440:
        m.step()
    keys = {key for _, key, _ in m.narrative}
    assert {"unit_arrived", "incident_cleared", "knob"} <= keys
    minutes = [e[0] for e in m.narrative]
    assert minutes == sorted(minutes)          # merged in time order
    en, zh = m.narrative_lines("en", 500), m.narrative_lines("zh", 500)
    assert any("arrived at the" in line for line in en)
    assert any("处置完毕" in line for line in zh)
    assert any("每步分钟数" in line for line in zh)
    # The case story's facts: an arrived incident was dispatched first and by a named unit.
    done = [i for i in m.desk.incidents if not math.isnan(i.t_cleared)]
    assert done and all(i.t_reported <= i.t_dispatched <= i.t_arrived <= i.t_cleared
                        and i.unit_id for i in done)


def test_reset_keeps_the_knobs(festival):
    old = festival()
    old.set_dispatch_rule("own_grid")
    old.set_mentoring(False)
    old.set_mediator_strength("part_time", 0.5)
    old.set_tick(2)
    fresh = festival()
    fresh.apply_knobs(old.knobs())
    assert fresh.knobs() == old.knobs()
    assert fresh.dispatcher.rule == "own_grid"
    assert festival().knobs() != old.knobs()


def test_festival_night_queues_calls_at_its_seed(festival):
    tl = load_timeline("festival_night")
    assert tl.seed is not None
    m = festival()
    assert m.params["seed"] == tl.seed           # the timeline's seed is the page's default
    assert m.end_minutes == tl.days * 1440       # and it runs its own length
    m.set_tick(5)
    queued_at = []
    while m.running:
        m.step()
        if m.waiting():
            queued_at.append(m.now)
    evening = (1440 + 18 * 60, 2 * 1440)
    assert any(evening[0] <= t <= evening[1] for t in queued_at), queued_at


def test_events_past_the_end_name_file_and_line(tmp_path):
    bad = tmp_path / "late.yaml"
    bad.write_text("scenario: small_district\ndays: 2\nevents:\n  - at: day 1 10:00\n"
                   "    kind: note\n    note: fine\n  - at: day 3 01:00\n    kind: note\n"
                   "    note: too late\n", encoding="utf-8")
    with pytest.raises(TimelineError) as err:
        load_timeline(bad)
    msg = str(err.value)
    assert "late.yaml, line 7" in msg and "events[1].at" in msg and "\n" not in msg


def test_dispute_story_lists_the_sessions_the_model_held(festival):
    m = festival(seed=4)
    m.set_tick(60)
    while m.running:
        m.step()
    held = [d for d in m.mediation.disputes if d.sessions]
    assert held, "no dispute had a session: pick a longer run"
    booked_somewhere = False
    for d in m.mediation.disputes:
        story = m.dispute_story(d.dispute_id)
        keys = [k for _, k, _ in story]
        assert keys[0] == "dispute_raised" and story[0][0] == d.t_raised
        sessions = [p for _, k, p in story if k == "session_held"]
        # Every session held is in the story; an open case may have its next one booked.
        assert [p["n"] for p in sessions] == list(range(1, d.sessions + 1))
        booked = [p for _, k, p in story if k == "session_booked"]
        if booked:
            booked_somewhere = True
            assert d.is_open and [p["n"] for p in booked] == [d.sessions + 1]
            assert booked[0]["start"] >= max([d.t_raised] + [p["start"] for p in sessions])
        starts = [p["start"] for p in sessions]
        assert starts == sorted(starts) and all(s >= d.t_raised for s in starts)
        if sessions:
            assert sessions[0]["start"] == d.t_first_session
            assert keys.index("dispute_taken") < keys.index("session_held")
        # Only the last session can have reached an agreement, and it did iff settled.
        assert not any(p["settled"] for p in sessions[:-1])
        assert bool(sessions and sessions[-1]["settled"]) == (d.outcome == "settled")
        assert keys.count("dispute_escalated") == d.escalations
        assert ("dispute_closed" in keys) == (not d.is_open)
        if not d.is_open:
            closed = next(p for _, k, p in story if k == "dispute_closed")
            assert closed["outcome"] == d.outcome and closed["level"] == d.level
        taken = [p for _, k, p in story if k == "dispute_taken"]
        if taken:
            assert taken[-1]["mediator"] == d.mediator_id
    assert booked_somewhere, "no case had a session booked at the end: pick another seed"


def test_log_lines_name_their_case(festival):
    m = festival(seed=3)
    m.set_tick(60)
    while m.running:
        m.step()
    entries = m.narrative_entries("en", last=500)
    cases = {case for _, case in entries if case is not None}
    assert any(kind == "incident" for kind, _ in cases)
    assert any(kind == "dispute" for kind, _ in cases)
    for line, case in entries:
        if case is None:
            continue
        kind, ident = case
        case_ = m.incident(ident) if kind == "incident" else m.dispute(ident)
        what = case_.kind if kind == "incident" else case_.category
        assert word(what, "en") in line, line


def _at_named_seed(model_cls, name):
    tl = load_timeline(name)
    assert tl.seed is not None, f"{name} names no seed"
    m = model_cls()
    assert m.params["seed"] == tl.seed and m.end_minutes == tl.days * 1440
    m.set_tick(30)
    while m.running:
        m.step()
    return m


def test_wage_dispute_escalates_at_its_seed(on_timeline):
    m = _at_named_seed(on_timeline("wage_dispute"), "wage_dispute")
    case = next(d for d in m.mediation.disputes if d.source == "timeline")
    assert case.n_parties == 40 and case.category == "labour"
    assert case.escalations >= 1 and case.level != "community"
    story = m.dispute_story(case.dispute_id)
    keys = [k for _, k, _ in story]
    assert keys.count("session_held") >= 1 and "dispute_escalated" in keys
    # What the teaching note tells: it then turns violent, a priority-1 incident.
    assert case.outcome == "violent"
    inc = m.incident(story[-1][2]["incident"])
    assert story[-1][1] == "violent_incident" and inc.priority == 1
    assert inc.t_reported == case.t_closed


def _day_shift(m, day):
    """(calls reported 08:00-16:00 on `day`, how many waited for a unit, response p90)."""
    a = (day - 1) * 1440 + 8 * 60
    calls = [i for i in m.desk.incidents if a <= i.t_reported < a + 8 * 60 and i.source != "patrol"]
    waited = sum(1 for i in calls if i.abandoned or i.overflow or i.t_dispatched > i.t_reported)
    times = sorted(i.t_arrived - i.t_reported for i in calls if not math.isnan(i.t_arrived))
    return len(calls), waited, times[int(0.9 * (len(times) - 1))]


def test_staff_shortage_queues_calls_at_its_seed(on_timeline):
    m = _at_named_seed(on_timeline("staff_shortage"), "staff_shortage")
    n2, waited2, p90_2 = _day_shift(m, 2)
    n3, waited3, p90_3 = _day_shift(m, 3)
    # Half the day shift away on day 3: calls queue and the tail grows, though no busier.
    assert waited3 > waited2 and waited3 >= 2, (waited2, waited3)
    assert p90_3 > 1.5 * p90_2, (p90_2, p90_3)
    assert n3 <= n2 * 1.2

    # What the page's histogram shows: the run's first responses over 20 minutes, on day 3.
    def slow(day):
        return [i for i in m.desk.incidents if i.source != "patrol" and (day - 1) * 1440
                <= i.t_reported < day * 1440 and i.t_arrived - i.t_reported > 20]
    assert not slow(1) and not slow(2) and len(slow(3)) >= 2


def test_the_festival_fight_waits_and_its_caller_gives_up_at_its_seed(festival):
    # The teaching note: every car busy or at its meal at 22:30, no unit reaches the fight.
    m = _at_named_seed(festival, "festival_night")
    fight = next(i for i in m.desk.incidents if i.source == "call" and i.priority == 1
                 and i.t_reported == 1440 + 22.5 * 60)
    assert fight.abandoned and math.isnan(fight.t_dispatched)


def test_side_by_side_with_meals_on_call_a_unit_leaves_its_meal_for_the_festival_fight(festival):
    # The teaching note's question answered: B, the same night with meals on call, sends a
    # car from its meal to the 22:30 fight that A's caller gave up on.
    from experiments.demo.side_by_side import b_knobs_of, follow, twin

    a = festival()
    a.set_tick(60)
    b = twin(a, {**b_knobs_of(a), "meals": True})
    assert b_knobs_of(b)["meals"] and not b_knobs_of(a)["meals"]
    while a.running:
        a.step()
        follow(b, a)

    def fight(m):
        return next(i for i in m.desk.incidents if i.source == "call" and i.priority == 1
                    and i.t_reported == 1440 + 22.5 * 60)

    assert fight(a).abandoned and not fight(b).abandoned
    assert fight(b).t_dispatched == fight(b).t_reported and fight(b).t_arrived < math.inf
    assert a.dispatcher.duties_broken == 0 < b.dispatcher.duties_broken
    # The same calls, but those patrols deter (the cars' time on patrol moves with their meals).
    fixed = {k for k, v in a.cfg.scenario.calls.kinds.items() if not v.deterrable}
    assert _calls(b, fixed) == _calls(a, fixed) and _calls(a, fixed)
    assert any(e[1] == "knob" and e[2]["knob"] == "meals_on_call" for e in b.narrative)


def _calls(m, kinds=None):
    return [(i.t_reported, i.kind, i.caller) for i in m.desk.incidents
            if i.source == "call" and (kinds is None or i.kind in kinds)]


def test_side_by_side_same_demand_differs_only_through_the_knob(festival):
    from experiments.demo.side_by_side import b_knobs_of, follow, twin

    a = festival(seed=2)
    a.set_tick(10)
    for _ in range(30):
        a.step()
    same = twin(a, b_knobs_of(a))
    no_mentoring = twin(a, {**b_knobs_of(a), "mentoring": False})
    half_police = twin(a, {**b_knobs_of(a), "police": 0.5})
    assert b_knobs_of(half_police)["police"] == 0.5 and not b_knobs_of(no_mentoring)["mentoring"]
    twins = (same, no_mentoring, half_police)
    while a.running:
        a.step()
        for b in twins:
            follow(b, a)
            assert b.now == a.now                      # one clock
    assert [r["t_min"] for r in same.timeseries] == [r["t_min"] for r in a.timeseries]
    # Same knobs: the very same run.
    assert _outcome(same) == _outcome(a)
    # Mentoring acts on mediation only: the same calls and the same disputes raised.
    assert _calls(no_mentoring) == _calls(a)
    raised = [(d.t_raised, d.category, d.parties) for d in a.mediation.disputes]
    assert [(d.t_raised, d.category, d.parties) for d in no_mentoring.mediation.disputes] == raised
    # Half the police: the same calls except those patrols deter (fewer patrols, more of them),
    # and the police knob does change what happens to them.
    kinds = a.cfg.scenario.calls.kinds
    fixed = {k for k, v in kinds.items() if not v.deterrable}
    assert _calls(half_police, fixed) == _calls(a, fixed) and _calls(a, fixed)
    assert _outcome(half_police)[0] != _outcome(a)[0]


def test_a_finished_run_stays_put(festival):
    m = _run(festival, 60, seed=2)
    now, rows, log = m.now, len(m.timeseries), len(m.narrative)
    assert not m.running and now == m.end_minutes
    m.step()
    assert (m.now, len(m.timeseries), len(m.narrative)) == (now, rows, log)


def test_log_keys_name_entries_in_either_language(festival):
    """The page keys its log lines by entry: the same keys in English and Chinese (a switch only
    relabels), unique, and an entry keeps its key while newer ones arrive."""
    m = festival(seed=1)
    m.set_tick(30)
    for _ in range(12):
        m.step()
    en, zh = m.log_entries("en", 80), m.log_entries("zh", 80)
    assert len(en) > 10
    assert [k for k, _, _ in en] == [k for k, _, _ in zh]
    assert [line for _, line, _ in en] != [line for _, line, _ in zh]
    assert len({k for k, _, _ in en}) == len(en)
    line_of = {k: line for k, line, _ in en}
    for _ in range(4):
        m.step()
    later = m.log_entries("en", 200)
    kept = [(k, line) for k, line, _ in later if k in line_of]
    assert kept and all(line == line_of[k] for k, line in kept)


@pytest.mark.parametrize("tick", [5, 10])
def test_every_call_that_waits_is_logged_once_at_any_tick(festival, tick):
    # Scripted events fall on whole minutes, which are step boundaries: a step runs [t0, t1),
    # so the log must look there (it looked at (t0, t1] and missed the 22:30 fight).
    m = _run(festival, tick)
    waited = {i.incident_id for i in m.desk.incidents if not i.overflow
              and not (i.t_dispatched <= i.t_reported)}
    logged = [p["id"] for _, k, p in m.narrative if k == "incident_queued"]
    assert waited and sorted(logged) == sorted(waited)
    fight = next(i for i in m.desk.incidents if i.source == "call" and i.priority == 1
                 and i.t_reported == 1440 + 22.5 * 60)
    assert fight.incident_id in waited


def test_a_followed_dispute_s_story_follows_the_case(on_timeline):
    # The story component's arguments stay the same objects while the case moves on; it must
    # redraw on the page's update signal (it stayed at "raised" until the language changed).
    import solara
    from mesa.visualization.utils import force_update

    from experiments.demo import app

    m = on_timeline("wage_dispute")()
    m.set_tick(60)
    while m.now < 1440 + 15 * 60:
        m.step()
    case = next(d for d in m.mediation.disputes if d.source == "timeline")
    selected = solara.reactive(("dispute", case.dispute_id))

    @solara.component
    def Page():
        app.CaseStory(m, selected, lambda _: None)

    def texts(widget):
        out = []
        for child in getattr(widget, "children", None) or []:
            out += [child] if isinstance(child, str) else texts(child)
        return out

    box, _ = solara.render(Page(), handle_error=False)
    assert not any("session 1" in line for line in texts(box))
    for _ in range(3 * 24):
        m.step()
    force_update()
    lines = texts(box)
    assert any("session 1" in line for line in lines), lines
    assert any("session 2" in line for line in lines), lines   # booked or under way


def test_choosing_another_timeline_on_the_page_takes_its_seed_and_length(on_timeline):
    from experiments.demo.model import DEMO_DAYS, NO_TIMELINE, reset_params

    model_cls = on_timeline("staff_shortage")
    current = model_cls().params
    shortage_seed = load_timeline("staff_shortage").seed
    assert current["seed"] == shortage_seed
    asked = reset_params(current, {"timeline": "festival_night"})
    assert asked["seed"] == 4 and asked["timeline"] == "festival_night"
    # A seed changed together with the timeline is the trainer's choice.
    assert reset_params(current, {"timeline": "festival_night", "seed": 7})["seed"] == 7
    assert reset_params(current, {"seed": 7})["seed"] == 7
    festival = model_cls(**asked)
    assert festival.end_minutes == 3 * 1440
    plain = model_cls(**reset_params(current, {"timeline": NO_TIMELINE}))
    assert plain.end_minutes == DEMO_DAYS * 1440 and plain.params["seed"] == shortage_seed


def test_side_by_side_replays_a_s_other_knob_changes_at_their_minutes(festival):
    # With B's own knobs equal to A's, B is A's very run, even though A cut its police before
    # B was switched on and changed the dispatch rule after (B used to start from day 1 with
    # A's knobs as they were when it was switched on, and never heard of later changes).
    from experiments.demo.side_by_side import b_knobs_of, follow, twin

    a = festival(seed=2)
    a.set_tick(30)
    for _ in range(20):
        a.step()
    a.set_unit_strength("guard", 0.5)
    for _ in range(30):
        a.step()
    b = twin(a, b_knobs_of(a))
    a.set_dispatch_rule("nearest")
    while a.running:
        a.step()
        follow(b, a)
    assert b.cfg.scenario.dispatch.rule == "nearest" and b.strength.get("guard") == 0.5
    assert _outcome(b) == _outcome(a)


def test_the_page_opens_with_the_midnight_crews_on_the_map(festival):
    # Minute 0's events run when the model is built (as the first step would run them), so
    # the map is not empty until the first Step.
    m = festival()
    assert m.now == 0.0
    on = [u for u in m.units if u.on_duty]
    assert on and all(m.district.cell_at(*m.shown_xy(u)) >= 0 for u in on)
    # The same run as one built by stepping from an untouched clock.
    ticked = _run(festival, 30)
    m.set_tick(30)
    while m.running:
        m.step()
    assert _outcome(m) == _outcome(ticked)


def test_reset_grid_count_redraws_a_folder_with_its_own_grids(monkeypatch):
    # river_town's grids.geojson has 2 grids: Reset shows 2, and asking for 3 redraws 3
    # (the folder's file would otherwise fix the count whatever the page asked).
    monkeypatch.setenv(demo.ENV_OVERRIDES, '["scenario.district.path=tests/data/river_town"]')
    demo.base_setup.cache_clear()
    try:
        assert demo.defaults()["grids"] == 2
        assert demo.DemoModel(grids=2).district.n_grids == 2
        assert demo.DemoModel(grids=3).district.n_grids == 3
    finally:
        demo.base_setup.cache_clear()
