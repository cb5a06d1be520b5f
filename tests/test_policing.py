"""Police dispatch and workload: arrival-time dispatch, report writing and shift duties,
abandonment, the priority queue, common random numbers across staffing, deterrence by patrol
intensity, and record keeping that does not grow with the horizon."""

import math

import numpy as np
import pandas as pd
import pytest

from sim import Simulation
from sim.dispatch import CallQueue
from sim.incidents import Incident
from sim.records import RecordBook
from tests.conftest import run


def _incident(i, priority, grid, x, y, t=0.0):
    return Incident(incident_id=i, source="call", kind="k", priority=priority, violent=False,
                    grid=grid, community=0, x=x, y=y, caller=-1, t_reported=t)


def _only_free(model, units):
    d = model.dispatcher
    for u in model.units:
        d._set_free(u, u in units)


def _places(model, n=2000, seed=1):
    """Some residents' homes: points inside the district, on its roads' reach."""
    rng = np.random.default_rng(seed)
    res = model.residents
    i = rng.choice(res.n, size=n, replace=False)
    return res.x[i], res.y[i]


def test_eta_rule_prefers_the_own_grid_guard_only_within_the_tolerance():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    d = model.dispatcher
    guard = next(u for u in model.units if u.unit_type == "guard")
    car = next(u for u in model.units if u.unit_type == "police"
               and u.home_grid != guard.home_grid)
    xs, ys = _places(model)
    # A call, a guard about 1 km from it and a car about 2 km from it (street distance).
    inc = _incident(0, 3, guard.home_grid, xs[0], ys[0])
    dist = np.abs(xs - xs[0]) + np.abs(ys - ys[0])
    d.move(guard, xs[np.argmin(np.abs(dist - 1.0))], ys[np.argmin(np.abs(dist - 1.0))])
    d.move(car, xs[np.argmin(np.abs(dist - 2.0))], ys[np.argmin(np.abs(dist - 2.0))])
    _only_free(model, [guard, car])
    on_foot, by_car = d.eta(guard, inc), d.eta(car, inc)
    assert by_car + 3 < on_foot          # the car is much quicker, though farther
    d.reach[guard.index] = math.inf      # (reach has its own test)
    d.cfg.own_grid_tolerance_min = on_foot - by_car - 1.0
    assert d.find_unit(inc) is car
    d.cfg.own_grid_tolerance_min = on_foot - by_car + 1.0
    assert d.find_unit(inc) is guard     # within the tolerance the own grid's unit goes
    # Only the arrival time counts across grids: `nearest` sends the car whatever the grid.
    d.rule = "nearest"
    assert d.find_unit(inc) is car


def test_every_rule_sends_the_quickest_eligible_unit_it_allows():
    # Against a brute force over the free units, one ETA at a time: `nearest` sends the
    # quickest of all, `own_grid` the quickest of the incident's grid, `own_then_nearest` the
    # own grid's quickest unless another arrives more than the tolerance sooner.
    model = Simulation.from_overrides(["sim.days=1"]).build()
    model.step()
    d = model.dispatcher
    xs, ys = _places(model, n=60, seed=3)
    cells = [model.district.cell_at(x, y) for x, y in zip(xs, ys, strict=True)]
    grid_of = model.district.cell_grid[cells]
    tol = d.cfg.own_grid_tolerance_min
    checked = 0
    for rule in ("nearest", "own_grid", "own_then_nearest"):
        d.rule = rule
        for i, (x, y, g) in enumerate(zip(xs, ys, grid_of.tolist(), strict=True)):
            inc = _incident(i, 2, g, x, y)
            ok = [u for u in model.units if u.free and d.eligible_mask[2][u.index]
                  and d.eta(u, inc) <= d.reach[u.index]]
            own = [u for u in ok if u.home_grid == g]
            quickest = min(ok, key=lambda u: d.eta(u, inc))
            sent = d.find_unit(inc)
            if rule == "nearest":
                expected = d.eta(quickest, inc)
            elif rule == "own_grid":
                expected = min(d.eta(u, inc) for u in own) if own else None
            else:
                mine = min(d.eta(u, inc) for u in own) if own else math.inf
                expected = mine if mine - d.eta(quickest, inc) <= tol else d.eta(quickest, inc)
            if expected is None:
                assert sent is None
                continue
            assert d.eta(sent, inc) == pytest.approx(expected, rel=1e-9)
            checked += 1
    assert checked > 120


