"""experiments.sensitivity: which assumed numbers it varies and over what, that its Morris and
Sobol plumbing ranks a known function right, and one small run end to end (with a resume)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import assumptions as A
from experiments.analysis import sensitivity as S
from sim import tables
from sim.compose import compose_config
from sim.config import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small() -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(compose_config(["scenario=small_district"]), resolve=True)


def test_selection_keeps_assumed_single_numbers_and_says_what_it_leaves_out(small):
    sel = A.select(small)
    names = set(sel.names)
    assert "scenario.units.police.speed_kmh" in names
    assert "scenario.calls.rate_per_1000_per_year" not in names     # cited, not assumed
    assert "scenario.geography.population" not in names              # census
    skipped = {n for names in sel.skipped.values() for n in names}
    assert "scenario.calls.hourly_profile" in skipped                 # a list
    assert "scenario.calls.kinds.fight.violent" in skipped            # a switch
    assert "scenario.calls.kinds.fight.priority" in skipped           # range [1, 1]
    notes = "\n".join(sel.notes())
    assert "lists" in notes and "zero-width" in notes and "scaled" in notes
    for a in sel.assumptions:
        assert a.low < a.high
        assert a.low <= a.value <= a.high, a


def test_an_absolute_range_for_the_default_district_is_scaled_to_a_small_one(small):
    sel = A.select(small, ["scenario.mediators.community_part_time"])
    (a,) = sel.assumptions
    # Default: 600 in [500, 680]; small_district has 36, so 36 * [500, 680] / 600.
    assert a.scaled and a.integer and a.value == 36
    assert (a.low, a.high) == (30, 41)


def test_globs_that_match_nothing_are_an_error(small):
    with pytest.raises(ConfigError, match="params: 'nothing.*' matches no assumed number"):
        A.select(small, ["nothing.*"])
    with pytest.raises(ConfigError, match="no assumed single number left"):
        A.select(small, ["scenario.calls.hourly_profile"])


def test_points_round_integers_and_keep_share_tables_summing_to_one(small):
    sel = A.select(small, ["scenario.calls.kinds.*.share", "scenario.units.police.per_shift"])
    row = [a.high for a in sel.assumptions]
    values = A.realise(sel, row)
    shares = [v for k, v in values.items() if k.startswith("scenario.calls.kinds.")]
    assert len(shares) == 8 and sum(shares) == pytest.approx(1.0)
    assert isinstance(values["scenario.units.police.per_shift"], int)
    A.check_points(small, [values])                      # a valid run config
    cfg = A.merged(small, values)
    assert cfg["scenario"]["units"]["police"]["per_shift"] == 9
    assert small["scenario"]["units"]["police"]["per_shift"] == 6   # the base is untouched


def _synthetic_plan(method: str) -> S.Plan:
    """Three numbers in [0, 1]: the 'model' is y = 10 a + b (c does nothing)."""
    sel = A.Selection([A.Assumption(n, 0.5, 0.0, 1.0) for n in ("a", "b", "c")])
    opts = S.options_from({"method": method, "params": ["*"], "exclude": [],
                           "metrics": ["y"], "trajectories": 6, "levels": 4, "samples": 32,
                           "seeds": 1, "sample_seed": 1, "launcher": "joblib", "n_jobs": 1,
                           "launcher_overrides": [], "top": 10})
    design = S.sample(sel.problem(), opts)
    points = {A.option_name("s", i): dict(zip(sel.names, row, strict=True))
              for i, row in enumerate(design)}
    return S.Plan(opts, [], {}, sel, design, points, [0])


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_the_indices_rank_a_known_function(method, tmp_path):
    plan = _synthetic_plan(method)
    results = {(o, 0): {"y": 10 * v["a"] + v["b"]} for o, v in plan.points.items()}
    notes: list[str] = []
    out = S.analyse(plan, results, notes).set_index("parameter")
    assert list(out.sort_values("rank").index) == ["a", "b", "c"]
    if method == "morris":
        # y is linear: every elementary effect of a is 10, of b 1, of c 0.
        assert out.loc["a", "mu_star"] == pytest.approx(10) and out.loc["a", "sigma"] < 1e-9
        assert out.loc["b", "mu_star"] == pytest.approx(1) and out.loc["c", "mu_star"] == 0
    else:
        assert out.loc["a", "ST"] == pytest.approx(100 / 101, abs=0.1)
        assert out.loc["c", "ST"] == pytest.approx(0, abs=0.02)
    assert not notes
    written = S.plot_ranking(out.reset_index(), "y", method, "test", 10, tmp_path)
    assert {p.suffix for p in written} == {".png", ".svg"}


def test_morris_leaves_out_a_trajectory_with_a_missing_run():
    plan = _synthetic_plan("morris")
    results = {(o, 0): {"y": 10 * v["a"] + v["b"]} for o, v in plan.points.items()}
    del results[(A.option_name("s", 5), 0)]                # in the second trajectory
    notes: list[str] = []
    out = S.analyse(plan, results, notes).set_index("parameter")
    assert out.loc["a", "mu_star"] == pytest.approx(10)
    assert notes == ["y: 1 of 6 trajectories left out (a run missing, or the metric "
                     "undefined in it)"]


@pytest.mark.parametrize("bad, message", [
    ("method=anova", "method: must be one of morris, sobol"),
    ("metrics=[not_a_metric]", "metrics: unknown metric 'not_a_metric'"),
    ("params=[nope.*]", "params: 'nope.*' matches no assumed number"),
    ("samples=48", "samples: must be a power of 2"),
    ("output.dir=/tmp/x", "output.dir: not used here"),
])
def test_bad_input_is_one_line_and_writes_nothing(bad, message, tmp_path, capsys):
    out = tmp_path / "run"
    code = S.main(["scenario=small_district", "sim.days=1", bad, f"hydra.run.dir={out}"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.slow
def test_a_small_morris_run_end_to_end_and_its_resume(tmp_path):
    out = tmp_path / "sens"
    # Deterrence and patrol finds depend on where patrols are, which speed and hand-off move:
    # without them every run sees the very same incidents.
    overrides = ["scenario=small_district", "sim.days=1", "scenario.calls.deterrence=0",
                 "scenario.calls.found_per_patrol_hour=0", "trajectories=2", "launcher=basic",
                 "params=[scenario.dispatch.handoff_min,scenario.units.police.speed_kmh]",
                 "metrics=[response_p90_min_p1,response_p50_min_p3]"]
    args = [sys.executable, "-m", "experiments.sensitivity", *overrides,
            f"hydra.run.dir={out}"]
    first = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    found = pd.read_csv(out / "sensitivity.csv")
    assert list(found.columns[:3]) == ["parameter", "metric", "method"]
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(found.columns)
    assert len(found) == 4 and found["rank"].notna().all()
    p1 = found[found.metric == "response_p90_min_p1"].set_index("parameter")
    p3 = found[found.metric == "response_p50_min_p3"].set_index("parameter")
    # The hand-off delay adds to each response one for one (nothing queues in a day), but for
    # calls a unit takes after a job that ended later (its way back, a duty that waited for
    # it, start elsewhere): its mu* is about the width of its range, 1 - 0.25 min, with
    # little spread.  Faster police cars shorten the many P3 responses they answer (a day has
    # too few P1 calls to show it).
    for metric in (p1, p3):
        handoff = metric.loc["scenario.dispatch.handoff_min"]
        assert handoff["mu_star"] == pytest.approx(0.75, abs=0.15), handoff
        assert handoff["sigma"] < 0.3, handoff
    assert p3.loc["scenario.units.police.speed_kmh", "mu"] < 0
    tables.validate(tables.typed(found, "sensitivity"), "sensitivity")
    assert not tables.undocumented("sensitivity", found.columns)
    samples = pd.read_parquet(out / "samples.parquet")
    assert len(samples) == 6 and not tables.undocumented("samples", samples.columns)
    assert (out / "figures" / "sensitivity_response_p90_min_p1.png").exists()
    assert "## response_p90_min_p1" in (out / "sensitivity.md").read_text()

    # Killed half-way: one run lost its DONE marker. Resuming makes that run only; here
    # in-process and with launcher=local, which must make the very runs the Hydra multirun
    # made (else the five kept runs' configs would not match and would be made again).
    lost = out / "samples" / "s00003_seed0"
    kept = out / "samples" / "s00004_seed0" / "summary.json"
    before = kept.stat().st_mtime_ns
    (lost / "DONE").unlink()
    plan = S.check([*overrides, "launcher=local", "n_jobs=1"])
    assert A.missing(plan.points, plan.seeds, out / "samples", plan.plain) == ["s00003"]
    said: list[str] = []
    assert S.run(plan, out, log=said.append) == 0
    assert any("= 6 runs over 2 assumed numbers; 5 already finished" in s for s in said)
    assert (lost / "DONE").exists() and kept.stat().st_mtime_ns == before
    assert np.allclose(pd.read_csv(out / "sensitivity.csv")["mu_star"], found["mu_star"])
