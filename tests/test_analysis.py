"""Tests of the sweep analysis tools (collect, compare, advisor, plot, report) on fake sweeps."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package

from fake_sweep import FakeVariant, make_fake_sweep  # noqa: E402

from experiments.analysis import (  # noqa: E402
    advisor,
    brief,
    collect,
    compare,
    metrics_meta,
    plot,
    report,
)

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
    # Loaded as the data dictionary types the run labels.
    assert str(collect.load_long_table(sweep, "incidents.parquet")["seed"].dtype) == "Int64"


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


def test_every_metric_a_run_reports_has_metadata():
    """A summary metric without an entry in metrics_meta shows under its raw name, a share as
    a bare fraction, and with no margin can never be equivalent."""
    from sim import Simulation

    run = Simulation.from_overrides(["sim.progress=false", "scenario=small_district",
                                     "sim.days=1"]).run()
    assert [m for m in run.metrics if m not in metrics_meta.KNOWN_METRICS] == []


def test_clearly_lower_queue_delay_is_better_with_ci_excluding_zero(comparison):
    row = _row(comparison, "mean_queue_delay_min", GRIDS)
    assert row["verdict"] == "better"
    assert row["method"] == "paired" and row["n_pairs"] == 6
    assert row["diff_ci_high"] < 0
    assert row["diff"] == pytest.approx(-2.0, abs=0.1)
    # Higher cost is worse: the direction table must be honoured, not just the sign.
    assert _row(comparison, "annual_staffing_cost_yuan", GRIDS)["verdict"] == "worse"


def test_same_distribution_within_the_margin_is_equivalent(comparison):
    row = _row(comparison, "mean_queue_delay_min", CLONE)
    assert row["margin"] == metrics_meta.default_margin("mean_queue_delay_min") == 0.5
    assert row["verdict"] == "equivalent"
    assert -0.5 < row["diff_ci_low"] < 0 < row["diff_ci_high"] < 0.5
    assert row["p_equivalent"] < 0.025 < row["p_diff"]


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


@pytest.mark.parametrize(("metric", "lo", "hi", "margin", "expected"), [
    ("mean_queue_delay_min", -2.0, -1.0, 0.5, "better"),
    ("mean_queue_delay_min", 1.0, 2.0, 0.5, "worse"),
    ("mean_queue_delay_min", 0.1, 0.2, 0.5, "worse"),        # real, if inside the margin
    ("mediation_success_rate", 0.1, 0.2, 0.01, "better"),
    ("mediation_success_rate", -0.1, 0.2, math.nan, "inconclusive"),
    ("mediation_success_rate", -0.1, 0.2, 0.05, "inconclusive"),
    ("mediation_success_rate", -0.04, 0.2, 0.05, "non-inferior"),   # a fall of 5 pt ruled out
    ("mediation_success_rate", -0.2, 0.04, 0.05, "inconclusive"),   # a gain is not a harm
    ("mean_queue_delay_min", -2.0, 0.3, 0.5, "non-inferior"),       # lower is better
    ("mean_queue_delay_min", -0.3, 0.6, 0.5, "inconclusive"),
    ("mean_queue_delay_min", -0.4, 0.4, 0.5, "equivalent"),
    ("cross_grid_share", -0.01, 0.01, 0.05, "equivalent"),          # neutral metrics too
    ("cross_grid_share", -0.01, 0.2, 0.05, "inconclusive"),
    ("brand_new_metric", -3.0, -1.0, math.nan, "lower"),
    ("mean_queue_delay_min", math.nan, math.nan, 0.5, "insufficient data"),
])
def test_verdict(metric, lo, hi, margin, expected):
    assert compare.verdict(metric, lo, hi, margin) == expected


def test_holm_adjustment_by_hand():
    assert compare.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert compare.holm([0.5, math.nan, 0.01]).tolist()[::2] == pytest.approx([0.5, 0.02])
    assert math.isnan(compare.holm([0.5, math.nan, 0.01])[1])


def _runs(per_variant: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for variant, metrics in per_variant.items():
        n = len(next(iter(metrics.values())))
        for seed in range(n):
            rows.append({"variant": variant, "seed": seed,
                         **{m: float(v[seed]) for m, v in metrics.items()}})
    return pd.DataFrame(rows).astype({"variant": "string", "seed": "Int64"})


def test_a_metric_missing_in_some_seeds_gets_means_and_difference_over_the_same_seeds():
    # Reviewer's R4: B has no P1 call in seed 0, a high-p90 seed for A. Means over all runs
    # (A 11.08, B 8.33) disagreed with the paired difference (+0.23 over seeds 1-3).
    nan = float("nan")
    runs = _runs({"A": {"response_p90_min_p1": [20.0, 8.0, 8.2, 8.1]},
                  "B": {"response_p90_min_p1": [nan, 8.3, 8.4, 8.3]}})
    table = compare.compare_runs(runs, "A", ["response_p90_min_p1"])
    a, b = _row(table, "response_p90_min_p1", "A"), _row(table, "response_p90_min_p1", "B")
    assert a["n"] == b["n"] == b["n_pairs"] == 3
    assert a["mean"] == pytest.approx(8.1) and b["mean"] == pytest.approx(25 / 3)
    assert b["diff"] == pytest.approx(b["mean"] - a["mean"])
    assert b["missing"].startswith("no value in seed(s) 0;") and "1, 2, 3" in b["missing"]
    assert a["missing"].startswith("a value in every seed")
    assert compare.missing_notes(table)[0].startswith("response_p90_min_p1, A: ")


def test_a_seed_with_a_value_in_one_variant_only_is_not_identical_in_every_pair():
    # Reviewer's R7: the variant has no P1 call in seed 0 where the baseline has one; the
    # other pairs are equal. That is not "identical in every pair", nor "unaffected".
    nan = float("nan")
    runs = _runs({"policy=baseline": {"response_p90_min_p1": [12.0, 8.0, 9.0, 10.0]},
                  "policy=x": {"response_p90_min_p1": [nan, 8.0, 9.0, 10.0]}})
    table = compare.compare_runs(runs, "policy=baseline")
    row = _row(table, "response_p90_min_p1", "policy=x")
    assert row["verdict"] != compare.IDENTICAL and row["n_pairs"] == 3
    assert _row(table, "response_p90_min_p1", "policy=baseline")["mean"] == row["mean"] == 9.0
    said = " ".join(brief.headlines(table))
    assert "unaffected" not in said and "missing in some runs" in said
    # Nothing missing: no note column, and identical pairs are identical.
    full = compare.compare_runs(_runs({"policy=baseline": {"response_p90_min_p1": [12.0, 8.0]},
                                       "policy=x": {"response_p90_min_p1": [12.0, 8.0]}}),
                                "policy=baseline")
    assert "missing" not in full.columns
    assert _row(full, "response_p90_min_p1", "policy=x")["verdict"] == compare.IDENTICAL


def test_holm_turns_a_lone_borderline_difference_inconclusive():
    base = [10.0, 11.0, 12.0, 13.0, 14.0]
    # Paired differences 0.2 +- noise: p about 0.03 on its own, among eleven flat metrics.
    bump = [0.05, 0.35, 0.1, 0.3, 0.2]
    flat = [0.01, -0.01, 0.02, -0.02, 0.0]
    metrics = {"mean_queue_delay_min": base}
    metrics.update({f"response_p50_min_p{i}": base for i in range(1, 4)})
    other = {"mean_queue_delay_min": [b + d for b, d in zip(base, bump, strict=True)]}
    other.update({f"response_p50_min_p{i}": [b + d * i for b, d in zip(base, flat, strict=True)]
                  for i in range(1, 4)})
    for i, m in enumerate(["response_p90_min_p1", "response_p90_min_p2", "response_p90_min_p3",
                           "time_to_settle_p50_days", "time_to_settle_p90_days",
                           "mean_wait_first_session_days", "violent_turns_per_100k"]):
        metrics[m] = base
        other[m] = [b + d * (i + 1) / 3 for b, d in zip(base, flat, strict=True)]
    runs = _runs({"policy=baseline": metrics, "policy=x": other})
    plain = compare.compare_runs(runs, "policy=baseline")
    adjusted = compare.compare_runs(runs, "policy=baseline", use_holm=True)
    row = _row(plain, "mean_queue_delay_min", "policy=x")
    assert row["p_diff"] < 0.05 and row["verdict"] == "worse"
    row = _row(adjusted, "mean_queue_delay_min", "policy=x")
    assert row["p_diff_holm"] == pytest.approx(min(1.0, 11 * row["p_diff"])) or \
        row["p_diff_holm"] >= row["p_diff"]
    assert row["p_diff_holm"] > 0.05 and row["verdict"] != "worse"
    # Metrics identical in every pair are no tests: they do not widen the family.
    same = {f"utilisation_unit_{u}": base for u in ("police", "guard", "swat", "armed")}
    wider = compare.compare_runs(_runs({"policy=baseline": {**metrics, **same},
                                        "policy=x": {**other, **same}}),
                                 "policy=baseline", use_holm=True)
    assert _row(wider, "mean_queue_delay_min", "policy=x")["p_diff_holm"] == \
        pytest.approx(row["p_diff_holm"])
    # Nor do bookkeeping metrics (volumes, utilisation: context, not hypotheses), even when
    # they differ; their own verdicts stay unadjusted.
    busy = {"utilisation_unit_police": base, "incidents_total": base,
            "calls_share_unit_police": base}
    busier = {m: [b + d for b, d in zip(base, bump, strict=True)] for m in busy}
    context = compare.compare_runs(_runs({"policy=baseline": {**metrics, **busy},
                                          "policy=x": {**other, **busier}}),
                                   "policy=baseline", use_holm=True)
    assert _row(context, "mean_queue_delay_min", "policy=x")["p_diff_holm"] == \
        pytest.approx(row["p_diff_holm"])
    assert _row(context, "incidents_total", "policy=x")["verdict"] == "higher"
    # Intervals are the same either way; only the verdicts read adjusted p values.
    assert row["diff_ci_low"] == _row(plain, "mean_queue_delay_min", "policy=x")["diff_ci_low"]
    with pytest.raises(collect.InputError, match="--holm"):
        compare.compare_runs(runs, "policy=baseline", use_holm=True, ci="bca")


def test_p_values_agree_with_the_interval():
    rng = __import__("numpy").random.default_rng(3)
    base = rng.normal(5.0, 1.0, 8)
    runs = _runs({"b": {"mean_queue_delay_min": base},
                  "x": {"mean_queue_delay_min": base + rng.normal(0.3, 0.3, 8)}})
    row = _row(compare.compare_runs(runs, "b", margins={"mean_queue_delay_min": 0.8}),
               "mean_queue_delay_min", "x")
    assert (row["p_diff"] < 0.05) == (row["diff_ci_low"] > 0 or row["diff_ci_high"] < 0)
    assert (row["p_noninferior"] < 0.025) == (row["diff_ci_high"] < 0.8)
    assert (row["p_equivalent"] < 0.025) == (-0.8 < row["diff_ci_low"]
                                              and row["diff_ci_high"] < 0.8)


def test_compare_writes_outputs(sweep, comparison):
    csv = pd.read_csv(sweep / "comparison.csv")
    assert len(csv) == len(comparison) == 3 * 7
    kept = ["metric", "variant", "is_baseline", "mean", "ci_low", "ci_high", "diff",
            "diff_ci_low", "diff_ci_high", "verdict", "margin", "p_diff", "p_noninferior",
            "p_equivalent", "method", "ci"]
    assert set(kept) <= set(csv.columns)
    md = (sweep / "comparison.md").read_text()
    assert "| Mean wait for a free unit (min) | ↓ | " + GRIDS in md
    assert "better" in md and "equivalent" in md and "±0.5" in md
    assert "| Mediation success (%) | ↑ | " + BASE + " | 6 | 70.1% [" in md  # a percentage


# --------------------------------------------------------------------------- ranges & margins

# 12 seeds: --ci bca needs at least 10 paired seeds.
NEAR_ONE = [1.0, 0.9990, 1.0, 1.0, 0.9995, 1.0] * 2
NEAR_ZERO = [0.0, 0.0, 0.0004, 0.0, 0.0, 0.0] * 2
RARE_COUNT = [0.0, 0.0, 3.0, 0.0, 0.0, 0.0] * 2


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    """Shares pinned near 1 and 0 and a rare count: where t intervals leave their range."""
    fixed = {"mediation_success_rate": NEAR_ONE, "unreached_share": NEAR_ZERO,
             "violent_turns_per_100k": RARE_COUNT}
    root = make_fake_sweep(tmp_path_factory.mktemp("bounded") / "s", incomplete_jobs=0,
                           seeds=tuple(range(len(NEAR_ONE))),
                           variants=[FakeVariant(["policy=baseline"], fixed=fixed),
                                     FakeVariant(["policy=x"], fixed={
                                         "mediation_success_rate": NEAR_ONE[::-1],
                                         "unreached_share": NEAR_ZERO[::-1],
                                         "violent_turns_per_100k": RARE_COUNT[::-1]}),
                                     FakeVariant(["policy=same"], same_as_first=tuple(fixed))])
    return root


@pytest.mark.parametrize("ci", ["t", "bca"])
def test_intervals_stay_in_range(bounded, ci):
    # The plain t interval does leave the range here, so the test can fail.
    raw = stats.ttest_1samp(NEAR_ONE, 0).confidence_interval()
    assert raw.high > 1.0 and stats.ttest_1samp(RARE_COUNT, 0).confidence_interval().low < 0
    table = compare.run_comparison(bounded, "policy=baseline", ci=ci, log=lambda _: None)
    assert len(table) > 20
    part = table[table["kind"] == "share"].dropna(subset=["ci_low"])
    assert len(part) >= 6
    assert (part["ci_low"] >= 0).all() and (part["ci_high"] <= 1).all()
    assert (part["diff_ci_low"].dropna() >= -1).all()
    assert (part["diff_ci_high"].dropna() <= 1).all()
    for kind in ("count", "rate", "time", "money"):
        part = table[table["kind"] == kind].dropna(subset=["ci_low"])
        assert (part["ci_low"] >= 0).all(), kind
    assert len(table[table["kind"] == "rate"].dropna(subset=["ci_low"]))
    assert (table.loc[~table["is_baseline"], "ci"] == ("BCa" if ci == "bca" else "t")).any()
    row = _row(table, "mediation_success_rate", "policy=baseline")
    assert row["ci_high"] == 1.0 if ci == "t" else row["ci_high"] <= 1.0    # t is cut at 1
    assert row["ci_low"] < row["mean"]


def test_identical_in_every_pair_is_its_own_verdict(bounded):
    table = compare.run_comparison(bounded, "policy=baseline", log=lambda _: None)
    for metric in ("mediation_success_rate", "unreached_share", "violent_turns_per_100k"):
        assert _row(table, metric, "policy=same")["verdict"] == "identical in every pair"
        # Reversed seeds: the same values, not the same pairs.
        assert _row(table, metric, "policy=x")["verdict"] != "identical in every pair"


def test_margins_from_the_command_line(bounded, capsys):
    assert compare.parse_margins(["time_to_settle_p90_days=0.5", "a=2%,b=1"]) == {
        "time_to_settle_p90_days": 0.5, "a": "2%", "b": 1.0}
    for bad in (["x"], ["x=abc"], ["x=-1"], ["=3"]):
        with pytest.raises(collect.InputError, match="--margin"):
            compare.parse_margins(bad)
    base = ["--baseline", "policy=baseline"]
    assert compare.main([str(bounded), *base, "--margin", "mean_queue_delay_min=abc"]) == 2
    assert "--margin mean_queue_delay_min" in capsys.readouterr().err
    assert compare.main([str(bounded), *base, "--margin", "nope=1"]) == 2
    assert compare.main([str(bounded), *base, "--metrics", "mean_queue_delay_min",
                         "--margin", "mean_queue_delay_min=10%"]) == 0
    csv = pd.read_csv(bounded / "comparison.csv")
    base_mean = csv.loc[csv["is_baseline"], "mean"].iloc[0]
    assert csv["margin"].iloc[0] == pytest.approx(0.1 * base_mean)
    assert "margins set: `mean_queue_delay_min=10%`" in (bounded / "comparison.md").read_text()


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


def test_compare_names_missing_seeds_and_compares_on_the_seeds_every_variant_has(
        tmp_path, capsys):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1, 2), incomplete_jobs=0,
                           variants=[FakeVariant(["policy=baseline"]),
                                     FakeVariant(["policy=x"], {"mean_queue_delay_min": 1.0})])
    (root / "5" / "DONE").unlink()                      # policy=x, seed 2 did not finish
    assert collect.main([str(root)]) == 0
    out = capsys.readouterr().out
    assert "job 5: no DONE marker" in out
    assert compare.main([str(root), "--baseline", "policy=baseline"]) == 0
    out = capsys.readouterr().out
    # runs.parquet was collected already: the unfinished job is still named.
    assert "left out 1 job folder(s) without DONE (failed or still running): 5" in out
    assert "warning: policy=x has no finished run for seed(s) 2" in out
    assert "policy=x has no finished run for seed(s) 2" in (root / "comparison.md").read_text()
    table = pd.read_csv(root / "comparison.csv")
    rows = table[table["metric"] == "mean_queue_delay_min"].set_index("variant")
    # Means and the difference over the same two seeds: the difference of the means is Δ.
    assert list(rows["n"]) == [2, 2] and rows.loc["policy=x", "n_pairs"] == 2
    assert rows.loc["policy=x", "mean"] - rows.loc["policy=baseline", "mean"] == \
        pytest.approx(rows.loc["policy=x", "diff"])
    # Within groups too: the baseline's seed 2 is in the stacked tables but not compared.
    for by in ("hour", "category"):
        assert compare.main([str(root), "--baseline", "policy=baseline", "--by", by]) == 0
        groups = pd.read_csv(root / f"comparison_by_{by}.csv")
        assert groups["n"].max() == 2                    # seeds 0 and 1 only


def test_bca_at_few_seeds_is_refused_before_anything_is_written(tmp_path, capsys):
    # At few seeds BCa calls far too many differences (48 % of null trials at 2 seeds,
    # 15 % at 5, 10 % at 8; reviewer's R2_bca_false_positive.py): refused below 10 seeds.
    root = make_fake_sweep(tmp_path / "s", seeds=tuple(range(9)), incomplete_jobs=0)
    before = sorted(p.name for p in root.iterdir())
    assert compare.main([str(root), "--ci", "bca"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--ci bca" in err and "has 9" in err
    with pytest.raises(collect.InputError, match="--ci bca"):
        report.build_report(root, ci="bca", log=lambda _: None)
    assert sorted(p.name for p in root.iterdir()) == before
    runs = collect.load_runs(root)
    with pytest.raises(collect.InputError, match="has 9"):
        compare.compare_runs(runs, "policy=baseline", ci="bca")
    assert compare.main([str(root)]) == 0                  # t is fine
    # 10 seeds: BCa is allowed.
    root = make_fake_sweep(tmp_path / "s10", seeds=tuple(range(10)), incomplete_jobs=0)
    assert compare.main([str(root), "--ci", "bca"]) == 0
    assert (pd.read_csv(root / "comparison.csv")["ci"].str.lower() == "bca").all()


def test_invalid_flag_combination_is_refused_before_anything_is_written(tmp_path, capsys):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1), incomplete_jobs=0)
    before = sorted(p.name for p in root.iterdir())
    assert compare.main([str(root), "--holm", "--ci", "bca"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--holm" in err and "--ci bca" in err
    with pytest.raises(collect.InputError, match="--holm"):
        report.build_report(root, ci="bca", use_holm=True, log=lambda _: None)
    assert sorted(p.name for p in root.iterdir()) == before


def test_tiny_values_are_plain_decimals_like_the_rest_of_the_table():
    fmt = metrics_meta.format_value
    assert fmt("mean_severity_at_intake", 8.73e-06, signed=True) == "+0.0000087"
    assert compare._fmt_ci("mean_severity_at_intake", 8.73e-06, -5.91e-05, 7.66e-05,
                           signed=True) == "+0.0000087 [-0.000059, +0.000077]"
    assert fmt("unreached_share", -8.2e-06, signed=True) == "-0.00082 pt"
    assert fmt("unreached_share", 2e-6) == "0.0002%"
    # Rounding noise of a difference is 0, without a sign that claims a direction.
    assert fmt("mean_queue_delay_min", 3e-17, signed=True) == "0"
    assert fmt("unreached_share", -1e-19, signed=True) == "0 pt"
    assert fmt("mean_queue_delay_min", 0.0123, signed=True) == "+0.012"


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
    # Named as the forest plot and the brief name them.
    assert plot.short_labels(["policy=baseline,seed=1", "policy=grids_50,seed=1"]) == {
        "policy=baseline,seed=1": "baseline", "policy=grids_50,seed=1": "grids_50"}


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
    assert "no numeric parameter varies" in text


def test_report_is_self_contained(sweep, collected):
    path = report.build_report(sweep, "policy=baseline", log=lambda _: None)
    text = path.read_text()
    assert path == sweep / "report.html"
    assert "http://" not in text and "https://" not in text
    assert text.count("data:image/png;base64,") >= 4
    assert "<script" not in text and "<link" not in text
    assert "Mean wait for a free unit" in text and 'class="better"' in text
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


# --------------------------------------------------------------------------- breakdowns


def test_breakdown_by_priority_pairs_seeds_within_each_group(sweep, collected):
    from sim.survival import km_quantile, response_minutes

    table = compare.run_comparison(sweep, "policy=baseline", by="priority",
                                   log=lambda _: None)
    assert (sweep / "comparison_by_priority.csv").exists()
    assert (sweep / "comparison_by_priority.md").read_text().startswith("# Comparison by")
    assert sorted(table["group"].unique()) == [1, 2, 3]
    # By hand: job 0 (baseline, seed 0), priority 2, response p90 with censoring.
    incidents = pd.read_parquet(sweep / "0" / "incidents.parquet")
    p2 = incidents[incidents["priority"] == 2]
    expected = km_quantile(*response_minutes(p2, 30 * 1440.0), q=0.9, at_least=True)
    per_group = compare.group_metrics(sweep, collected.runs, "priority")
    got = per_group[(per_group["job"] == "0") & (per_group["group"] == 2)]
    assert got["response_p90_min"].iloc[0] == pytest.approx(expected)
    # The faster variant (speed 0.7) answers quicker in every priority.
    for p in (1, 2, 3):
        row = table[(table["group"] == p) & (table["metric"] == "response_p90_min")
                    & (table["variant"] == GRIDS)].iloc[0]
        assert row["diff"] < 0 and row["n_pairs"] == 6


def test_breakdown_by_place_counts_empty_groups_as_zero(sweep, collected):
    per_group = compare.group_metrics(sweep, collected.runs, "community")
    # Every run has a row for every community (numbered from 1), even without a record.
    assert sorted(per_group["group"].unique()) == [1, 2, 3, 4, 5]
    assert len(per_group) == 18 * 5
    first = per_group[per_group["job"] == "0"]
    incidents = pd.read_parquet(sweep / "0" / "incidents.parquet")
    assert first["incidents"].sum() == len(incidents)
    weekday = compare.group_metrics(sweep, collected.runs, "weekday")
    assert list(weekday["group"].cat.categories) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                                     "Sun"]


def _one_group_tables(rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run's disputes, all of one category, some redirected at intake, and its incidents,
    all of priority 1, some given up by their callers or handed to the backup force."""
    n = 40
    raised = rng.uniform(0, 20 * 1440, n)
    outcome = np.array(["settled", "redirected", "court", "open", "settled",
                        "redirected", "violent", "redirected"] * (n // 8))
    closed = np.where(outcome == "open", np.nan, raised + rng.uniform(1, 9, n) * 1440)
    disputes = pd.DataFrame({
        "dispute_id": np.arange(n), "category": "neighbour", "street": 0, "community": 0,
        "amount_yuan": 100.0, "t_raised": raised, "t_first_session": raised + 1440.0,
        "t_closed": closed, "outcome": outcome, "level": "community",
        "escalations": rng.integers(0, 2, n)})
    reported = np.sort(rng.uniform(0, 20 * 1440, n))
    abandoned = np.arange(n) % 5 == 1
    overflow = np.arange(n) % 7 == 3
    waiting = np.arange(n) % 9 == 4                    # still waiting at the end
    dispatched = np.where(abandoned | overflow | waiting, np.nan, reported + 2.0)
    arrived = dispatched + rng.gamma(2.0, 2.0, n)
    incidents = pd.DataFrame({
        "incident_id": np.arange(n), "source": "call", "kind": "theft", "priority": 1,
        "grid": 0, "community": 0, "t_reported": reported, "t_dispatched": dispatched,
        "t_arrived": arrived, "overflow": overflow, "abandoned": abandoned & ~overflow,
        "t_abandoned": np.where(abandoned & ~overflow, reported + 15.0, np.nan),
        "cross_grid": False})
    return disputes, incidents


def test_breakdown_figures_of_a_group_holding_every_record_are_the_run_metrics(tmp_path):
    """Per-group metrics follow the run metrics' definitions (sim/metrics.py): mediation
    rates over the cases taken for mediation and closed, redirected ones left out; callers
    who gave up neither unreached nor waiting to the end."""
    from sim import metrics as run_metrics

    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1), incomplete_jobs=0,
                           variants=[FakeVariant(["policy=baseline"])])
    rng = np.random.default_rng(7)
    tables = {}
    for job in collect.find_job_dirs(root):
        tables[job.name] = _one_group_tables(rng)
        tables[job.name][0].to_parquet(job / "disputes.parquet")
        tables[job.name][1].to_parquet(job / "incidents.parquet")
    runs = collect.collect(root).runs
    now = 30 * 1440.0
    by_category = compare.group_metrics(root, runs, "category")
    by_priority = compare.group_metrics(root, runs, "priority")
    for job, (disputes, incidents) in tables.items():
        run_d = run_metrics.dispute_metrics(disputes, 100_000, 30.0)
        run_i = run_metrics.incident_metrics(incidents, 5.0, now)
        group_d = by_category[by_category["job"] == job].iloc[0]
        group_i = by_priority[by_priority["job"] == job].iloc[0]
        assert (disputes.outcome == "redirected").any()
        for name in ("mediation_success_rate", "escalation_rate"):
            assert group_d[name] == pytest.approx(run_d[name]), name
        for name in ("mean_queue_delay_min", "unreached_share", "p1_within_5min_share"):
            assert group_i[name] == pytest.approx(run_i[name]), name
        assert group_i["response_p50_min"] == pytest.approx(run_i["response_p50_min_p1"])
        assert group_i["response_p90_min"] == pytest.approx(run_i["response_p90_min_p1"])


