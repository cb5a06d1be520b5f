"""Real multiruns through the CLI: both launchers, collect/compare/plot, resume, crash safety.

Every sweep runs ``python -m experiments.run -m ...`` in a subprocess into a tmp dir, on
small_district over a few days, so the whole file stays within about a minute on 2 cores.
Each test owns its sweeps: pytest-xdist may place tests of one module on different workers,
and a shared module fixture would then run twice.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from experiments.analysis import collect, compare, plot

REPO = Path(__file__).resolve().parent.parent
# Mediation under stress: one case per mediator, no part-time community mediators and six
# times the dispute rate, so waiting for a first session is queueing and doubling the
# mediators must shorten it clearly (paired differences of ~1.7 days over 3 seeds).
STRESS = [
    "scenario=small_district", "sim.days=20",
    "scenario.mediators.caseload_full_time=1", "scenario.mediators.caseload_part_time=1",
    "scenario.mediators.community_part_time=0", "scenario.disputes.rate_per_1000_per_year=400",
    # Mediator time is the resource: few casework hours make the stations queue; screening
    # off, so more mediators cannot also mean more cases found.
    "scenario.mediators.paid_hours_per_week.xiaoma=8", "policy.screening_factor=0",
]
WAIT = "mean_wait_first_session_days"
SKIPPED = "already finished, skipped"


def run_sweep(sweep_dir: Path, *overrides: str, launcher: str | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a multirun into ``sweep_dir`` and fail the test with its output if it fails."""
    args = [sys.executable, "-m", "experiments.run", "-m", *overrides,
            f"hydra.sweep.dir={sweep_dir}", "sim.progress=false"]
    if launcher:
        args.append(f"hydra/launcher={launcher}")
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"sweep failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def job_dirs(sweep_dir: Path) -> list[Path]:
    return collect.find_job_dirs(sweep_dir)


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    """A runs table without what legitimately differs between two executions."""
    return (runs.drop(columns=["wall_seconds", "git_commit"]).sort_values(["variant", "seed"])
            .reset_index(drop=True))


@pytest.mark.slow
def test_launchers_agree_and_tables_show_the_effect(tmp_path):
    joblib_dir, submitit_dir = tmp_path / "joblib", tmp_path / "submitit"
    sweep = [*STRESS, "policy=baseline,double_mediators", "seed=0,1,2"]
    run_sweep(joblib_dir, *sweep)
    run_sweep(submitit_dir, *sweep, launcher="submitit_local")

    # Both launchers fill the same job folders (named by the overrides), all finished.
    names = sorted(p.name for p in job_dirs(joblib_dir))
    assert len(names) == 6
    assert sorted(p.name for p in job_dirs(submitit_dir)) == names
    assert all((p / "DONE").exists() for p in job_dirs(submitit_dir))
    assert not any(p.name == ".submitit" for p in job_dirs(submitit_dir))

    runs = collect.collect(joblib_dir).runs
    other = collect.collect(submitit_dir).runs
    # Same seeds and config: every metric identical whichever launcher ran the job.
    pd.testing.assert_frame_equal(comparable(runs), comparable(other))

    # Labels carry only what varies; shared settings go to the header line.
    assert collect.variant_order(runs) == ["policy=baseline", "policy=double_mediators"]
    assert sorted(runs["seed"]) == [0, 0, 1, 1, 2, 2]
    assert "scenario.disputes.rate_per_1000_per_year=400" in collect.constant_overrides(runs)

    table = compare.run_comparison(joblib_dir, "policy=baseline", log=lambda _: None)
    row = table[(table["metric"] == WAIT) & (table["variant"] == "policy=double_mediators")]
    row = row.iloc[0]
    assert row["method"] == "paired" and row["n_pairs"] == 3
    assert row["diff"] < 0 and row["diff_ci_high"] < 0, row.to_dict()
    assert row["verdict"] == compare.BETTER
    # The cost side of the trade-off: twice the mediators cost more, with certainty.
    cost = table[(table["metric"] == "annual_staffing_cost_yuan")
                 & (table["variant"] == "policy=double_mediators")].iloc[0]
    assert cost["diff"] > 0 and cost["verdict"] == compare.WORSE
    markdown = (joblib_dir / compare.COMPARISON_MD).read_text(encoding="utf-8")
    assert "Common to all runs:" in markdown and "`scenario=small_district`" in markdown
    assert "| Wait for a first session (days) | ↓ | policy=double_mediators |" in markdown

    paths = plot.plot_sweep(joblib_dir, log=lambda _: None)
    stems = {p.stem for p in paths}
    assert {"response_ecdf", "time_to_settle", "cost_effectiveness"} <= stems
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.slow
def test_identical_variants_and_resume_with_both_launchers(tmp_path):
    sweep_dir = tmp_path / "sweep"
    # policy.description changes the label and nothing the simulation reads.
    sweep = ["scenario=small_district", "sim.days=5", "policy.description=a,b", "seed=0,1"]
    # The in-process launcher is quickest for the first pass; the resumes use the real ones.
    run_sweep(sweep_dir, *sweep, launcher="basic")
    table = compare.run_comparison(sweep_dir, "policy.description=a", log=lambda _: None)
    other = table[~table["is_baseline"]]
    measured = other[other["mean"].notna()]
    assert len(measured) >= 20
    assert (measured["diff"] == 0).all()
    assert set(measured["verdict"]) == {compare.IDENTICAL}

    jobs = job_dirs(sweep_dir)
    assert len(jobs) == 4
    for launcher, victim in (("joblib", jobs[1]), ("submitit_local", jobs[2])):
        before = {p.name: (p / "summary.json").stat().st_mtime_ns for p in jobs}
        (victim / "DONE").unlink()
        proc = run_sweep(sweep_dir, *sweep, launcher=launcher)
        after = {p.name: (p / "summary.json").stat().st_mtime_ns for p in jobs}
        rerun = sorted(name for name in before if after[name] != before[name])
        assert rerun == [victim.name], launcher
        assert all((p / "DONE").exists() for p in jobs)
        if launcher == "joblib":  # submitit keeps job output in its own log files
            assert proc.stdout.count(SKIPPED) == 3


