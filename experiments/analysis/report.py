"""Self-contained offline HTML report of a sweep.

``python -m experiments.report <sweep dir> [--baseline LABEL] [--metrics ...] [--replot]``

Writes ``<sweep dir>/report.html``: run inventory (including jobs skipped for lack of a DONE
marker), the comparison table against the baseline, and every PNG figure embedded as a
base64 data URI. The file references nothing outside itself (no scripts, fonts or
stylesheets from the network), so it can be mailed or opened on an air-gapped machine.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from experiments.analysis.collect import (
    DONE_MARKER,
    RUNS_FILE,
    InputError,
    common_settings_line,
    find_job_dirs,
    load_runs,
    require_dir,
    variant_order,
)
from experiments.analysis.compare import (
    BASELINE,
    COMPARISON_CSV,
    display_table,
    run_comparison,
)
from experiments.analysis.plot import FIGURES_DIR, plot_sweep
from sim.output import write_text

REPORT_FILE = "report.html"

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f3f3f3; }
tr.metric-start td { border-top: 2px solid #888; }
td.better { background: #dff0d8; } td.worse { background: #f2dede; }
td.higher, td.lower { background: #e8eef7; } td.baseline { color: #777; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
.note { font-size: 0.85rem; color: #555; }
"""

_CAPTIONS = {
    "response_ecdf": "Response time (reported to arrived) ECDF per variant, by priority; "
                     "incidents never reached are excluded.",
    "time_to_settle": "Days from raised to closed, settled disputes only.",
    "cost_effectiveness": "Annual staffing cost against effect; dashed line: Pareto front "
                          "of the variant means.",
}


def _esc(value) -> str:
    return html.escape(str(value))


def _table_html(table: pd.DataFrame, verdict_col: str | None = None,
                group_col: str | None = None) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in table.columns)
    rows, previous = [], None
    for record in table.to_dict("records"):
        starts = group_col is not None and record[group_col] != previous
        previous = record.get(group_col) if group_col else None
        cells = []
        for col, value in record.items():
            css = ""
            if col == verdict_col:
                css = f' class="{_esc(str(value).split()[0])}"'
            cells.append(f"<td{css}>{_esc(value)}</td>")
        row_class = ' class="metric-start"' if starts else ""
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _inventory(sweep: Path, runs: pd.DataFrame) -> str:
    per_variant = (runs.groupby("variant", sort=False)["seed"]
                   .agg(runs="size", seeds=lambda s: ", ".join(map(str, sorted(s.dropna())))))
    per_variant = per_variant.reindex(variant_order(runs)).reset_index()
    incomplete = [job.name for job in find_job_dirs(sweep) if not (job / DONE_MARKER).exists()]
    note = (f"<p class='note'>Skipped {len(incomplete)} job folder(s) without a DONE marker "
            f"(failed or unfinished): {_esc(', '.join(incomplete))}</p>" if incomplete
            else "<p class='note'>All job folders finished.</p>")
    return _table_html(per_variant) + note


def _common_html(runs: pd.DataFrame) -> str:
    line = common_settings_line(runs)
    if not line:
        return ""
    # The markdown backticks become <code> so the settings read as literal overrides.
    parts = _esc(line).split("`")
    text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    return f"<p>{text}</p>"


def _figures_html(figdir: Path) -> str:
    parts = []
    for png in sorted(figdir.glob("*.png")):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        caption = _CAPTIONS.get(png.stem, png.stem.replace("_", " "))
        parts.append(f'<figure><img alt="{_esc(png.stem)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{_esc(caption)}</figcaption></figure>")
    return "".join(parts) or "<p class='note'>No figures could be drawn from this sweep.</p>"


def _figures_stale(sweep: Path) -> bool:
    pngs = list((sweep / FIGURES_DIR).glob("*.png"))
    runs_path = sweep / RUNS_FILE
    if not pngs:
        return True
    return runs_path.exists() and min(p.stat().st_mtime for p in pngs) < \
        runs_path.stat().st_mtime


def _previous_baseline(sweep: Path) -> str | None:
    # Reuse the baseline of an earlier `compare` so the report agrees with comparison.md.
    path = sweep / COMPARISON_CSV
    if not path.exists():
        return None
    previous = pd.read_csv(path)
    rows = previous.loc[previous["verdict"] == BASELINE, "variant"]
    return str(rows.iloc[0]) if len(rows) else None


def build_report(sweep_dir: str | Path, baseline: str | None = None,
                 metrics: Sequence[str] | None = None, replot: bool = False,
                 log=print) -> Path:
    """Compare, (re)draw figures when needed, and write report.html; return its path."""
    sweep = require_dir(sweep_dir)
    runs = load_runs(sweep, log=log)
    if baseline is None:
        baseline = _previous_baseline(sweep)
        if baseline is not None and baseline not in set(runs["variant"]):
            baseline = None
    comparison = run_comparison(sweep, baseline, metrics, log=log)
    if replot or _figures_stale(sweep):
        plot_sweep(sweep, log=log)
    base = comparison.loc[comparison["is_baseline"], "variant"].iloc[0]
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    commits = sorted(set(runs["git_commit"].dropna().astype(str)) - {""})
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Sweep report: {_esc(sweep.name)}</title><style>{_CSS}</style></head><body>
<h1>Sweep report: {_esc(sweep)}</h1>
<p class="note">Generated {_esc(stamp)}. {len(runs)} finished runs.
Code version(s): {_esc(", ".join(commits) or "unknown")}.</p>
<h2>Runs</h2>{_common_html(runs)}{_inventory(sweep, runs)}
<h2>Comparison with baseline <code>{_esc(base)}</code></h2>
<p class="note">Mean with 95% t-interval over seeds; difference = variant − baseline,
paired by seed (common random numbers) with a 95% paired-t interval. <em>better</em>/<em>worse</em>
use each metric's direction (dir: + higher is better, - lower is better, 0 neutral: reported
as higher/lower). Intervals are not adjusted for multiple comparisons.</p>
{_table_html(display_table(comparison), verdict_col="verdict", group_col="metric")}
<h2>Figures</h2>{_figures_html(sweep / FIGURES_DIR)}
</body></html>
"""
    return write_text(sweep / REPORT_FILE, doc)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.report",
                                     description="Write a self-contained HTML report of a sweep.")
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory")
    parser.add_argument("--baseline", help="baseline variant label (default: the one used by "
                        "the last compare, else a variant named baseline, else the first)")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC", help="metrics to tabulate")
    parser.add_argument("--replot", action="store_true", help="redraw figures even if current")
    args = parser.parse_args(argv)
    metrics = [m for v in args.metrics for m in v.split(",") if m] if args.metrics else None
    try:
        path = build_report(args.sweep_dir, args.baseline, metrics, args.replot)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