def test_breakdown_by_grid_refuses_different_partitions(tmp_path, capsys):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1), incomplete_jobs=0,
                           variants=[FakeVariant(["policy=grids_33"]),
                                     FakeVariant(["policy=grids_50"])])
    for job in collect.find_job_dirs(root):
        summary = json.loads((job / "summary.json").read_text())
        grids = 33 if "grids_33" in (job / ".hydra" / "overrides.yaml").read_text() else 50
        summary["structure"] = {"grids": grids}
        (job / "summary.json").write_text(json.dumps(summary))
    assert compare.main([str(root), "--by", "grid"]) == 2
    assert "different patrol grids (33, 50)" in capsys.readouterr().err
    assert compare.main([str(root), "--by", "community", "--holm"]) == 0
    assert not (root / "comparison_by_grid.csv").exists()


def test_t_interval_and_p_values_match_scipy():
    from experiments.analysis import inference

    x = __import__("numpy").array([1.2, 0.4, 2.2, 1.9, 0.7, 1.1])
    ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence_level=0.9)
    assert inference.interval(x, 0.9) == pytest.approx((ci.low, ci.high, "t"))
    for alternative in ("two-sided", "greater", "less"):
        expected = stats.ttest_1samp(x, 1.0, alternative=alternative).pvalue
        assert inference._one_sided_p(x, 1.0, alternative) == pytest.approx(expected)


