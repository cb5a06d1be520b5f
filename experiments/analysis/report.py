"""Self-contained offline HTML report of a sweep, opening with a one-page brief.

``python -m experiments.report <sweep dir> [--baseline LABEL] [--lang en|zh] [--by KEY ...]
[--metrics ...] [--margin METRIC=VALUE ...] [--holm] [--replot]``

Writes ``<sweep dir>/report.html`` (``report.zh.html`` with ``--lang zh``):

1. **the brief**, for a bureau head with two minutes: the question (the overrides that vary),
   a sentence per variant on the key metrics with their intervals ("grids_50 cuts P1 p90
   response by 0.61 min [0.29, 0.94]; mediation unaffected"), a forest plot of the paired
   effects with their margins, and a map of where it changes when the runs carry a
   ``district.geojson``;
2. **the details**: outcomes by group with readable labels and units, shares as percentages,
   metrics identical in every pair folded away, volumes and utilisation apart from outcomes,
   breakdowns (``--by``; by default priority, and the map's level), figures, the runs and how
   the numbers were made.

The report computes its own comparison and writes it to ``report_comparison.csv`` (and
``report_comparison_by_<key>.csv``): it never touches ``comparison.csv``/``.md``, which
belong to ``compare`` and may hold another selection. Every variant keeps its colour; the
baseline is dark grey. Images are embedded as data URIs and nothing is fetched from the
network, so the file can be mailed or opened on an air-gapped machine.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from experiments.analysis import brief, metrics_meta
from experiments.analysis.breakdown import BY_CHOICES
from experiments.analysis.collect import (
    RUNS_FILE,
    InputError,
    common_settings_line,
    load_runs,
    require_dir,
    unfinished_jobs,
    variant_order,
)
from experiments.analysis.compare import (
    BASELINE,
    BY_NAMES_ZH,
    COMPARISON_CSV,
    IDENTICAL,
    check_bca_seeds,
    check_ci_flags,
    common_seed_runs,
    compare_breakdown,
    compare_runs,
    default_baseline,
    display_table,
    method_note,
    parse_margins,
    runs_without_writing,
)
from experiments.analysis.plot import (
    FIGURES_DIR,
    display_name,
    load_district_map,
    plot_change_map,
    plot_forest,
    plot_sweep,
    variant_colours,
)
from sim.output import write_text

REPORT_FILE = "report.html"
REPORT_CSV = "report_comparison.csv"
MAP_METRICS = ("response_p90_min", "time_to_settle_p90_days")
LANGS = ("en", "zh")

_CSS = """
body { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
       margin: 2rem auto; max-width: 72rem; color: #222; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.brief { border: 2px solid #4d4d4d; border-radius: 6px; padding: 0.8rem 1.4rem 1rem;
         background: #fafafa; }
.brief ul { font-size: 1.1rem; padding-left: 1.2rem; } .brief li { margin: 0.4rem 0; }
.brief figure { margin: 0.8rem 0 0; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.4rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f3f3f3; }
tr.metric-start td { border-top: 2px solid #888; }
td.better { background: #dff0d8; } td.worse { background: #f2dede; }
td.equivalent, td.non-inferior { background: #eef5e9; } td.inconclusive { background: #fcf8e3; }
td.higher, td.lower { background: #e8eef7; } td.baseline { color: #777; }
.chip { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px;
        margin-right: 0.35em; vertical-align: -0.05em; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
.note { font-size: 0.85rem; color: #555; }
details { margin: 0.6rem 0; } summary { cursor: pointer; color: #333; }
"""

TEXT = {
    "en": {
        "title": "Sweep report", "brief": "In brief", "details": "Details",
        "generated": "Generated {stamp} from {n} finished runs ({seeds} seeds per variant, "
                     "paired). Code version(s): {commits}.",
        "forest": "Paired effect of each variant on the key metrics (dot: mean difference, "
                  "bar: 95% interval; shaded: the margin within which a change does not "
                  "matter).",
        "map": "Where it changes: paired change per {by} (blue better, red worse; hatched: "
               "no detectable change). Numbers as on the map.",
        "no_map": "No map: {why}.",
        "outcomes": "Outcomes", "flat": "{n} metric(s) identical in every pair (unaffected)",
        "bookkeeping": "Volumes and utilisation (context, not outcomes)",
        "breakdown": "By {by}", "changed_groups": "Groups where a metric changed detectably "
                                                  "({n} of {total}):",
        "no_changed_groups": "No group changed detectably ({total} groups).",
        "all_groups": "All groups", "figures": "Figures", "runs": "Runs and method",
        "skipped": "Skipped {n} job folder(s) without a DONE marker (failed or unfinished): "
                   "{jobs}", "all_done": "All job folders finished.",
        "variant": "variant", "runs_col": "runs", "seeds_col": "seeds",
        "baseline_is": "Baseline: {base}.",
        "captions": {
            "response_ecdf": "Response time (reported to arrived) ECDF per variant, by "
                             "priority; incidents never reached are excluded.",
            "time_to_settle": "Days from raised to closed, settled disputes only.",
            "cost_effectiveness": "Annual staffing cost against effect; dashed line: the "
                                  "variants nothing cheaper is shown to match (paired: not "
                                  "worse by the margin).",
        },
        "metric_vs": "Change from the baseline against {param}, paired by seed (95% band).",
    },
    "zh": {
        "title": "扫描报告", "brief": "摘要", "details": "详细结果",
        "generated": "生成于 {stamp}，共 {n} 次完成的运行（每个方案 {seeds} 个配对种子）。"
                     "代码版本：{commits}。",
        "forest": "各方案对关键指标的配对效应（点：平均差值；线：95% 区间；阴影：容差，"
                  "其内的变化视为无实际意义）。",
        "map": "变化发生在哪里：按{by}的配对变化（蓝色更好，红色更差；斜线：无可检测的变化）。"
               "编号与地图一致。",
        "no_map": "无地图：{why}。",
        "outcomes": "结果指标", "flat": "{n} 个指标在每对种子中完全相同（不受影响）",
        "bookkeeping": "数量与利用率（背景信息，不是结果）",
        "breakdown": "按{by}", "changed_groups": "有指标发生可检测变化的分组（{n} / {total}）：",
        "no_changed_groups": "没有分组发生可检测的变化（共 {total} 组）。",
        "all_groups": "全部分组", "figures": "图表", "runs": "运行与方法",
        "skipped": "跳过 {n} 个没有 DONE 标记的任务文件夹（失败或未完成）：{jobs}",
        "all_done": "所有任务均已完成。",
        "variant": "方案", "runs_col": "运行次数", "seeds_col": "种子",
        "baseline_is": "基线：{base}。",
        "captions": {
            "response_ecdf": "各方案的响应时间（报警到到达）经验分布，按警情等级分列；"
                             "未到达的警情不计。",
            "time_to_settle": "调解成功纠纷从登记到结案的天数。",
            "cost_effectiveness": "年度人员成本与效果；虚线：没有更便宜方案被配对证据证明"
                                  "不差于（差距在容差之内）的方案。",
        },
        "metric_vs": "相对基线的变化随 {param} 的变化，按种子配对（95% 区间带）。",
    },
}


def _esc(value) -> str:
    return html.escape(str(value))


def _img(data: bytes, alt: str) -> str:
    return (f'<img alt="{_esc(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(data).decode("ascii")}">')


def _chip(colour: str) -> str:
    return f'<span class="chip" style="background:{colour}"></span>'


def _table_html(table: pd.DataFrame, verdict_col: str | None = None,
                group_col: str | None = None, colours: Mapping[str, str] | None = None,
                variant_col: str | None = None) -> str:
    rows, previous = [], None
    for record in table.to_dict("records"):
        starts = group_col is not None and record[group_col] != previous
        previous = record.get(group_col) if group_col else None
        cells = []
        for col, value in record.items():
            css, chip = "", ""
            if col == verdict_col:
                css = f' class="{_esc(record.get("_verdict", str(value)).split()[0])}"'
            if col == variant_col and colours is not None:
                chip = _chip(colours.get(record.get("_variant", value), "#000"))
            if col.startswith("_"):
                continue
            cells.append(f"<td{css}>{chip}{_esc(value)}</td>")
        row_class = ' class="metric-start"' if starts else ""
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    head = "".join(f"<th>{_esc(c)}</th>" for c in table.columns if not c.startswith("_"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _comparison_html(comparison: pd.DataFrame, lang: str, colours: Mapping[str, str]) -> str:
    shown = display_table(comparison, lang)
    variant_col, verdict_col, metric_col = shown.columns[2 + ("group" in comparison)], \
        shown.columns[-1], shown.columns[0 + ("group" in comparison)]
    shown[variant_col] = [display_name(v) for v in comparison["variant"]]
    shown["_variant"] = comparison["variant"].to_numpy()
    shown["_verdict"] = comparison["verdict"].to_numpy()
    return _table_html(shown, verdict_col=verdict_col, group_col=metric_col, colours=colours,
                       variant_col=variant_col)


def _is_flat(part: pd.DataFrame) -> bool:
    others = part[~part["is_baseline"]]
    return len(others) > 0 and (others["verdict"] == IDENTICAL).all()


def _details_html(comparison: pd.DataFrame, lang: str, colours: Mapping[str, str]) -> str:
    text = TEXT[lang]
    out = [f"<h3>{_esc(text['outcomes'])}</h3>"]
    flat_metrics = [m for m, part in comparison.groupby("metric", sort=False)
                    if _is_flat(part)]
    for group in metrics_meta.GROUPS[:-1]:
        metrics = sorted((m for m in dict.fromkeys(comparison["metric"])
                          if metrics_meta.meta(m).group == group and m not in flat_metrics),
                         key=metrics_meta.order)
        if metrics:
            part = comparison[comparison["metric"].isin(metrics)]
            part = part.iloc[part["metric"].map(metrics.index).argsort(kind="stable")]
            out.append(f"<h4>{_esc(metrics_meta.group_name(group, lang).capitalize())}</h4>")
            out.append(_comparison_html(part, lang, colours))
    flat = comparison[comparison["metric"].isin(flat_metrics)
                      & comparison["metric"].map(metrics_meta.is_outcome)]
    if len(flat):
        out.append(f"<details><summary>{_esc(text['flat'].format(n=flat['metric'].nunique()))}"
                   f"</summary>{_comparison_html(flat, lang, colours)}</details>")
    books = comparison[~comparison["metric"].map(metrics_meta.is_outcome)]
    if len(books):
        out.append(f"<details><summary>{_esc(text['bookkeeping'])}</summary>"
                   f"{_comparison_html(books, lang, colours)}</details>")
    return "".join(out)


def _breakdown_html(table: pd.DataFrame, by: str, lang: str,
                    colours: Mapping[str, str]) -> str:
    text = TEXT[lang]
    by_name = BY_NAMES_ZH.get(by, by) if lang == "zh" else by
    groups = list(dict.fromkeys(table["group"]))
    moved = table[table["verdict"].isin(["better", "worse", "higher", "lower"])]
    changed = [g for g in groups if g in set(moved["group"])]
    parts = [f"<h3>{_esc(text['breakdown'].format(by=by_name))}</h3>"]
    if changed:
        parts.append(f"<p>{_esc(text['changed_groups'].format(n=len(changed), total=len(groups)))}"
                     "</p>")
        keep = table[table["group"].isin(changed) & (table["metric"].isin(moved["metric"]))]
        parts.append(_comparison_html(keep, lang, colours))
    else:
        parts.append(f"<p>{_esc(text['no_changed_groups'].format(total=len(groups)))}</p>")
    parts.append(f"<details><summary>{_esc(text['all_groups'])}</summary>"
                 f"{_comparison_html(table, lang, colours)}</details>")
    return "".join(parts)


def _inventory(sweep: Path, runs: pd.DataFrame, lang: str) -> str:
    text = TEXT[lang]
    per_variant = (runs.groupby("variant", sort=False)["seed"]
                   .agg(runs="size", seeds=lambda s: ", ".join(map(str, sorted(s.dropna())))))
    per_variant = per_variant.reindex(variant_order(runs)).reset_index()
    per_variant.columns = [text["variant"], text["runs_col"], text["seeds_col"]]
    incomplete = unfinished_jobs(sweep)
    note = (f"<p class='note'>{_esc(text['skipped'].format(n=len(incomplete), jobs=', '.join(incomplete)))}</p>"  # noqa: E501
            if incomplete else f"<p class='note'>{_esc(text['all_done'])}</p>")
    return _table_html(per_variant) + note


def _common_html(runs: pd.DataFrame, lang: str = "en") -> str:
    line = common_settings_line(runs)
    if not line:
        return ""
    if lang == "zh":
        line = line.replace("Common to all runs:", "所有运行的共同设置：").rstrip(".") + "。"
    # The markdown backticks become <code> so the settings read as literal overrides.
    parts = _esc(line).split("`")
    text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    return f"<p class='note'>{text}</p>"


def _figures_html(figdir: Path, lang: str) -> str:
    text = TEXT[lang]
    parts = []
    for png in sorted(figdir.glob("*.png")):
        if png.stem.startswith("brief_"):
            continue  # drawn into the brief already
        caption = text["captions"].get(png.stem)
        if caption is None and png.stem.startswith("metric_vs_"):
            caption = text["metric_vs"].format(param=png.stem.removeprefix("metric_vs_"))
        parts.append(f"<figure>{_img(png.read_bytes(), png.stem)}"
                     f"<figcaption>{_esc(caption or png.stem.replace('_', ' '))}</figcaption>"
                     "</figure>")
    return "".join(parts) or "<p class='note'>No figures could be drawn from this sweep.</p>"


def _figures_stale(sweep: Path) -> bool:
    pngs = [p for p in (sweep / FIGURES_DIR).glob("*.png") if not p.stem.startswith("brief_")]
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


def _map_level(runs: pd.DataFrame, sweep: Path) -> str:
    from experiments.analysis.breakdown import run_context
    context = run_context(sweep, runs["job"].astype(str))
    grids = {c["grids"] for c in context.values()}
    return "grid" if len(grids) == 1 and None not in grids else "community"


def build_report(sweep_dir: str | Path, baseline: str | None = None,
                 metrics: Sequence[str] | None = None, replot: bool = False,
                 log=print, lang: str = "en", by: Sequence[str] | None = None,
                 margins: Mapping[str, float | str] | None = None, use_holm: bool = False,
                 ci: str = "t") -> Path:
    """Compare, (re)draw figures when needed, and write the report; return its path."""
    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    for key in by or ():
        if key not in BY_CHOICES:
            raise InputError(f"--by must be one of {', '.join(BY_CHOICES)}, got {key!r}")
    check_ci_flags(ci, use_holm)  # before collecting writes anything
    text = TEXT[lang]
    sweep = require_dir(sweep_dir)
    if ci == "bca":  # enough seeds? also before anything is written
        check_bca_seeds(common_seed_runs(runs_without_writing(sweep), lambda _: None), ci)
    runs = common_seed_runs(load_runs(sweep, log=log).astype({"variant": str}), log)
    variants = variant_order(runs)
    if baseline is None:
        baseline = _previous_baseline(sweep)
        if baseline is not None and baseline not in variants:
            baseline = None
    if baseline is None:
        baseline = default_baseline(variants)
    comparison = compare_runs(runs, baseline, metrics, 0.95, margins, ci, use_holm)
    base = comparison.loc[comparison["is_baseline"], "variant"].iloc[0]
    others = [v for v in variants if v != base]
    colours = variant_colours(variants, base)
    write_text(sweep / REPORT_CSV, comparison.to_csv(index=False))
    if (sweep / COMPARISON_CSV).exists():
        log(f"note: {COMPARISON_CSV} (from compare) is left as it is; the report's numbers "
            f"are in {REPORT_CSV}")
    if replot or _figures_stale(sweep):
        plot_sweep(sweep, log=log, baseline=base)
    figdir = sweep / FIGURES_DIR
    figdir.mkdir(exist_ok=True)

    # --- the brief
    key = [m for m in metrics_meta.KEY_METRICS if m in set(comparison["metric"])]
    sentences = brief.headlines(comparison, lang)
    brief_parts = ["<ul>" + "".join(f"<li>{_chip(colours[v])}{_esc(s)}</li>"
                                    for v, s in zip(others, sentences, strict=False)) + "</ul>"]
    if key and others:
        _, png = plot_forest(comparison, key, figdir, lang, colours, stem=f"brief_forest_{lang}")
        brief_parts.append(f"<figure>{_img(png, 'forest')}<figcaption>{_esc(text['forest'])}"
                           "</figcaption></figure>")
    district = load_district_map(sweep, runs)
    level = _map_level(runs, sweep)
    breakdowns: dict[str, pd.DataFrame] = {}
    wanted = list(by) if by else ["priority"]
    if not isinstance(district, str) and level not in wanted:
        wanted.append(level)
    for key_by in wanted:
        try:
            table = compare_breakdown(sweep, runs, base, key_by, None, 0.95, margins, ci,
                                      use_holm)
        except InputError as exc:
            log(f"skip breakdown by {key_by}: {exc}")
            continue
        breakdowns[key_by] = table
        write_text(sweep / f"report_comparison_by_{key_by}.csv", table.to_csv(index=False))
    if isinstance(district, str):
        brief_parts.append(f"<p class='note'>{_esc(text['no_map'].format(why=district))}</p>")
        log(f"no map in the brief: {district}")
    elif level in breakdowns and others:
        _, png = plot_change_map(breakdowns[level], district, MAP_METRICS, figdir, lang,
                                 stem=f"brief_map_{lang}")
        by_name = BY_NAMES_ZH.get(level, level) if lang == "zh" else level
        brief_parts.append(f"<figure>{_img(png, 'map')}<figcaption>"
                           f"{_esc(text['map'].format(by=by_name))}</figcaption></figure>")

    # --- the details
    details = [_details_html(comparison, lang, colours)]
    details += [_breakdown_html(t, k, lang, colours) for k, t in breakdowns.items()]
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    commits = sorted(set(runs["git_commit"].dropna().astype(str)) - {""})
    seeds = runs.groupby("variant")["seed"].nunique()
    generated = text["generated"].format(stamp=stamp, n=len(runs),
                                         seeds=f"{seeds.min()}" if seeds.min() == seeds.max()
                                         else f"{seeds.min()}-{seeds.max()}",
                                         commits=", ".join(commits) or "unknown")
    note = method_note(0.95, ci, use_holm, lang)
    doc = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{_esc(text['title'])}: {_esc(sweep.name)}</title><style>{_CSS}</style></head><body>
<h1>{_esc(brief.question(base, others, lang) if others else text['title'])}</h1>
<p class="note">{_esc(text['title'])}: <code>{_esc(sweep)}</code>. {_esc(generated)}</p>
{_common_html(runs, lang)}
<section class="brief"><h2>{_esc(text['brief'])}</h2>{''.join(brief_parts)}</section>
<h2>{_esc(text['details'])}</h2>
<p class="note">{_esc(text['baseline_is'].format(base=display_name(base)))}
{_esc(note).replace('*', '')}</p>
{''.join(details)}
<h2>{_esc(text['figures'])}</h2>{_figures_html(figdir, lang)}
<h2>{_esc(text['runs'])}</h2>{_inventory(sweep, runs, lang)}
</body></html>
"""
    name = REPORT_FILE if lang == "en" else f"report.{lang}.html"
    return write_text(sweep / name, doc)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.report",
                                     description="Write a self-contained HTML report of a "
                                     "sweep, opening with a one-page brief.")
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory")
    parser.add_argument("--baseline", help="baseline variant label (default: the one used by "
                        "the last compare, else a variant named baseline, else the first)")
    parser.add_argument("--lang", choices=LANGS, default="en",
                        help="language of the report (zh writes report.zh.html)")
    parser.add_argument("--by", action="append", choices=BY_CHOICES,
                        help="breakdowns to include (repeatable; default priority, and the "
                        "map's level when the runs have a district.geojson)")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC", help="metrics to tabulate")
    parser.add_argument("--margin", action="append", metavar="METRIC=VALUE",
                        help="margin for a metric, as in compare")
    parser.add_argument("--holm", action="store_true", help="Holm-adjusted verdicts")
    parser.add_argument("--replot", action="store_true", help="redraw figures even if current")
    args = parser.parse_args(argv)
    metrics = [m for v in args.metrics for m in v.split(",") if m] if args.metrics else None
    try:
        path = build_report(args.sweep_dir, args.baseline, metrics, args.replot,
                            lang=args.lang, by=args.by, margins=parse_margins(args.margin),
                            use_holm=args.holm)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
