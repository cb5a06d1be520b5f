"""The staffing optimizer: its spec, its search logic on a known problem, and a real run."""

from __future__ import annotations

import itertools
import json
import math

import pandas as pd
import pytest

from experiments.analysis import optimize
from experiments.analysis.collect import InputError
from experiments.analysis.optimize import Problem, Target


def test_preset_is_read_from_the_experiment_file():
    problem = optimize.load_problem(["scenario=small_district", "sim.days=7"])
    assert problem.keys == ["policy.unit_factors.police", "policy.unit_factors.guard",
                            "policy.full_time_factor", "policy.part_time_factor"]
    assert problem.levels[0] == [0.75, 1.0, 1.5, 2.0]
    assert problem.seeds == [0, 1, 2]
    assert Target("response_p90_min_p1", "max", 5.0) in problem.targets
    assert Target("mediation_success_rate", "min", 0.999) in problem.targets
    assert problem.base["scenario"]["name"] == "small_district"
    assert problem.base["sim"]["days"] == 7 and "hydra" not in problem.base


def test_candidate_config_sets_factors_without_touching_the_base():
    problem = optimize.load_problem(["scenario=small_district"])
    cfg = optimize.candidate_config(problem.base, {"policy.unit_factors.police": 2.0}, 5)
    assert cfg["policy"]["unit_factors"] == {"police": 2.0} and cfg["seed"] == 5
    assert problem.base["policy"].get("unit_factors", {}) == {}


def test_targets_judge_means_and_reject_nan():
    assert Target("m", "max", 5.0).met(5.0) and not Target("m", "max", 5.0).met(5.01)
    assert Target("m", "min", 0.9).met(0.95) and not Target("m", "min", 0.9).met(0.85)
    assert not Target("m", "max", 5.0).met(math.nan)
    with pytest.raises(InputError):
        optimize.parse_targets({"m": {"below": 3}})


def _toy_problem() -> Problem:
    return Problem(base={}, keys=["a", "b"], levels=[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0]],
                   seeds=[0, 1], targets=[Target("quality", "min", 6.0)], cost_metric="cost")


def _toy_evaluate(calls):
    def evaluate(base, values, seed):
        calls.append(tuple(values.values()))
        a, b = values["a"], values["b"]
        # Monotone in staff, seed noise that averages out over the two seeds.
        noise = 0.1 if seed == 0 else -0.1
        return {"quality": a + 2 * b + noise, "cost": 3 * a + 5 * b}
    return evaluate


def _toy_price(problem, point):
    values = problem.values(point)
    return 3 * values["a"] + 5 * values["b"], {}


def test_search_finds_the_cheapest_feasible_mix_and_prunes(monkeypatch):
    calls: list = []
    monkeypatch.setattr(optimize, "evaluate", _toy_evaluate(calls))
    problem = _toy_problem()
    result = optimize.search(problem, jobs=1, log=lambda _: None, price=_toy_price)

    brute = [(3 * a + 5 * b, (a, b)) for a, b in itertools.product(*problem.levels)
             if a + 2 * b >= 6.0]
    assert result.best is not None
    assert result.best.mean("cost") == min(brute)[0]
    assert tuple(result.best.values.values()) == min(brute)[1]
    # Greedy descent would stop at (4, 1) for 17; the cheapest-first pass must not. Points
    # below a known failure are never run, and no point runs twice.
    assert len(set(calls)) < len(problem.levels[0]) * len(problem.levels[1])
    assert result.not_run == 12 - len(set(calls))
    assert len(calls) == len(set(calls)) * len(problem.seeds)
    ci = result.best.ci("quality")
    assert ci[0] == 2 and ci[2] < ci[1] < ci[3]


def test_search_reports_infeasible_space(monkeypatch):
    monkeypatch.setattr(optimize, "evaluate", _toy_evaluate([]))
    problem = _toy_problem()
    problem.targets = [Target("quality", "min", 100.0)]
    result = optimize.search(problem, jobs=1, log=lambda _: None, price=_toy_price)
    assert result.best is None and len(result.candidates) == 1
    assert "no mix" in optimize.format_best(optimize.best_summary(result))


def test_cheapest_feasible_text_for_brute_force_sweeps():
    runs = pd.DataFrame({
        "variant": ["p=1"] * 2 + ["p=2"] * 2 + ["p=3"] * 2,
        "seed": [0, 1] * 3,
        "response_p90_min_p1": [6.0, 6.2, 4.8, 4.9, 4.0, 4.1],
        "annual_staffing_cost_yuan": [1e6] * 2 + [2e6] * 2 + [3e6] * 2,
    })
    text = optimize.cheapest_feasible_text(runs, [Target("response_p90_min_p1", "max", 5.0)],
                                           "annual_staffing_cost_yuan")
    assert "2 of 3 variants" in text and "cheapest: p=2" in text


def test_real_search_on_small_district_writes_results(tmp_path, capsys):
    out = tmp_path / "opt"
    # A three-level police grid keeps it short; guards and mediators stay as in the scenario.
    # On the road network with rush-hour congestion, small_district's P1 p90 is about 6 min
    # with police x2 and about 4.2 min with x8, so only the top level meets the 5-min target.
    code = optimize.main([
        "+experiment=min_staffing", "scenario=small_district", "sim.days=20",
        "hydra.sweeper.params={++policy.unit_factors.police:'1.0,2.0,8.0',seed:'range(2)'}",
        "--jobs", "2", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    best = json.loads((out / "best.json").read_text())
    assert best["best"] is not None and best["seeds"] == [0, 1]
    p90 = best["best"]["metrics"]["response_p90_min_p1"]
    assert p90["mean"] <= 5.0 and p90["n"] == 2 and p90["ci_low"] <= p90["mean"]
    candidates = pd.read_csv(out / "candidates.csv")
    assert candidates["best"].sum() == 1
    # The answer is the cheapest of the feasible candidates that were evaluated.
    feasible = candidates[candidates["feasible"]]
    assert candidates.loc[candidates["best"], "cost"].iloc[0] == feasible["cost"].min()
    evaluations = pd.read_csv(out / "evaluations.csv")
    assert len(evaluations) == 2 * len(candidates)
    assert "best mix:" in text and "annual staffing cost" in text