# --------------------------------------------------------------------------- figures & brief


def test_variant_colours_are_stable_and_the_baseline_is_grey():
    one = plot.variant_colours(["policy=baseline", "policy=grids_50"], "policy=baseline")
    two = plot.variant_colours(["policy=x", "policy=y", "policy=grids_50"], "policy=x")
    assert one["policy=baseline"] == two["policy=x"] == plot.BASELINE_COLOUR
    assert one["policy=grids_50"] == two["policy=grids_50"]
    many = plot.variant_colours([f"policy=p{i}" for i in range(8)], "policy=p0")
    assert len(set(many.values())) == 8


def test_presets_get_a_paired_metric_vs_parameter_figure(tmp_path):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1, 2), incomplete_jobs=0, variants=[
        FakeVariant(["policy=grids_33"], config={"scenario": {"grids": {"count": 33}}}),
        FakeVariant(["policy=grids_50"], {"response_p90_min_p1": -1.0},
                    config={"scenario": {"grids": {"count": 50}}}),
        FakeVariant(["policy=grids_20"], {"response_p90_min_p1": 1.0},
                    config={"scenario": {"grids": {"count": 20}}})])
    runs = collect.collect(root).runs
    assert plot.numeric_parameters(runs) == []  # policy=grids_50 is a name, not a number
    params = plot.config_parameters(root, runs)
    assert params == {"scenario.grids.count": {"policy=grids_33": 33.0, "policy=grids_50": 50.0,
                                               "policy=grids_20": 20.0}}
    written = plot.plot_sweep(root, log=lambda _: None, baseline="policy=grids_33")
    assert root / "figures" / "metric_vs_scenario.grids.count.png" in written


