"""The example notebook runs, as a script, on a small sweep made here."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package

from tiny_sweep import make_real_sweep  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "outcome_distributions.py"


def test_outcome_distributions_notebook_runs_on_a_small_sweep(tmp_path, monkeypatch):
    sweep = make_real_sweep(tmp_path / "sweep", [["policy=baseline"], ["policy=fewer_parttime"]],
                            common=("scenario=small_district", "sim.days=4"))
    figures = tmp_path / "figures"
    monkeypatch.setenv("SWEEP", str(sweep))
    monkeypatch.setenv("FIGURES", str(figures))
    names = runpy.run_path(str(NOTEBOOK), run_name="__main__")
    assert {p.name for p in figures.glob("*.png")} == {
        "response_ecdf.png", "days_to_settle.png", "timeseries.png"}
    assert set(names["runs"]["variant"]) == {"policy=baseline", "policy=fewer_parttime"}
    assert names["per_variant"].shape == (2, 3)
    # Collected on demand: the notebook never ran experiments.collect itself.
    assert (sweep / "timeseries.parquet").exists()
