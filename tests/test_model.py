"""The model's invariants: structure, reproducibility, outcomes, time order, output contract."""

import json

import numpy as np
import pandas as pd
import pytest

from agents.dispute import OUTCOMES
from sim import Simulation
from sim.compose import compose_config
from sim.output import DISPUTE_COLUMNS, INCIDENT_COLUMNS
from sim.reported import STRUCTURE
from tests.conftest import run

CONTRACT_INCIDENTS = INCIDENT_COLUMNS[:16]
CONTRACT_DISPUTES = DISPUTE_COLUMNS[:14]


def test_default_structure_matches_the_district(default_short):
    s = default_short.summary["structure"]
    for key, value in STRUCTURE.items():
        assert s[key] == value, key
    assert s["residents"] == 925_800   # 2020 census, summed over the communities file


def test_same_seed_same_tables_and_different_seed_differs(default_short):
    again = run("sim.days=20")
    pd.testing.assert_frame_equal(default_short.incidents, again.incidents)
    pd.testing.assert_frame_equal(default_short.disputes, again.disputes)
    pd.testing.assert_frame_equal(default_short.timeseries, again.timeseries)
    other = run("sim.days=20", "seed=1")
    assert len(other.incidents) != len(default_short.incidents) or not np.allclose(
        other.incidents.t_reported, default_short.incidents.t_reported)


def test_plain_dict_and_dictconfig_give_the_same_run():
    from omegaconf import OmegaConf

    cfg = compose_config(["sim.days=3", "sim.progress=false"])
    as_dict = OmegaConf.to_container(cfg, resolve=False)   # keeps ${...} interpolations
    a = Simulation(cfg).run()
    b = Simulation(as_dict).run()
    pd.testing.assert_frame_equal(a.incidents, b.incidents)
    assert a.metrics == b.metrics or json.dumps(a.metrics, sort_keys=True, default=str) == \
        json.dumps(b.metrics, sort_keys=True, default=str)


def test_every_record_has_exactly_one_outcome_and_ordered_times(default_short):
    d = default_short.disputes
    assert set(d.outcome.unique()) <= set(OUTCOMES)
    assert d.dispute_id.is_unique
    assert ((d.outcome == "open").to_numpy(bool) == d.t_closed.isna().to_numpy()).all()
    closed = d[d.outcome != "open"]
    assert (closed.t_closed >= closed.t_raised).all()
    started = d[d.t_first_session.notna()]
    assert (started.t_first_session >= started.t_raised).all()
    assert set(d.level.unique()) <= {"community", "street", "district"}

    inc = default_short.incidents
    assert inc.incident_id.is_unique
    for a, b in [("t_reported", "t_dispatched"), ("t_dispatched", "t_arrived"),
                 ("t_arrived", "t_cleared")]:
        both = inc[a].notna() & inc[b].notna()
        assert (inc.loc[both, a] <= inc.loc[both, b]).all(), (a, b)
        # A later stage is never reached without the earlier one.
        assert not (inc[a].isna() & inc[b].notna()).any(), (a, b)
    # Each incident is either cleared, still open, or handed to the backup force.
    assert not (inc.overflow & inc.t_dispatched.notna()).any()


def test_violent_disputes_become_priority_1_incidents():
    r = run("sim.days=30", "scenario.disputes.violence.hazard_per_day=0.05")
    violent = r.disputes[r.disputes.outcome == "violent"]
    from_disputes = r.incidents[r.incidents.source == "dispute"]
    assert len(violent) > 10
    # Every case that turns violent is a priority-1 incident at that moment (conflicts the
    # police left unsettled can turn violent outside the stations too).
    assert len(from_disputes) >= len(violent)
    assert (from_disputes.priority == 1).all()
    assert np.isin(violent.t_closed, from_disputes.t_reported).all()


def test_output_files_follow_the_contract(default_short, tmp_path):
    default_short.write(tmp_path)
    inc = pd.read_parquet(tmp_path / "incidents.parquet")
    dis = pd.read_parquet(tmp_path / "disputes.parquet")
    ts = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert list(inc.columns[:16]) == CONTRACT_INCIDENTS
    assert list(dis.columns[:14]) == CONTRACT_DISPUTES
    for col in ["open_disputes", "busy_mediators_xiaoma", "busy_mediators_part_time",
                "busy_units_police", "queued_incidents", "mean_satisfaction"]:
        assert col in ts.columns
    assert len(ts) == 20 * 24 + 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ["metrics", "config", "seed", "versions", "git_commit"]:
        assert key in summary
    for metric in ["mediation_success_rate", "community_settled_share", "time_to_settle_p50_days",
                   "time_to_settle_p90_days", "escalation_rate", "violent_turns_per_100k",
                   "response_p50_min_p1", "response_p90_min_p3", "p1_within_5min_share",
                   "mean_queue_delay_min", "cross_grid_share", "utilisation_unit_police",
                   "utilisation_mediator_part_time", "mean_satisfaction"]:
        assert metric in summary["metrics"], metric
    assert summary["config"]["scenario"]["grids"]["count"] == 33
    assert (tmp_path / "DONE").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_grid_count_repartitions_the_same_district():
    a = Simulation.from_overrides(["sim.days=1"]).build()
    b = Simulation.from_overrides(["sim.days=1", "scenario.grids.count=50"]).build()
    assert b.district.n_grids == 50
    assert len(set(b.district.cell_grid.tolist())) == 50
    np.testing.assert_array_equal(a.residents.x, b.residents.x)
    np.testing.assert_array_equal(a.residents.community, b.residents.community)
    np.testing.assert_array_equal(a.district.hx, b.district.hx)
    # Same units in all: the grid count only moves them.
    assert len(a.units) == len(b.units)