def test_front_drops_variants_that_something_cheaper_matches():
    base = [10.0, 12.0, 11.0, 13.0]
    runs = _runs({
        "cheap": {"response_p90_min_p1": base, "annual_staffing_cost_yuan": [1.0] * 4},
        # Dearer and indistinguishable from "cheap": noise must not put it on the front.
        "same": {"response_p90_min_p1": [b + d for b, d in zip(base, [-0.1, 0.1, -0.05, 0.02],
                                                                 strict=True)],
                 "annual_staffing_cost_yuan": [2.0] * 4},
        # Dearer and clearly faster: a real trade-off.
        "fast": {"response_p90_min_p1": [b - 2.0 for b in base],
                 "annual_staffing_cost_yuan": [3.0] * 4}})
    runs["variant"] = runs["variant"].astype(str)
    kept = plot.front_variants(runs, ["cheap", "same", "fast"], "response_p90_min_p1")
    assert kept == ["cheap", "fast"]
    # The front of the means alone would have kept the noisy one (lower mean than cheap).
    means = runs.groupby("variant")[["annual_staffing_cost_yuan", "response_p90_min_p1"]].mean()
    assert means.loc["same", "response_p90_min_p1"] < means.loc["cheap", "response_p90_min_p1"]


def test_front_keeps_a_dearer_variant_when_the_cheaper_one_is_only_not_shown_worse():
    # Reviewer's R3: halving police gave P1-within-5-min -8.7 pt [-22.2, +4.7], inconclusive,
    # and that alone took the baseline off the front.  Absence of evidence is not a match.
    base = [0.40, 0.55, 0.35, 0.60, 0.45, 0.50]
    cut = [b + d for b, d in zip(base, [-0.25, 0.05, -0.20, 0.10, -0.15, 0.0], strict=True)]
    runs = _runs({"full": {"p1_within_5min_share": base, "annual_staffing_cost_yuan": [2.0] * 6},
                  "half": {"p1_within_5min_share": cut, "annual_staffing_cost_yuan": [1.0] * 6}})
    runs["variant"] = runs["variant"].astype(str)
    d = plot._paired(runs, "half", "full", "p1_within_5min_share")
    assert d.low < -0.05 < 0 < d.high                  # could be worse by more than the margin
    assert plot.front_variants(runs, ["full", "half"], "p1_within_5min_share") == \
        ["full", "half"]
    # Shown not worse by the margin (here, equivalent): the cheaper one does take its place.
    close = [b - 0.001 * (i % 2) for i, b in enumerate(base)]
    runs = _runs({"full": {"p1_within_5min_share": base, "annual_staffing_cost_yuan": [2.0] * 6},
                  "half": {"p1_within_5min_share": close,
                           "annual_staffing_cost_yuan": [1.0] * 6}})
    runs["variant"] = runs["variant"].astype(str)
    assert plot.front_variants(runs, ["full", "half"], "p1_within_5min_share") == ["half"]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    root = make_fake_sweep(tmp_path_factory.mktemp("mapped") / "s", incomplete_jobs=0,
                           with_map=True, variants=[
                               FakeVariant(["policy=baseline"]),
                               FakeVariant(["policy=grids_50"],
                                           {"response_p90_min_p1": -3.0,
                                            "mean_queue_delay_min": -2.0}, speed=0.7,
                                           same_as_first=("mediation_success_rate",
                                                          "violent_turns_per_100k"))])
    return root