KILLER = textwrap.dedent("""
    import os, shutil, sys
    import pandas
    real_to_parquet = pandas.DataFrame.to_parquet
    real_copyfile = shutil.copyfile
    calls = []

    def dying(path):
        # The second table: half a parquet file, then the process is killed outright.
        calls.append(path)
        if len(calls) == 2:
            with open(path, "wb") as fh:
                fh.write(b"PAR1 only the first bytes of a table")
            os._exit(137)

    def dying_to_parquet(self, path, *args, **kwargs):
        dying(path)
        return real_to_parquet(self, path, *args, **kwargs)

    def dying_copyfile(src, dst, *args, **kwargs):
        # A run's incident and dispute tables are copied from its spool.
        if str(src).endswith(".parquet"):
            dying(dst)
        return real_copyfile(src, dst, *args, **kwargs)

    pandas.DataFrame.to_parquet = dying_to_parquet
    shutil.copyfile = dying_copyfile
    from experiments.run import main
    sys.exit(main(sys.argv[1:]))
""")


def test_job_killed_mid_write_leaves_no_partial_file(tmp_path):
    sweep_dir = tmp_path / "sweep"
    overrides = ["scenario=small_district", "sim.days=3", "seed=4"]
    # The basic launcher runs the job in this very process, so the patch applies to it.
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, "-m", *overrides, f"hydra.sweep.dir={sweep_dir}",
         "hydra/launcher=basic", "sim.progress=false"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr[-2000:]
    (job,) = job_dirs(sweep_dir)
    final = {p.name for p in job.iterdir() if not p.name.startswith(".")}
    # Only the table written before the kill, complete; no half table, no summary, no DONE.
    assert final - {"run.log"} == {"incidents.parquet"}
    assert pq.read_table(job / "incidents.parquet").num_rows > 0
    assert len(list(job.glob(".disputes.parquet.*.tmp"))) == 1
    with pytest.raises(collect.InputError, match="no finished runs"):
        collect.collect(sweep_dir, write=False)

    run_sweep(sweep_dir, *overrides, launcher="basic")
    assert (job / "DONE").exists()
    assert not list(job.glob("*.tmp")) and not list(job.glob(".*.tmp"))
    for name in ("incidents.parquet", "disputes.parquet", "timeseries.parquet"):
        assert pq.read_table(job / name).num_rows > 0
    runs = collect.collect(sweep_dir).runs
    assert len(runs) == 1 and not math.isnan(runs["disputes_raised"].iloc[0])


def test_slurm_preset_composes_with_district_defaults():
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "hydra/launcher=slurm", "--cfg", "hydra",
         "--package", "hydra.launcher"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "HYDRA_FULL_ERROR": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SlurmLauncher" in proc.stdout
    assert "timeout_min: 30" in proc.stdout and "mem_gb: 2" in proc.stdout
