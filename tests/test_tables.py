"""Tidy, documented tables: one schema per table (sim/tables.py), the data dictionary generated
from them, typed columns without sentinels, sweep tables that are never stale, CSV export."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package

from tiny_sweep import make_real_sweep  # noqa: E402

from experiments.analysis import collect  # noqa: E402
from sim import tables  # noqa: E402
from sim.simulation import Simulation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_run():
    return Simulation.from_overrides(["scenario=small_district", "sim.days=3",
                                      "sim.progress=false"]).run()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """Two variants (an integer and a float setting) x two seeds, 3 days of small_district."""
    root = tmp_path_factory.mktemp("tables") / "sweep"
    return make_real_sweep(root, [["policy.grids=4", "policy.part_time_factor=1.0"],
                                  ["policy.grids=8", "policy.part_time_factor=0.5"]])


def assert_documented(table: str, columns) -> None:
    missing = tables.undocumented(table, columns)
    assert not missing, tables.missing_message(table, missing)


def test_the_data_dictionary_is_current():
    committed = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == tables.data_dictionary(), (
        "docs/data-dictionary.md is stale: python -m sim.tables --write docs/data-dictionary.md")


def test_every_column_of_a_runs_tables_is_documented_and_valid(one_run):
    for name in ("incidents", "disputes", "timeseries"):
        frame = getattr(one_run, name)
        assert len(frame) > 0
        assert_documented(name, frame.columns)
        tables.validate(frame, name)   # ranges, allowed categories, nullability


def test_tables_have_the_schemas_dtypes_and_nulls_not_sentinels(one_run, tmp_path):
    one_run.write(tmp_path)
    inc = pd.read_parquet(tmp_path / "incidents.parquet")
    dis = pd.read_parquet(tmp_path / "disputes.parquet")
    assert isinstance(inc["source"].dtype, pd.CategoricalDtype)
    assert list(dis["outcome"].cat.categories[:5]) == ["settled", "redirected", "court",
                                                      "violent", "open"]
    assert list(dis["level"].cat.categories) == ["community", "street", "district"]
    # Every run of a sweep gets the config's categories, found or not.
    assert "assault_robbery" in inc["kind"].cat.categories
    assert str(inc["caller"].dtype) == "Int64" and str(dis["mediator_id"].dtype) == "Int64"
    finds = inc[inc["source"] == "patrol"]
    assert len(finds) and finds["caller"].isna().all()
    assert (inc["caller"].dropna() >= 0).all()
    assert not (inc["support_unit_id"] == "").any() and inc["support_unit_id"].isna().any()
    assert (inc["unit_id"].isna() == inc["t_dispatched"].isna()).all()
    assert dis["mediator_kind"].isna().equals(dis["mediator_id"].isna())


def test_a_new_column_or_value_never_breaks_a_run_only_the_checks(one_run):
    frame = one_run.disputes.assign(abandoned=False)
    frame["outcome"] = frame["outcome"].astype("string")
    frame.loc[frame.index[0], "outcome"] = "abandoned"
    typed = tables.typed(frame, "disputes")          # what a run does: no error
    assert typed.loc[typed.index[0], "outcome"] == "abandoned"   # kept, not lost to NaN
    assert tables.missing_message("disputes", typed.columns) == (
        "column abandoned of disputes is not in the data dictionary: add it to sim/tables.py")
    with pytest.raises(pandera.errors.SchemaErrors, match="abandoned"):
        tables.validate(typed, "disputes")


def test_summary_records_provenance(one_run):
    summary = one_run.summary
    assert summary["simulator_version"] not in ("", "unknown")
    assert summary["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert summary["git_dirty"] in (True, False, None)
    assert len(summary["git_commit"]) in (40, 7) or summary["git_commit"] == "unknown"


def test_sweep_tables_are_typed_documented_and_include_the_timeseries(sweep):
    runs = collect.collect(sweep).runs
    assert str(runs["policy.grids"].dtype) == "Int64"
    assert str(runs["policy.part_time_factor"].dtype) == "float64"
    # A float setting is a label, not a metric, because its key is dotted.
    assert set(collect.label_columns(runs)) == {"policy.grids", "policy.part_time_factor",
                                                "scenario", "sim.days"}
    assert "policy.part_time_factor" not in collect.metric_columns(runs)
    assert "mediation_success_rate" in collect.metric_columns(runs)
    assert_documented("runs", pd.read_parquet(sweep / "runs.parquet").columns)
    for filename in collect.LONG_TABLES:
        frame = pd.read_parquet(sweep / filename)
        assert frame.groupby(["variant", "seed"], observed=True).ngroups == 4
        assert isinstance(frame["variant"].dtype, pd.CategoricalDtype)
        name = filename.removesuffix(".parquet")
        labels = ["variant", "seed", "job"]
        assert_documented(name, [c for c in frame.columns if c not in labels])
        assert_documented("run labels", labels)
        tables.validate(frame[labels], "run labels")


def test_load_long_table_collects_when_needed_and_is_never_stale(tmp_path, sweep):
    root = tmp_path / "s"
    shutil.copytree(sweep, root)
    for built in root.glob("*.parquet"):
        built.unlink()
    first = collect.load_long_table(root, "timeseries.parquet")   # never collected: collects
    assert first is not None and first["job"].nunique() == 4
    # A run added after the collect (e.g. more seeds) is picked up...
    shutil.copytree(root / "3", root / "4")
    assert collect.load_long_table(root, "incidents.parquet")["job"].nunique() == 5
    assert len(collect.load_runs(root)) == 5
    # ... and one removed (or being rerun, DONE gone) is dropped.
    (root / "4" / "DONE").unlink()
    assert collect.load_long_table(root, "disputes.parquet")["job"].nunique() == 4
    assert len(collect.load_runs(root)) == 4
    with pytest.raises(collect.InputError, match="not a per-run table"):
        collect.load_long_table(root, "runs.parquet")


def test_csv_export_for_a_sweep_and_a_single_run(tmp_path, sweep):
    root = tmp_path / "s"
    shutil.copytree(sweep, root)
    assert collect.main([str(root), "--csv"]) == 0
    for name in ("runs", "incidents", "disputes", "timeseries"):
        assert (root / f"{name}.csv").exists()
    inc = pd.read_csv(root / "incidents.csv")
    parquet = pd.read_parquet(root / "incidents.parquet")
    assert len(inc) == len(parquet)
    assert inc["caller"].isna().sum() == parquet["caller"].isna().sum() > 0   # empty cells
    assert collect.main([str(root / "0"), "--csv"]) == 0
    assert {p.name for p in (root / "0").glob("*.csv")} == {
        "incidents.csv", "disputes.csv", "timeseries.csv"}