def test_brief_says_what_changed_with_intervals(mapped):
    table = compare.run_comparison(mapped, "policy=baseline", log=lambda _: None)
    (sentence,) = brief.headlines(table)
    row = _row(table, "response_p90_min_p1", "policy=grids_50")
    assert row["verdict"] == "better"
    lo, hi = sorted((-row["diff_ci_high"], -row["diff_ci_low"]))
    assert sentence.startswith("grids_50 cuts P1 p90 response by "
                               f"{metrics_meta.format_value('response_p90_min_p1', -row['diff'])}"
                               f" min [{metrics_meta.format_value('response_p90_min_p1', lo)}, ")
    assert "mediation unaffected" in sentence and "residents unaffected" in sentence
    (zh,) = brief.headlines(table, "zh")
    assert zh.startswith("grids_50：一级警情 P90 响应时间缩短") and "矛盾调解不受影响" in zh
    assert brief.question("policy=baseline", ["policy=grids_50"]) == \
        "What changes when baseline becomes grids_50?"


def test_brief_says_a_metric_the_same_in_every_run_is_not_shown_unaffected(tmp_path):
    """A rare event that never happened, or a rate at 100 % in every run, could not have
    moved: the brief says what the runs show, not "unaffected"; a metric that varies across
    seeds and is identical within each pair stays "unaffected"."""
    never = {"violent_turns_per_100k": [0.0] * 4, "mediation_success_rate": [1.0] * 4}
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1, 2, 3), incomplete_jobs=0, variants=[
        FakeVariant(["policy=baseline"], fixed=never),
        FakeVariant(["policy=grids_50"], {"response_p90_min_p1": -3.0}, fixed=never)])
    for job in collect.find_job_dirs(root):  # varies by seed, the same in each pair
        summary = json.loads((job / "summary.json").read_text())
        summary["metrics"]["p1_within_5min_share"] = 0.5 + 0.1 * summary["seed"]
        (job / "summary.json").write_text(json.dumps(summary))
    table = compare.run_comparison(root, "policy=baseline", log=lambda _: None)
    assert _row(table, "violent_turns_per_100k", "policy=grids_50")["same_in_every_run"]
    assert not _row(table, "p1_within_5min_share", "policy=grids_50")["same_in_every_run"]
    (sentence,) = brief.headlines(table)
    assert "violent turns: none in any run" in sentence
    assert "mediation success 100% in every run" in sentence
    assert "P1 within 5 min unaffected" in sentence
    assert "mediation unaffected" not in sentence and "residents unaffected" not in sentence
    (zh,) = brief.headlines(table, "zh")
    assert "纠纷转暴力：所有运行中均未出现" in zh and "调解成功率在所有运行中均为 100%" in zh
    assert "一级警情5分钟到达率不受影响" in zh and "矛盾调解不受影响" not in zh