def test_foot_patrol_is_not_sent_beyond_its_reach():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    d = model.dispatcher
    guard = next(u for u in model.units if u.unit_type == "guard")
    _only_free(model, [guard])
    xs, ys = _places(model)
    inc = _incident(0, 3, guard.home_grid, xs[0], ys[0])
    d.move(guard, xs[1], ys[1])
    walk = d.eta(guard, inc)
    for rule in ("own_then_nearest", "nearest", "own_grid", "own_then_lowest_index"):
        d.rule = rule
        d.reach[guard.index] = walk + 0.5
        assert d.find_unit(inc) is guard, rule
        d.reach[guard.index] = walk - 0.5
        assert d.find_unit(inc) is None, rule
    assert model.cfg.scenario.units["guard"].max_eta_min is not None   # foot patrols do have one


def test_queue_serves_by_priority_then_arrival_and_skips_given_up_calls():
    q = CallQueue()
    order = [(3, 0.0), (2, 1.0), (1, 5.0), (3, 2.0), (1, 3.0), (2, 0.5)]
    entries = [q.push(_incident(i, p, grid=i % 2, x=0, y=0, t=t), f"ev{i}")
               for i, (p, t) in enumerate(order)]
    q.cancel(entries[5])          # the P2 caller of t = 0.5 gave up
    assert len(q) == 5
    served = []
    while (got := q.pop((1, 2, 3))) is not None:
        served.append((got[0].priority, got[0].t_reported))
    assert served == [(1, 3.0), (1, 5.0), (2, 1.0), (3, 0.0), (3, 2.0)]
    assert len(q) == 0
    # A unit that serves only its grid's P3 calls sees only those; taken ones are gone from
    # the district-wide heap too.
    a = q.push(_incident(10, 3, grid=1, x=0, y=0, t=7.0), "a")
    q.push(_incident(11, 3, grid=0, x=0, y=0, t=8.0), "b")
    assert q.pop((3,), grid=1)[1] == "a"
    assert a[4] is False
    assert q.pop((1, 2, 3))[1] == "b"
    assert q.pop((1, 2, 3)) is None


def test_freed_unit_takes_the_most_urgent_waiting_call():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    model.step()
    d = model.dispatcher
    car = next(u for u in model.units if u.unit_type == "police" and u.state == "patrolling")
    _only_free(model, [car])
    busy = _incident(0, 2, car.home_grid, car.x, car.y)
    assert d.send(busy) is car                   # the only free unit takes it
    calls = [_incident(i, p, car.home_grid, car.x, car.y, t=i)
             for i, p in [(1, 3), (2, 2), (3, 1), (4, 2)]]
    assert all(d.send(inc) is None for inc in calls)
    waiting = [d.wait(inc) for inc in calls]
    assert len(d.queue) == 4
    car.state = "reporting"
    d.release(car)
    assert waiting[2].triggered and waiting[2].value is car    # the P1, though it came last
    assert not any(w.triggered for i, w in enumerate(waiting) if i != 2)


def test_a_freed_unit_takes_only_calls_of_priorities_it_answers():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    model.step()
    d = model.dispatcher
    guard = next(u for u in model.units if u.unit_type == "guard" and u.state == "patrolling")
    assert d.unit_priorities[guard.index] == (3,)
    _only_free(model, [])
    p1 = _incident(0, 1, guard.home_grid, guard.x, guard.y)
    assert d.send(p1) is None
    waiting = d.wait(p1)
    guard.state = "reporting"
    d.release(guard)
    assert not waiting.triggered and guard.free   # a guard does not answer priority 1
    p3 = _incident(1, 3, guard.home_grid, guard.x, guard.y, t=1)
    assert d.send(p3) is guard


def test_p3_calls_are_stacked_while_few_units_able_to_answer_p1_are_free():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    model.step()
    d = model.dispatcher
    able = [u for u in model.units if d.answers_p1[u.index] and u.state == "patrolling"]
    # Free: fewer such units than the reserve (10 % of those on duty), and nothing else.
    n_reserve = math.floor(d.reserve * d.on_duty_p1)
    assert n_reserve >= 3
    kept = able[:n_reserve]
    _only_free(model, kept)
    car = kept[0]
    p3 = _incident(0, 3, car.home_grid, car.x, car.y)
    assert d.send(p3) is None                    # stacked: the last units are kept for P1
    waiting = d.wait(p3)
    p1 = _incident(1, 1, car.home_grid, car.x, car.y, t=1)
    assert d.send(p1) in kept                    # a P1 still gets one at once
    # Units coming free take the stacked P3 only once more than the reserve would be free.
    extra = [u for u in able if u not in kept][:3]
    for u in extra:
        if waiting.triggered:
            break
        u.state = "reporting"
        d._set_free(u, False)
        d.release(u)
    assert waiting.triggered
    assert d.free_p1 >= n_reserve
    d.reserve = 0.0                              # no reserve: a P3 takes any free unit
    assert d.send(_incident(2, 3, car.home_grid, car.x, car.y, t=2)) is not None


