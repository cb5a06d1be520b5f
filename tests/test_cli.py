"""The command line: bad input gets one line and exit code 2 with nothing written; a good run
writes its tables, summary and map and prints the summary."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("override, field", [
    ("scenario.mediators.community_part_time=-5", "scenario.mediators.community_part_time"),
    ("scenario.grids.count=0", "scenario.grids.count"),
    ("scenario.grids.count=4000", "scenario.grids.count"),
    ("scenario.calls.hotspot_share=1.5", "scenario.calls.hotspot_share"),
    ("scenario=atlantis", "scenario"),
    ("no_such_key=1", "no_such_key"),
    ("+scenario.no_such_key=1", "scenario.no_such_key"),
    ("sim.days=-1", "sim.days"),
])
def test_bad_config_one_line_exit_2_nothing_written(tmp_path, override, field):
    out = tmp_path / "out"
    proc = cli(override, f"output.dir={out}", f"hydra.run.dir={tmp_path / 'hydra'}")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert field in lines[0]
    assert not out.exists() and not (tmp_path / "hydra").exists()


def test_range_is_named_in_the_message(tmp_path):
    proc = cli("scenario.calls.hotspot_share=1.5", f"hydra.run.dir={tmp_path}/h")
    assert "[0, 1]" in proc.stderr


def test_cli_run_writes_outputs_and_prints_summary(tmp_path):
    out = tmp_path / "run"
    proc = cli("scenario=hypercube", "sim.days=20", "seed=3", f"output.dir={out}",
               f"hydra.run.dir={tmp_path / 'hydra'}")
    assert proc.returncode == 0, proc.stderr
    assert "mediation success" in proc.stdout or "incidents" in proc.stdout
    for name in ("incidents.parquet", "disputes.parquet", "timeseries.parquet", "summary.json"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["scenario"] == "hypercube"


def test_a_run_with_output_dir_writes_only_there(tmp_path):
    """Hydra's record of the run (.hydra/, run.log) goes into output.dir too, not into a
    folder of its own under results/runs/."""
    runs = ROOT / "results" / "runs" / "hypercube"
    before = set(runs.iterdir()) if runs.exists() else set()
    out = tmp_path / "run"
    proc = cli("scenario=hypercube", "sim.days=1", f"output.dir={out}")
    assert proc.returncode == 0, proc.stderr
    assert (out / "DONE").exists() and (out / ".hydra" / "overrides.yaml").exists()
    assert (set(runs.iterdir()) if runs.exists() else set()) == before


def test_multirun_with_a_bad_value_stops_before_any_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = cli("-m", "scenario=small_district", "sim.days=1", "scenario.grids.count=6,0",
               "seed=0,1", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "scenario.grids.count" in lines[0]
    assert not sweep.exists()


def test_a_finished_folder_is_rerun_for_a_different_config(tmp_path):
    out = tmp_path / "run"
    first = cli("scenario=hypercube", "sim.days=5", "seed=1", f"output.dir={out}",
                f"hydra.run.dir={tmp_path / 'h1'}")
    assert first.returncode == 0, first.stderr
    (out / "incidents.csv").write_text("the first run's incidents\n")   # collect --csv made it
    second = cli("scenario=hypercube", "sim.days=5", "seed=2", f"output.dir={out}",
                 f"hydra.run.dir={tmp_path / 'h2'}")
    assert second.returncode == 0 and "skipped" not in second.stdout
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    # The earlier run's CSV copy is gone with the tables it was made from.
    assert not (out / "incidents.csv").exists()


@pytest.mark.slow
def test_every_policy_knob_and_preset_sweep_composes():
    import yaml

    from experiments.run import sweep_combinations, validate_overrides

    for knob in ["policy.grids=40", "policy.mentoring=false", "policy.dispatch_rule=nearest",
                 "policy.full_time_factor=2", "++policy.unit_factors.police=1.5",
                 "policy=grids_50", "policy=platform_off"]:
        assert validate_overrides([knob]) is None, knob
    for preset in sorted((ROOT / "conf" / "experiment").glob("*.yaml")):
        params = yaml.safe_load(preset.read_text())["hydra"]["sweeper"]["params"]
        swept = [f"{key}={value}" for key, value in params.items()]
        runs = sweep_combinations([f"+experiment={preset.stem}", *swept], limit=1)
        assert runs, preset
        for combo in runs:
            assert validate_overrides(combo) is None, (preset.stem, combo)


def test_a_sweep_over_many_seeds_still_checks_every_other_combination():
    from experiments.run import sweep_combinations

    # 2 x 2 settings x 70 seeds: the bad pair (warm-up of 2 days in a 1-day run) is checked
    # before anything runs, and each seed once, not 280 runs.
    combos = sweep_combinations(["sim.days=3,1", "sim.warmup_days=0,2", "seed=range(70)"])
    assert ["sim.days=1", "sim.warmup_days=2", "seed=0"] in combos
    assert sorted({c[-1] for c in combos}) == sorted(f"seed={i}" for i in range(70))
    assert len(combos) == 4 + 69


def test_a_short_run_shows_money_at_stake_as_a_year_beside_the_reports_yearly_figure(
        default_short):
    from experiments.run import format_summary

    summary = default_short.summary
    days = summary["metrics"]["simulated_days"]
    assert days < 365 and summary["calibration"] is not None
    line = next(x for x in format_summary(summary).splitlines() if x.startswith("money"))
    label, simulated, reported = line.rsplit(maxsplit=2)
    assert label == "money at stake (M yuan a year)" and reported == "466"
    yearly = summary["metrics"]["money_at_stake_yuan"] * 365 / days / 1e6
    assert float(simulated) == pytest.approx(yearly, abs=0.5)


@pytest.mark.parametrize("days, warmup", [(20, 10), (730, 0)])
def test_money_at_stake_is_a_years_rate_over_the_days_measured(days, warmup):
    # After a warm-up only the disputes raised after it count; a two-year run's total is two
    # years' (the printout once halved the first and doubled the second).
    from experiments.run import format_summary

    summary = {"scenario": "jiangbei", "seed": 0, "wall_seconds": 1.0, "calibration": None,
               "structure": {}, "config": {"sim": {"warmup_days": warmup}},
               "metrics": {"simulated_days": float(days),
                           "money_at_stake_yuan": 4.0e6 * (days - warmup)}}
    line = next(x for x in format_summary(summary).splitlines() if x.startswith("money"))
    label, value = line.rsplit(maxsplit=1)
    assert label == "money at stake (M yuan a year)" and float(value) == 4.0 * 365