def test_report_opens_with_a_brief_and_keeps_compare_outputs(mapped):
    assert compare.main([str(mapped), "--baseline", "policy=baseline", "--metrics",
                         "mean_queue_delay_min"]) == 0
    before = (mapped / "comparison.csv").read_bytes()
    messages: list[str] = []
    path = report.build_report(mapped, log=messages.append)
    assert (mapped / "comparison.csv").read_bytes() == before
    assert any("comparison.csv (from compare) is left as it is" in m for m in messages)
    assert (mapped / "report_comparison.csv").exists()
    text = path.read_text(encoding="utf-8")
    brief_html = text[text.index('<section class="brief">'):text.index("</section>")]
    assert "<h1>What changes when baseline becomes grids_50?</h1>" in text
    assert "grids_50 cuts P1 p90 response by" in brief_html
    assert brief_html.count("data:image/png;base64,") == 2  # forest plot and map
    assert "Where it changes" in brief_html
    # Metrics identical in every pair and bookkeeping are folded away.
    assert "metric(s) identical in every pair" in text and "<details>" in text
    assert text.index("Volumes and utilisation") > text.index("Police response")
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert f"background:{plot.BASELINE_COLOUR}" in text
    zh = report.build_report(mapped, log=lambda _: None, lang="zh")
    assert zh.name == "report.zh.html"
    zh_text = zh.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh_text and "摘要" in zh_text and "把 baseline 改为" in zh_text
    assert "按种子配对" in zh_text and "Means with" not in zh_text and "Student-t" not in zh_text