def test_report_writing_keeps_the_unit_busy():
    common = ["scenario=hypercube", "scenario.overflow=queue", "sim.days=200", "seed=3",
              "sim.tick_minutes=1440"]
    plain = run(*common)
    writing = run(*common, "++scenario.units.police.report_min=30")
    inc = writing.incidents
    report = (inc.t_unit_free - inc.t_cleared).dropna()
    assert len(report) > 1000
    assert report.mean() == pytest.approx(30.0, rel=0.1)
    # A unit takes no new job before it has written up the last one.
    for _, jobs in inc.dropna(subset=["t_dispatched"]).groupby("unit_id"):
        jobs = jobs.sort_values("t_dispatched")
        assert (jobs.t_dispatched.to_numpy()[1:] >= jobs.t_unit_free.to_numpy()[:-1] - 1e-9).all()
    # Busy longer per call, so the same calls wait longer for a unit.
    m0, m1 = plain.metrics, writing.metrics
    assert m1["calls_share_unit_police"] > m0["calls_share_unit_police"] + 0.1
    assert m1["mean_queue_delay_min"] > m0["mean_queue_delay_min"] + 5


def test_shift_duties_take_units_off_patrol_for_their_share_of_the_shift():
    r = run("sim.days=4", "scenario.calls.enabled=false", "scenario.disputes.enabled=false")
    m = r.metrics
    t = r.summary["config"]["scenario"]["units"]
    police = t["police"]
    off = police["handover_min"] + police["meal_break_min"] + police["post_duty_min"]
    assert off > 0
    # On duty: the shift, and the next crew's hand-over, on patrol (shifts overlap by it).
    on = police["shift_hours"] * 60 + police["handover_min"]
    assert m["utilisation_unit_police"] == pytest.approx(off / on, abs=0.01)
    assert m["calls_share_unit_police"] == 0.0
    guard = t["guard"]
    assert m["utilisation_unit_guard"] == pytest.approx(
        (guard["handover_min"] + guard["meal_break_min"])
        / (guard["shift_hours"] * 60 + guard["handover_min"]), abs=0.01)


def test_shifts_overlap_by_the_hand_over_so_the_force_is_never_all_off_patrol():
    model = Simulation.from_overrides(["sim.days=1", "sim.tick_minutes=5",
                                       "scenario.calls.enabled=false",
                                       "scenario.disputes.enabled=false"]).build()
    per_shift = model.cfg.scenario.units["police"].per_shift
    free_police = []
    while model.running:
        model.step()
        free_police.append(sum(u.free for u in model.units if u.unit_type == "police"))
    # At 00:00, 08:00 and 16:00 the incoming crew is briefed while the outgoing one patrols.
    assert min(free_police) >= per_shift // 3


def test_callers_abandon_under_overload_and_are_counted():
    overload = ["scenario=small_district", "sim.days=3",
                "scenario.calls.rate_per_1000_per_year=2000", "scenario.units.police.per_shift=1",
                "scenario.units.guard.per_shift=0", "scenario.units.armed_patrol.per_shift=0",
                "scenario.units.rapid_response.per_shift=0"]
    r = run(*overload, "scenario.dispatch.patience_min=[20,20,20]")
    inc = r.incidents
    reported = inc[inc.source != "patrol"]
    gave_up = reported[reported.abandoned]
    assert len(gave_up) > 0.5 * len(reported)
    assert r.metrics["abandoned_share"] == pytest.approx(len(gave_up) / len(reported))
    assert gave_up.t_dispatched.isna().all() and gave_up.t_arrived.isna().all()
    waited = gave_up.t_abandoned - gave_up.t_reported
    assert (waited > 0).all()
    assert waited.mean() == pytest.approx(20.0, rel=0.15)   # exponential patience, mean 20
    # Nobody gives up without patience set; then the backlog waits instead.
    patient = run(*overload, "scenario.dispatch.patience_min=null")
    assert patient.metrics["abandoned_share"] == 0.0
    assert patient.metrics["unreached_share"] > 0.5