def test_with_more_grids_than_cars_as_many_grids_as_possible_have_one():
    # 45 police cars a shift over 50 grids: 45 grids get one each (the most populous), not
    # two in a big grid while a small one has none.
    model = Simulation.from_overrides(["sim.days=1", "scenario.grids.count=50"]).build()
    per_shift = model.cfg.scenario.units["police"].per_shift
    assert per_shift < 50
    shift = [u for u in model.units if u.unit_type == "police" and u.shift_index == 0]
    have = np.bincount([u.home_grid for u in shift], minlength=50)
    assert have.max() == 1 and (have == 0).sum() == 50 - per_shift
    pop = model.district.grid_pop
    assert pop[have == 1].min() >= pop[have == 0].max()


def test_common_random_numbers_across_policies():
    # Disputes kept away from the police and trust held still, so the call and dispute streams
    # cannot legitimately differ (with them, referrals and repeat calls follow response times;
    # tests/test_mediation.py checks the disputes' own draws are common).
    same = ["sim.days=5", "scenario.calls.deterrence=0",
            "scenario.disputes.channels.police_logit=-50",
            "scenario.residents.trust_learning_rate=0",
            "scenario.disputes.recurrence.prob_max=0"]
    a = run(*same)
    b = run(*same, "scenario.dispatch.rule=nearest", "scenario.mediators.mentoring=false")
    calls_a = a.incidents[a.incidents.source == "call"]
    calls_b = b.incidents[b.incidents.source == "call"]
    np.testing.assert_array_equal(calls_a.t_reported.values, calls_b.t_reported.values)
    # Each call brings its own on-scene time, whichever unit takes it and when.
    done = calls_a.t_cleared.notna().values & calls_b.t_cleared.notna().values
    np.testing.assert_allclose((calls_a.t_cleared - calls_a.t_arrived).values[done],
                               (calls_b.t_cleared - calls_b.t_arrived).values[done])
    np.testing.assert_array_equal(a.disputes.t_raised.values, b.disputes.t_raised.values)
    np.testing.assert_array_equal(a.disputes.amount_yuan.values, b.disputes.amount_yuan.values)


def test_more_police_means_faster_response():
    few = run("sim.days=10", "scenario.units.police.per_shift=33")
    many = run("sim.days=10", "scenario.units.police.per_shift=99")
    assert many.metrics["response_p90_min_p2"] < few.metrics["response_p90_min_p2"]
    assert many.metrics["utilisation_unit_police"] < few.metrics["utilisation_unit_police"]


def test_strict_own_grid_rule_never_crosses_and_backup_overflows():
    r = run("sim.days=5", "scenario.dispatch.rule=own_grid", "scenario.dispatch.overflow=backup",
            "scenario.units.police.per_shift=12")
    served = r.incidents[r.incidents.t_dispatched.notna() & (r.incidents.source != "patrol")]
    assert not served.cross_grid.any()
    assert r.incidents.overflow.any()
    assert r.incidents.loc[r.incidents.overflow, "t_dispatched"].isna().all()


def test_residents_are_individuals_with_columnar_state():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    res = model.residents
    assert len(res) == 925_800
    person = res[123_456]
    assert 0 <= person.community < 126
    before = model.residents.mean_satisfaction
    res.adjust_satisfaction(person.id, -0.5)
    assert person.satisfaction == pytest.approx(0.25)
    assert model.residents.mean_satisfaction == pytest.approx(before - 0.5 / 925_800)
    assert res.satisfaction.nbytes + res.x.nbytes + res.y.nbytes < 20e6


def test_step_advances_one_tick():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    model.step()
    assert model.now == 60.0
    model.step()
    assert model.now == 120.0 and model.steps == 2
    assert any(u.state == "patrolling" for u in model.units)


def test_overloaded_variant_cannot_hide_its_backlog():
    # Callers who never give up: the backlog stays in the queue (abandonment has its own test).
    r = run("scenario=small_district", "sim.days=3", "scenario.dispatch.patience_min=null",
            "scenario.calls.rate_per_1000_per_year=2000", "scenario.units.police.per_shift=1",
            "scenario.units.guard.per_shift=0", "scenario.units.armed_patrol.per_shift=0",
            "scenario.units.rapid_response.per_shift=0")
    m = r.metrics
    assert m["unreached_share"] > 0.5
    # Waiting incidents count with their wait so far: hours, not the few served ones' minutes.
    assert m["response_p90_min_p3"] > 600 and m["mean_queue_delay_min"] > 300
    assert m["p1_within_5min_share"] < 0.2
    # Overtime counts as time on duty: nobody is busy more than all of the time.
    assert 0.9 < m["utilisation_unit_police"] <= 1.0