def test_report_without_a_map_says_why(sweep, collected):
    messages: list[str] = []
    text = report.build_report(sweep, "policy=baseline", log=messages.append).read_text()
    assert "No map: the runs have no district.geojson." in text
    with pytest.raises(SystemExit) as exit_:
        report.main([str(sweep), "--lang", "fr"])
    assert exit_.value.code == 2
    with pytest.raises(collect.InputError, match="--lang"):
        report.build_report(sweep, lang="fr")


def test_within_a_priority_response_times_take_that_priority_s_margins(tmp_path):
    root = make_fake_sweep(tmp_path / "s", seeds=(0, 1), incomplete_jobs=0)
    assert compare.main([str(root), "--baseline", "policy=baseline", "--by", "priority"]) == 0
    table = pd.read_csv(root / "comparison_by_priority.csv")
    margin = table.groupby(["group", "metric"])["margin"].first()
    assert margin[(1, "response_p90_min")] == 0.5 and margin[(1, "response_p50_min")] == 0.5
    assert margin[(2, "response_p90_min")] == 1.0 and margin[(3, "response_p50_min")] == 1.0
    # A margin given on the command line still applies to every group.
    assert compare.main([str(root), "--baseline", "policy=baseline", "--by", "priority",
                         "--margin", "response_p90_min=2"]) == 0
    table = pd.read_csv(root / "comparison_by_priority.csv")
    assert set(table.loc[table.metric == "response_p90_min", "margin"]) == {2.0}