def test_staffing_variants_see_identical_demand():
    common = ["sim.days=5", "scenario.calls.deterrence=0"]
    few = run(*common, "++policy.unit_factors.police=0.5")
    many = run(*common, "++policy.unit_factors.police=2")
    # Residents' own calls.  Calls about a dispute are left out: a repeat call follows the
    # police visit, so its time depends on staffing by design (sim/police_mediation.py).
    from sim.police_mediation import DISPUTE_CALL_KINDS

    calls = [r.incidents[(r.incidents.source == "call")
                         & ~r.incidents.kind.isin(DISPUTE_CALL_KINDS)].reset_index(drop=True)
             for r in (few, many)]
    assert len(calls[0]) > 100
    for col in ["t_reported", "kind", "priority", "x_km", "y_km", "caller", "grid"]:
        pd.testing.assert_series_equal(calls[0][col], calls[1][col])
    both = calls[0].t_cleared.notna() & calls[1].t_cleared.notna()
    np.testing.assert_allclose((calls[0].t_cleared - calls[0].t_arrived)[both],
                               (calls[1].t_cleared - calls[1].t_arrived)[both])
    # Found on patrol: the same candidates in both; more patrol finds more of them, and one
    # found in both is the same incident (time, place, kind, on-scene time).
    found = [r.incidents[r.incidents.source == "patrol"].assign(
        on_scene=lambda f: f.t_cleared - f.t_arrived) for r in (few, many)]
    assert len(found[1]) > len(found[0]) > 50
    key = ["t_reported", "x_km", "y_km"]
    shared = found[0].merge(found[1], on=key, suffixes=("_a", "_b"))
    assert len(shared) > 0.5 * len(found[0])
    assert (shared.kind_a == shared.kind_b).all()
    done = shared.on_scene_a.notna() & shared.on_scene_b.notna()
    np.testing.assert_allclose(shared.on_scene_a[done], shared.on_scene_b[done])


@pytest.fixture(scope="module")
def police_half_and_double():
    return (run("sim.days=5", "++policy.unit_factors.police=0.5"),
            run("sim.days=5", "++policy.unit_factors.police=2"))


def test_deterrence_rises_with_patrol_hours_per_km2(police_half_and_double):
    model = Simulation.from_overrides(["sim.days=1"]).build()
    from sim.incidents import PatrolPresence

    presence = PatrolPresence(model, model.cfg.scenario.calls)
    shares = [presence.deterred_share(i) for i in (0.0, 0.1, 0.5, 1.0, 5.0, 50.0)]
    assert shares[0] == 0.0
    assert all(a < b for a, b in zip(shares, shares[1:], strict=False))
    assert shares[-1] == pytest.approx(model.cfg.scenario.calls.deterrence, rel=1e-6)
    # Intensity is units on patrol per km² of the grid, not a share of its units.
    d = model.dispatcher
    g = 0
    area = model.district.grid_cells.count(g) * model.district.cell_km ** 2
    assert presence.in_grid(g) == pytest.approx(d.patrolling_in_grid[g] / area)
    # In the model: more police on patrol, more deterred calls (same demand).
    few, many = police_half_and_double
    assert many.metrics["deterred_calls"] > 1.2 * few.metrics["deterred_calls"]


def test_more_patrol_finds_more_incidents(police_half_and_double):
    # Each candidate is found with chance 1 - exp(-n s / A) for n units on patrol in its grid
    # (the same candidates in both runs): four times the police, nearly twice the finds
    # (guards patrol too, and returns diminish).
    few, many = (int((r.incidents.source == "patrol").sum()) for r in police_half_and_double)
    assert few > 100
    assert 1.5 * few < many < 4 * few


def test_callers_are_happier_after_a_fast_response():
    # The same calls and luck; only what counts as fast changes.
    common = ["scenario=small_district", "sim.days=30", "scenario.disputes.enabled=false"]
    all_fast = run(*common, "scenario.residents.fast_response_min=10000")
    all_slow = run(*common, "scenario.residents.fast_response_min=0")
    fast, slow = all_fast.metrics["mean_satisfaction"], all_slow.metrics["mean_satisfaction"]
    assert fast > slow + 0.02
    assert all_fast.metrics["caller_satisfaction"] > all_slow.metrics["caller_satisfaction"] + 0.05


def test_callers_are_less_satisfied_with_fewer_police(police_half_and_double):
    # Callers apart from dispute parties (whose satisfaction mediation moves): the police
    # side's own measure of service.
    few, many = (r.metrics["caller_satisfaction"] for r in police_half_and_double)
    assert 0 < few < many - 0.01 < 1


