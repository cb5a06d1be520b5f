"""Timeline events: parsing, validation messages, and their effect on a run."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from sim import ConfigError, Simulation
from sim.compose import compose_config
from sim.timeline import event_start_minutes


def with_events(events, *overrides):
    cfg = OmegaConf.to_container(compose_config(["sim.progress=false", *overrides]))
    cfg["scenario"]["events"] = events
    return cfg


@pytest.mark.parametrize("at, minutes", [(0, 0.0), (1.5, 2160.0), ("day 1", 0.0),
                                         ("day 2 14:00", 1440.0 + 840.0), ("Day 3 00:30", 2910.0)])
def test_event_times(at, minutes):
    assert event_start_minutes(at) == minutes


@pytest.mark.parametrize("event, field", [
    ({"at": "tuesday", "kind": "note"}, "scenario.events[0].at"),
    ({"at": 1, "kind": "earthquake"}, "scenario.events[0].kind"),
    ({"at": 1, "kind": "mediator_absence", "share": 1.3}, "scenario.events[0].share"),
    ({"at": 1, "kind": "call_surge", "hotspot_kinds": ["stadium"]},
     "scenario.events[0].hotspot_kinds"),
    ({"at": 1, "kind": "unit_absence", "unit_type": "tank"}, "scenario.events[0].unit_type"),
    ({"at": 1, "kind": "dispute", "community": 500}, "scenario.events[0].community"),
    ({"at": 1, "share": 0.3, "mediator_kind": "part_time"}, "scenario.events[0].kind"),
    ({"at": 1, "kind": "call_surge", "share": 0.3}, "scenario.events[0].share"),
])
def test_bad_events_name_the_field(event, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        Simulation(with_events([event], "sim.days=2"))


def test_a_misplaced_field_lists_every_field_the_event_takes():
    with pytest.raises(ConfigError) as err:
        Simulation(with_events([{"at": 1, "kind": "call_surge", "share": 0.3}], "sim.days=2"))
    assert "its fields: factor, hotspot_kinds; any event: at, kind, duration_days, note" in str(
        err.value)


def _calls_between(result, h0, h1):
    t = result.incidents.t_reported / 60
    return int(((t >= h0) & (t < h1) & (result.incidents.source == "call")).sum())


def test_call_surge_adds_calls_only_in_its_window():
    surge = {"at": "day 2 18:00", "kind": "call_surge", "factor": 4.0,
             "hotspot_kinds": ["scenic", "transit"], "duration_days": 0.25}
    base = Simulation(with_events([], "sim.days=3")).run()
    hot = Simulation(with_events([surge], "sim.days=3")).run()
    assert _calls_between(hot, 42, 48) > _calls_between(base, 42, 48) * 1.3
    # Outside the window the regular calls are the very same (common random numbers).
    assert _calls_between(hot, 0, 42) == _calls_between(base, 0, 42)


def test_a_call_surge_multiplies_the_regular_calls_in_its_grids_by_its_factor():
    # Evenings, when the hourly profile is high: the extra calls follow it hour by hour (a
    # daily-average rate gave about 2.1 times instead of 3) and stay in the surge's grids.
    surges = [{"at": f"day {k} 18:00", "kind": "call_surge", "factor": 3.0,
               "duration_days": 0.25} for k in range(1, 11)]
    o = ["scenario=small_district", "sim.days=10", "scenario.calls.deterrence=0"]
    sim = Simulation(with_events(surges, *o))
    d = sim.build().district
    grids = set(np.unique(d.hotspot_grid).tolist())
    assert 0 < len(grids) < d.n_grids
    hot, base = sim.run().incidents, Simulation(with_events([], *o)).run().incidents

    def regular_calls(inc, inside):
        calls = inc[(inc.source == "call") & ~inc.kind.isin(["dispute", "dispute_repeat"])]
        evening = (calls.t_reported % 1440) >= 18 * 60
        in_grids = calls.grid.astype(int).isin(grids)
        return int((evening & (in_grids if inside else ~in_grids)).sum())

    ratio = regular_calls(hot, True) / regular_calls(base, True)
    assert 2.6 < ratio < 3.4, ratio                      # about 100 calls: ±0.4 is 4 SE
    assert regular_calls(hot, False) == regular_calls(base, False)


def test_each_event_has_its_own_stream_so_staffing_variants_lose_the_same_units():
    # An earlier absence chooses among as many mediators as the policy has; the units absent
    # afterwards must not depend on that (they did when all events shared one stream).
    events = [{"at": 0.5, "kind": "mediator_absence", "share": 0.3, "duration_days": 2},
              {"at": 1.0, "kind": "unit_absence", "unit_type": "police", "share": 0.3,
               "duration_days": 1}]
    absent = {}
    for policy in ("baseline", "half_mediators"):
        model = Simulation(with_events(events, "scenario=small_district", "sim.days=3",
                                       f"policy={policy}")).build()
        for _ in range(30):
            model.step()
        absent[policy] = [i for i, u in enumerate(model.units) if u.absent_until > model.now]
    assert len(absent["baseline"]) > 0
    assert absent["baseline"] == absent["half_mediators"]


def test_absences_and_injected_cases():
    events = [
        {"at": 1.0, "kind": "unit_absence", "unit_type": "police", "shift": 1, "share": 1.0,
         "duration_days": 1.0},
        {"at": "day 2 14:00", "kind": "dispute", "category": "labour", "community": 5,
         "severity": 0.9, "amount_yuan": 2.0e6, "parties": 40},
        {"at": 0.5, "kind": "mediator_absence", "mediator_kind": "xiaoma", "share": 1.0},
    ]
    sim = Simulation(with_events(events, "sim.days=3"))
    model = sim.build()
    while model.running:
        model.step()
    duty = {s: sum(u.utilisation_parts(model.now)[1] for u in model.units
                   if u.unit_type == "police" and u.shift_index == s) for s in range(3)}
    assert duty[1] == pytest.approx(duty[0] * 2 / 3, rel=0.01)
    disputes = sim.collect(model).disputes
    wage = disputes[disputes.amount_yuan == 2.0e6]
    assert len(wage) == 1 and wage.iloc[0].category == "labour"
    # With every Xiao Ma away from day 0.5, nobody of that kind takes a case after it.
    late = disputes[disputes.t_raised > 0.5 * 1440]
    assert not (late.mediator_kind == "xiaoma").any()


def test_mediators_away_hold_no_sessions_and_their_booked_ones_move_later():
    # Every mediator away on days 9-12: no session is held then, not even one booked before,
    # and no work is done (the diaries' work clocks stand still); afterwards work goes on.
    away = [{"at": 9, "kind": "mediator_absence", "share": 1.0, "duration_days": 3}]
    sim = Simulation(with_events(away, "scenario=small_district", "sim.days=16", "seed=2"))
    model = sim.build(narrative=True)
    done = {}
    while model.running:
        model.step()
        if model.now in (9 * 1440, 12 * 1440, 16 * 1440):
            done[model.now // 1440] = sum(m.work_done(model.now)
                                          for m in model.mediation.mediators)
    held = [(t, p["start"]) for t, k, p in model.narrative if k == "session_held"]
    assert not [s for t, s in held if 9 * 1440 <= s < 12 * 1440 or 9 * 1440 <= t < 12 * 1440]
    assert [s for t, s in held if s >= 12 * 1440]
    assert done[12] == pytest.approx(done[9]) and done[16] > done[12]


def test_mediators_gone_for_good_hand_their_cases_over():
    # Part-timers leave for good while holding cases: colleagues take them over, no crash.
    events = [{"at": 5, "kind": "mediator_absence", "mediator_kind": "part_time", "share": 1.0}]
    r = Simulation(with_events(events, "scenario=small_district", "sim.days=20")).run()
    late = r.disputes[r.disputes.t_raised > 5 * 1440]
    assert len(late) > 5
    assert not (late.mediator_kind == "part_time").any()
    assert (r.disputes.outcome == "settled").sum() > 10


def test_a_call_surge_with_no_regular_calls_adds_none_and_ends():
    import signal

    def too_long(*_):
        raise TimeoutError("the surge looked for a call in a stream with no calls")

    cfg = with_events([{"at": 0.5, "kind": "call_surge", "factor": 3.0, "duration_days": 0.5}],
                      "scenario=small_district", "sim.days=2",
                      "scenario.calls.rate_per_1000_per_year=0")
    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(60)
    try:
        result = Simulation(cfg).run()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert not (result.incidents.source == "call").any() or \
        set(result.incidents[result.incidents.source == "call"].kind) <= {"dispute",
                                                                          "dispute_repeat"}