def test_display_table_names_the_group_in_chinese_and_shows_missing_pairs_as_a_dash():
    runs = _runs({"policy=baseline": {"mean_queue_delay_min": [1.0, 2.0]},
                  "policy=x": {"mean_queue_delay_min": [1.5, 2.5]}})
    runs = runs[~((runs.variant == "policy=x") & (runs.seed == 1))]   # one pair: no interval
    table = compare.compare_runs(runs, "policy=baseline").assign(by="priority", group=1)
    zh = compare.display_table(table, "zh")
    assert zh.columns[0] == "警情等级"
    assert zh["配对"].tolist() == ["", "–"]
    assert compare.display_table(table).columns[0] == "priority"


def test_bca_falls_back_to_t_for_a_metric_compared_on_fewer_than_ten_seeds():
    # 12 seeds pass the sweep-wide floor, but B has no P1 value in 5: that metric is compared
    # on 7 pairs, too few for BCa, so it gets the t interval and says so.
    rng = np.random.default_rng(0)
    a = list(8 + rng.normal(0, 1, 12))
    b = list(8 + rng.normal(0, 1, 12))
    b[:5] = [float("nan")] * 5
    runs = _runs({"A": {"response_p90_min_p1": a, "mediation_success_rate": a},
                  "B": {"response_p90_min_p1": b, "mediation_success_rate": a}})
    table = compare.compare_runs(runs, "A", ["response_p90_min_p1", "mediation_success_rate"],
                                 ci="bca").set_index(["metric", "variant"])
    p1 = table.loc[("response_p90_min_p1", "B")]
    assert p1.n_pairs == 7 and p1.ci == "t" and "BCa needs 10" in p1.missing
    assert table.loc[("mediation_success_rate", "B")].ci == "BCa"