def test_record_book_spools_finished_records_in_id_order(tmp_path):
    class Rec:
        def __init__(self, i):
            self.i, self.done = i, False

    def frame(recs):
        return pd.DataFrame({"i": pd.Series([r.i for r in recs], dtype="int64"),
                             "done": pd.Series([r.done for r in recs], dtype="bool")})

    book = RecordBook(frame, lambda r: r.done, batch=10)
    book.spool(tmp_path / "t.parquet")
    recs = [Rec(i) for i in range(100)]
    for r in recs[:50]:
        book.append(r)
        r.done = r.i != 3             # record 3 stays open for a while
    assert book.in_memory > 40        # held back behind the open record
    recs[3].done = True
    for r in recs[50:]:
        book.append(r)
        r.done = True
    assert book.in_memory <= 10 and len(book) == 100
    out = book.frame()
    assert out.i.tolist() == list(range(100)) and out.done.all()


def test_spooled_run_gives_the_same_tables_as_one_kept_in_memory(tmp_path):
    sim = Simulation.from_overrides(["sim.days=6", "sim.progress=false"])
    spooled = sim.run()
    model = sim.build()
    while model.running:
        model.step()
    kept = sim.collect(model)
    pd.testing.assert_frame_equal(spooled.incidents, kept.incidents)
    pd.testing.assert_frame_equal(spooled.disputes, kept.disputes)
    pd.testing.assert_frame_equal(spooled.timeseries, kept.timeseries)
    for k, v in kept.metrics.items():
        assert spooled.metrics[k] == v or (math.isnan(v) and math.isnan(spooled.metrics[k])), k
    spooled.write(tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "incidents.parquet"),
                                  kept.incidents)


def test_a_unit_off_duty_on_its_way_back_stops_there():
    # Its drive back to the beat ends with its shift; a drive left behind used to move it,
    # at its next shift, from its new patrol point back onto yesterday's road.
    model = Simulation.from_overrides(["scenario=small_district", "sim.days=7",
                                       "sim.tick_minutes=20"]).build()
    off_with_a_drive = 0
    while model.running:
        model.step()
        off_with_a_drive += sum(u.state == "off_duty" and u.trip is not None
                                for u in model.units)
    assert off_with_a_drive == 0


def _meal_model(*overrides):
    """A small district with no calls or disputes, run until a police unit sits down to its
    meal: (model, that unit)."""
    model = Simulation.from_overrides(["scenario=small_district", "sim.days=2",
                                       "scenario.calls.enabled=false",
                                       "scenario.disputes.enabled=false",
                                       "scenario.dispatch.patience_min=null", *overrides]).build()
    police = [u for u in model.units if u.unit_type == "police"]
    while True:
        model.env.run(until=model.env.now + 1.0)
        eating = [u for u in police if u.activity == "meal"]
        if eating:
            return model, eating[0]


def _meal_minutes_after(model, unit, minutes: int) -> list[float]:
    """The minutes of the next `minutes` at which `unit` is at its meal."""
    seen = []
    for _ in range(minutes):
        model.env.run(until=model.env.now + 1.0)
        if unit.activity == "meal":
            seen.append(model.env.now)
    return seen


@pytest.mark.parametrize("breaks", [False, True])
def test_a_p1_call_may_take_a_unit_from_its_meal_which_it_finishes_once_clear(breaks):
    model, unit = _meal_model(*(["++policy.p1_breaks_duties=[meal]"] if breaks else []))
    d = model.dispatcher
    meal = model.cfg.scenario.units["police"].meal_break_min
    _only_free(model, [])                        # every other unit is out on a job
    eaten = _meal_minutes_after(model, unit, 10)  # 10-11 minutes into its meal
    assert len(eaten) == 10
    t1 = model.env.now
    kind = model.cfg.scenario.calls.kinds["fight"]
    inc = model.desk.report("call", "fight", kind, unit.x, unit.y, -1, priority=1)
    seen = _meal_minutes_after(model, unit, 8 * 60)
    if not breaks:
        # The meal is kept: the call waits for it, and the unit eats in one sitting.
        assert d.duties_broken == 0
        assert inc.unit_id == unit.name and inc.t_dispatched >= seen[-1]
        assert seen == list(np.arange(t1 + 1, t1 + 1 + len(seen)))
        assert len(eaten) + len(seen) == pytest.approx(meal, abs=1.5)
        return
    assert d.duties_broken == 1
    assert inc.unit_id == unit.name and inc.t_dispatched == t1
    # It leaves at once, the breakoff later than a free unit on the spot would.
    assert inc.t_arrived - inc.t_reported == pytest.approx(
        d.handoff_own + d.cfg.duty_breakoff_min + d.travel_time(unit, unit.x, unit.y))
    # The rest of the meal (26-27 of its 36 minutes) comes once the job is written up.
    assert seen and not [t for t in seen if t <= inc.t_unit_free]
    assert seen[0] <= inc.t_unit_free + 1.0
    rest_ends = inc.t_unit_free + meal - (t1 - (eaten[0] - 1))
    assert seen[-1] <= rest_ends <= seen[-1] + 1.0 + 1e-9
    assert len(eaten) + len(seen) == pytest.approx(meal, abs=1.5)


