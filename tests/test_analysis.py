"""Tests of the sweep analysis tools (collect, compare, advisor, plot, report) on fake sweeps."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package

from fake_sweep import FakeVariant, make_fake_sweep  # noqa: E402

from experiments.analysis import advisor, collect, compare, metrics_meta, plot, report  # noqa: E402

BASE = "policy=baseline,scenario.grids.count=30"
GRIDS = "policy=grids_50,scenario.grids.count=50"
CLONE = "policy=baseline_clone,scenario.grids.count=30"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """One fake sweep shared by the read-only tests (3 variants x 6 seeds + 1 crashed job)."""
    return make_fake_sweep(tmp_path_factory.mktemp("sweep") / "multirun")


@pytest.fixture(scope="module")
def collected(sweep):
    return collect.collect(sweep)


@pytest.fixture(scope="module")
def comparison(sweep, collected):
    return compare.run_comparison(sweep, "policy=baseline", log=lambda _: None)


def _row(comparison: pd.DataFrame, metric: str, variant: str) -> pd.Series:
    rows = comparison[(comparison["metric"] == metric) & (comparison["variant"] == variant)]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- collect


def test_collect_skips_and_reports_job_without_done(sweep, collected):
    assert collected.skipped == [("18", "no DONE marker (job failed or still running)")]
    assert len(collected.runs) == 18
    assert "18" not in set(collected.runs["job"])
    assert "skipped 1 job" in collect.describe(collected)


def test_collect_writes_runs_table_with_labels_seed_and_metrics(sweep, collected):
    runs = pd.read_parquet(sweep / "runs.parquet")
    assert list(collect.variant_order(runs)) == [BASE, GRIDS, CLONE]
    assert {"policy", "scenario.grids.count", "variant", "seed"} <= set(runs.columns)
    assert "seed=" not in " ".join(runs["variant"])
    assert sorted(runs.loc[runs["variant"] == GRIDS, "seed"]) == [0, 1, 2, 3, 4, 5]
    job0 = json.loads((sweep / "0" / "summary.json").read_text())["metrics"]
    first = runs[runs["job"] == "0"].iloc[0]
    assert first["mean_queue_delay_min"] == pytest.approx(job0["mean_queue_delay_min"])
    assert set(collect.metric_columns(runs)) == set(job0)
    assert collect.label_columns(runs) == ["policy", "scenario.grids.count"]


def test_collect_writes_long_tables_with_run_labels_atomically(sweep, collected):
    incidents = pd.read_parquet(sweep / "incidents.parquet")
    disputes = pd.read_parquet(sweep / "disputes.parquet")
    assert len(incidents) == 18 * 40 and len(disputes) == 18 * 20
    assert {"variant", "seed", "job"} <= set(incidents.columns)
    assert incidents.groupby(["variant", "seed"]).size().eq(40).all()
    assert not list(sweep.glob(".*.tmp")), "temporary files left behind"


def test_collect_rejects_missing_or_empty_dir(tmp_path):
    with pytest.raises(collect.InputError):
        collect.collect(tmp_path / "nope")
    with pytest.raises(collect.InputError, match="no job folders"):
        collect.collect(tmp_path)
    assert collect.main([str(tmp_path / "nope")]) == 2


def test_collect_only_crashed_jobs_is_an_input_error(tmp_path):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1), incomplete_jobs=1)
    for done in root.glob("*/DONE"):
        done.unlink()
    with pytest.raises(collect.InputError, match="no finished runs"):
        collect.collect(root)


def test_parse_override_variants():
    assert collect.parse_override("+policy.grids=50") == ("policy.grids", "50")
    assert collect.parse_override("name='a b'") == ("name", "a b")
    assert collect.variant_label(["seed=3"]) == collect.DEFAULT_VARIANT
    assert collect.variant_label(["policy=x", "seed=3", "a=1"]) == "policy=x,a=1"


# --------------------------------------------------------------------------- compare


def test_clearly_lower_queue_delay_is_better_with_ci_excluding_zero(comparison):
    row = _row(comparison, "mean_queue_delay_min", GRIDS)
    assert row["verdict"] == "better"
    assert row["method"] == "paired" and row["n_pairs"] == 6
    assert row["diff_ci_high"] < 0
    assert row["diff"] == pytest.approx(-2.0, abs=0.1)
    # Higher cost is worse: the direction table must be honoured, not just the sign.
    assert _row(comparison, "annual_staffing_cost_yuan", GRIDS)["verdict"] == "worse"


def test_identical_distribution_variant_shows_no_detectable_difference(comparison):
    row = _row(comparison, "mean_queue_delay_min", CLONE)
    assert row["verdict"] == "no detectable difference"
    assert row["diff_ci_low"] < 0 < row["diff_ci_high"]


def test_neutral_and_unknown_metrics_report_higher_lower(comparison):
    assert _row(comparison, "cross_grid_share", GRIDS)["verdict"] == "higher"
    assert metrics_meta.direction("some_future_metric") == 0
    assert _row(comparison, "some_future_metric", BASE)["verdict"] == "baseline"


def test_pairing_by_seed_narrows_the_interval(comparison, collected):
    runs = collected.runs
    a = runs.loc[runs["variant"] == GRIDS, "mean_queue_delay_min"]
    b = runs.loc[runs["variant"] == BASE, "mean_queue_delay_min"]
    welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval()
    row = _row(comparison, "mean_queue_delay_min", GRIDS)
    assert row["diff_ci_high"] - row["diff_ci_low"] < (welch.high - welch.low) / 5


def test_paired_difference_matches_hand_computed_t_interval():
    base = pd.Series([10.0, 20.0, 30.0], index=[1, 2, 3])
    treat = pd.Series([11.0, 22.0, 33.0, 99.0], index=[1, 2, 3, 4])  # seed 4 is unpaired
    n, diff, lo, hi, method = compare.paired_difference(treat, base)
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)  # diffs 1,2,3: sd 1
    assert (n, method) == (3, "paired")
    assert diff == pytest.approx(2.0)
    assert (lo, hi) == pytest.approx((2.0 - half, 2.0 + half))


@pytest.mark.parametrize(("metric", "lo", "hi", "expected"), [
    ("mean_queue_delay_min", -2.0, -1.0, "better"),
    ("mean_queue_delay_min", 1.0, 2.0, "worse"),
    ("mediation_success_rate", 0.1, 0.2, "better"),
    ("mediation_success_rate", -0.1, 0.2, "no detectable difference"),
    ("brand_new_metric", -3.0, -1.0, "lower"),
    ("mean_queue_delay_min", math.nan, math.nan, "insufficient data"),
])
def test_verdict(metric, lo, hi, expected):
    assert compare.verdict(metric, lo, hi) == expected


def test_compare_writes_outputs(sweep, comparison):
    csv = pd.read_csv(sweep / "comparison.csv")
    assert len(csv) == len(comparison) == 3 * 7
    md = (sweep / "comparison.md").read_text()
    assert "| mean_queue_delay_min | - | " + GRIDS in md
    assert "better" in md and "no detectable difference" in md


def test_resolve_variant_accepts_subsets_and_rejects_unknown():
    variants = [BASE, GRIDS, CLONE]
    assert compare.resolve_variant("policy=baseline", variants) == BASE
    assert compare.resolve_variant("scenario.grids.count=30,policy=baseline", variants) == BASE
    with pytest.raises(collect.InputError, match="ambiguous"):
        compare.resolve_variant("scenario.grids.count=30", variants)
    with pytest.raises(collect.InputError, match="matches no variant"):
        compare.resolve_variant("policy=nope", variants)


def test_compare_cli_exit_codes(sweep, tmp_path, capsys):
    assert compare.main([str(tmp_path / "missing"), "--baseline", "policy=baseline"]) == 2
    assert compare.main([str(sweep), "--baseline", "policy=nope"]) == 2
    assert "policy=nope" in capsys.readouterr().err
    assert compare.main([str(sweep), "--metrics", "not_a_metric"]) == 2
    assert compare.main([str(sweep), "--baseline", "policy=baseline",
                         "--metrics", "mean_queue_delay_min"]) == 0


def test_compare_collects_first_when_runs_table_missing(tmp_path):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1, 2),
                           variants=[FakeVariant(["policy=baseline"]),
                                     FakeVariant(["policy=x"], {"mean_queue_delay_min": 5.0})])
    assert not (root / "runs.parquet").exists()
    result = compare.run_comparison(root, "policy=baseline", ["mean_queue_delay_min"],
                                    log=lambda _: None)
    assert (root / "runs.parquet").exists()
    assert _row(result, "mean_queue_delay_min", "policy=x")["verdict"] == "worse"


def test_unpaired_seeds_fall_back_to_welch(tmp_path):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1, 2), incomplete_jobs=0,
                           variants=[FakeVariant(["policy=baseline"]), FakeVariant(["policy=x"])])
    runs = collect.collect(root).runs
    runs.loc[runs["variant"] == "policy=x", "seed"] += 100  # no seed in common any more
    result = compare.compare_runs(runs, "policy=baseline", ["mean_queue_delay_min"])
    assert _row(result, "mean_queue_delay_min", "policy=x")["method"] == "welch"


# --------------------------------------------------------------------------- advisor


def test_seeds_needed_is_the_smallest_sufficient_n():
    sd, target = 2.0, 0.5
    n = advisor.seeds_needed(sd, target)
    assert advisor.half_width(sd, n) <= target < advisor.half_width(sd, n - 1)
    assert n == 64  # t(0.975, 63) * 2 / 8 = 0.4996
    assert advisor.seeds_needed(0.0, 1.0) == 2
    assert advisor.seeds_needed(math.nan, 1.0) is None


def test_advisor_table_and_cli(sweep, collected, capsys):
    advice = advisor.advise(collected.runs, "mean_queue_delay_min", 0.1,
                            baseline="policy=baseline")
    means = advice[advice["quantity"] == "mean"]
    assert list(means["variant"]) == [BASE, GRIDS, CLONE]
    assert (means["seeds_needed"] > 6).all()
    paired = advice[advice["quantity"] != "mean"]
    # Common random numbers: the paired difference needs far fewer seeds than a mean.
    assert (paired["seeds_needed"] < means["seeds_needed"].min()).all()
    assert advisor.main([str(sweep), "--metric", "mean_queue_delay_min",
                         "--half-width", "0.1"]) == 0
    assert "seeds needed" in capsys.readouterr().out
    assert advisor.main([str(sweep), "--metric", "nope", "--half-width", "0.1"]) == 2
    assert advisor.main([str(sweep), "--metric", "mean_queue_delay_min",
                         "--half-width", "-1"]) == 2


# --------------------------------------------------------------------------- plot & report


def test_pareto_front_drops_dominated_points():
    points = pd.DataFrame({"cost": [1.0, 2.0, 3.0, 2.5], "effect": [10.0, 5.0, 1.0, 6.0]})
    front = plot.pareto_front(points, "cost", "effect", -1, -1)
    assert front["cost"].tolist() == [1.0, 2.0, 3.0]  # (2.5, 6) is dominated by (2, 5)
    best_up = plot.pareto_front(points, "cost", "effect", -1, +1)
    assert best_up["cost"].tolist() == [1.0]


def test_short_labels_drop_shared_overrides():
    assert plot.short_labels(["a=1,b=2", "a=1,b=3"]) == {"a=1,b=2": "b=2", "a=1,b=3": "b=3"}


def test_plot_writes_png_and_svg(sweep, collected):
    written = plot.plot_sweep(sweep, log=lambda _: None)
    figdir = sweep / "figures"
    stems = {"response_ecdf", "time_to_settle", "cost_effectiveness",
             "metric_vs_scenario.grids.count"}
    for stem in stems:
        for ext in ("png", "svg"):
            path = figdir / f"{stem}.{ext}"
            assert path in written and path.stat().st_size > 1000
    assert (figdir / "response_ecdf.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (figdir / "response_ecdf.svg").read_text()


def test_plot_skips_missing_inputs_gracefully(tmp_path):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1), incomplete_jobs=0,
                           variants=[FakeVariant(["policy=a"]), FakeVariant(["policy=b"])])
    collect.collect(root)
    # No run has an incidents table (load_long_table would otherwise collect it again).
    for path in root.glob("*/incidents.parquet"):
        path.unlink()
    (root / "incidents.parquet").unlink()
    runs = pd.read_parquet(root / "runs.parquet").drop(columns="annual_staffing_cost_yuan")
    runs.to_parquet(root / "runs.parquet")
    messages: list[str] = []
    written = plot.plot_sweep(root, log=messages.append)
    names = {p.name for p in written}
    assert names == {"time_to_settle.png", "time_to_settle.svg"}
    text = "\n".join(messages)
    assert "skip response_ecdf" in text and "skip cost_effectiveness" in text
    assert "no numeric override" in text


def test_report_is_self_contained(sweep, collected):
    path = report.build_report(sweep, "policy=baseline", log=lambda _: None)
    text = path.read_text()
    assert path == sweep / "report.html"
    assert "http://" not in text and "https://" not in text
    assert text.count("data:image/png;base64,") >= 4
    assert "<script" not in text and "<link" not in text
    assert "mean_queue_delay_min" in text and 'class="better"' in text
    assert "without a DONE marker" in text
    assert report.main([str(sweep.parent / "missing")]) == 2


def test_labels_keep_only_overrides_that_vary(tmp_path):
    shared = ["scenario=small_district", "sim.days=30"]
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1, 2), incomplete_jobs=0, variants=[
        FakeVariant([*shared, "policy=baseline"]),
        FakeVariant([*shared, "policy=x"], {"mean_queue_delay_min": 5.0}),
        FakeVariant([*shared, "policy=x", "+policy.grids=50"])])
    runs = collect.collect(root).runs
    assert collect.variant_order(runs) == ["policy=baseline", "policy=x",
                                           "policy=x,+policy.grids=50"]
    assert collect.constant_overrides(runs) == shared
    assert runs["sim.days"].eq(30).all()  # the constant stays available as a (typed) column
    # The baseline may still be named with the shared overrides, in any order.
    table = compare.run_comparison(root, "sim.days=30,policy=baseline",
                                   ["mean_queue_delay_min"], log=lambda _: None)
    assert table.loc[table["is_baseline"], "variant"].tolist() == ["policy=baseline"]
    markdown = (root / compare.COMPARISON_MD).read_text(encoding="utf-8")
    assert "Common to all runs: `scenario=small_district`, `sim.days=30`." in markdown
    assert "| policy=x |" in markdown and "scenario=small_district |" not in markdown
    html = report.build_report(root, log=lambda _: None).read_text(encoding="utf-8")
    assert "<code>sim.days=30</code>" in html


def test_single_variant_sweep_resolves_its_shared_baseline(tmp_path):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1), incomplete_jobs=0,
                           variants=[FakeVariant(["policy=baseline", "sim.days=9"])])
    runs = collect.collect(root).runs
    assert collect.variant_order(runs) == [collect.DEFAULT_VARIANT]
    table = compare.compare_runs(runs, "policy=baseline", ["mean_queue_delay_min"])
    assert table["variant"].tolist() == [collect.DEFAULT_VARIANT]
    with pytest.raises(collect.InputError):
        compare.compare_runs(runs, "policy=other", ["mean_queue_delay_min"])