def test_a_p1_call_takes_a_unit_from_its_meal_only_when_it_gains_enough():
    model, unit = _meal_model("++policy.p1_breaks_duties=[meal]")
    d = model.dispatcher
    x, y = unit.x, unit.y
    free = [u for u in model.units if u.free and d.answers_p1[u.index]]
    quickest_free = min(free, key=lambda u: d.travel_time(u, x, y))
    inc = _incident(10**6, 1, unit.home_grid, x, y, t=model.env.now)
    gain = (d.eta(quickest_free, inc)
            - (d.eta(unit, inc) + d.cfg.duty_breakoff_min))
    assert d.may_call[unit.index] and gain > 0
    d.cfg.duty_break_gain_min = gain + 0.1
    assert d._from_duty(inc, d.find_unit(inc)) is None
    d.cfg.duty_break_gain_min = gain - 0.1
    assert d._from_duty(inc, d.find_unit(inc)) is unit


def test_a_unit_sitting_down_to_its_meal_takes_a_waiting_p1_call_at_once():
    model, unit = _meal_model("++policy.p1_breaks_duties=[meal]")
    d = model.dispatcher
    d.off_call(unit)
    inc = _incident(10**6, 1, unit.home_grid, unit.x, unit.y, t=model.env.now)
    waiting = d.wait(inc)
    called = d.on_call(unit)
    assert called.triggered and waiting.triggered and waiting.value is unit
    assert unit.incident is inc and not d.may_call[unit.index] and d.duties_broken == 1
    model.env.run(until=model.env.now + 1)      # the meal's process follows the unit


def test_a_unit_of_limited_reach_sitting_down_takes_a_waiting_p1_only_within_reach():
    # Guards answering P1 (not the default), reach 15 min: a call 13.5 min away without the
    # breakoff is 15.5 min away with it, so the guard at its meal leaves it waiting.
    model, _ = _meal_model("++policy.p1_breaks_duties=[meal]",
                           "scenario.units.guard.priorities=[1,2,3]")
    d = model.dispatcher
    guard = next(u for u in model.units if u.unit_type == "guard" and u.on_duty)
    breakoff, reach = d.cfg.duty_breakoff_min, d.reach[guard.index]
    xs, ys = _places(model, n=3000)
    incs = [_incident(10**6, 1, guard.home_grid, x, y, t=model.env.now)
            for x, y in zip(xs, ys, strict=True)]
    near = [i for i in incs if reach - breakoff + 0.1 < d.eta(guard, i) < reach
            and model.district.cell_grid[model.district.cell_at(i.x, i.y)] == guard.home_grid]
    assert near
    _only_free(model, [])
    waiting = d.wait(near[0])
    d.on_call(guard)
    assert not waiting.triggered and d.breakoff[guard.index] == 0.0


def test_a_unit_back_on_the_roster_mid_meal_is_on_call_and_eats_once():
    model, unit = _meal_model("++policy.p1_breaks_duties=[meal]")
    d = model.dispatcher
    meal = model.cfg.scenario.units["police"].meal_break_min
    eaten = _meal_minutes_after(model, unit, 5)
    model.set_unit_absent(unit, float("inf"))      # a trainer's slider down ...
    model.env.run(until=model.env.now + 1)
    model.set_unit_absent(unit, 0.0)               # ... and back up, mid-meal
    assert unit.on_duty and unit.activity == "meal" and d.may_call[unit.index]
    # The rest of its meal, once: the shift's duties are not drawn again.
    rest = _meal_minutes_after(model, unit, int(unit.shift_end_after(model.env.now)
                                                - model.env.now))
    assert len(eaten) + 1 + len(rest) == pytest.approx(meal, abs=1.5)
