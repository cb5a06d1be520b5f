"""Compare the variants of a sweep against a baseline, metric by metric.

``python -m experiments.compare <sweep dir> --baseline policy=baseline [--metrics ...]
[--margin METRIC=VALUE ...] [--holm] [--ci t|bca] [--by grid|street|community|hour|weekday|
priority|category]``

For each metric and variant: the mean over seeds with a confidence interval kept inside the
metric's range (a share's in [0, 1], a time's or count's above 0), and the difference from the
baseline paired by seed (common random numbers), read against 0 and against the metric's
margin: better, worse, equivalent, non-inferior, inconclusive, or identical in every pair.
The statistics, the margins and what each verdict means are in
``experiments/analysis/inference.py`` and ``metrics_meta.py``. If fewer than two seeds are
shared, a Welch (unpaired) interval is used and the ``method`` column says so.

A variant that lacks a seed some other variant has (a crashed or unfinished job) is named in a
warning, and the comparison keeps only the seeds every variant has, so that each mean and each
difference are over the same seeds (otherwise a mean over 3 seeds beside one over 2 could
differ while the paired difference is 0).

``--margin time_to_settle_p90_days=0.5`` sets a margin in the metric's unit,
``--margin annual_staffing_cost_yuan=2%`` one relative to the baseline mean. ``--holm`` reads
the verdicts from Holm-adjusted p values across the outcome metrics of each variant
(bookkeeping metrics, context, keep unadjusted verdicts; without it,
expect about 1 in 20 spurious "better"/"worse" at 95 % among metrics that do not change).

Writes ``comparison.csv`` (long, raw numbers) and ``comparison.md`` into the sweep dir; with
``--by KEY``, ``comparison_by_KEY.csv`` and ``.md`` instead: the same comparison within each
grid, street, community, hour, weekday, priority or category (see ``breakdown.py``).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from experiments.analysis import metrics_meta
from experiments.analysis.breakdown import BY_CHOICES, group_metrics  # noqa: F401
from experiments.analysis.collect import (
    InputError,
    common_settings_line,
    constant_overrides,
    load_runs,
    metric_columns,
    parse_override,
    require_dir,
    variant_order,
)
from experiments.analysis.inference import (  # noqa: F401  (re-exported for callers)
    BASELINE,
    BETTER,
    CI_METHODS,
    EQUIVALENT,
    HIGHER,
    IDENTICAL,
    INCONCLUSIVE,
    INSUFFICIENT,
    LOWER,
    NON_INFERIOR,
    WORSE,
    holm,
    mean_ci,
    paired_difference,
    paired_test,
    verdict,
    verdict_from_p,
)
from sim.output import write_text

COMPARISON_CSV = "comparison.csv"
COMPARISON_MD = "comparison.md"


def breakdown_files(by: str) -> tuple[str, str]:
    """The csv and md file names of ``compare --by <by>``."""
    return f"comparison_by_{by}.csv", f"comparison_by_{by}.md"


# --------------------------------------------------------------------------- variants


def _override_set(label: str) -> frozenset[str]:
    return frozenset(f"{k}={v}" for k, v in (parse_override(p) for p in label.split(",") if p))


def resolve_variant(label: str, variants: Sequence[str], common: Sequence[str] = ()) -> str:
    """Find the variant meant by ``label``.

    Accepts the exact variant string, the same overrides in another order, or a subset of
    overrides that singles out one variant (``policy=baseline`` for
    ``policy=baseline,scenario.grids.count=30``). Overrides in ``common`` (shared by every
    run, hence absent from the labels) are ignored, so ``policy=baseline`` still names the
    only variant of a sweep in which every run has it. Raises InputError otherwise.
    """
    if label in variants:
        return label
    wanted = _override_set(label) - _override_set(",".join(common))
    if not wanted and len(variants) == 1:
        return variants[0]
    same = [v for v in variants if _override_set(v) == wanted]
    if len(same) == 1:
        return same[0]
    supersets = [v for v in variants if wanted <= _override_set(v)]
    if len(supersets) == 1:
        return supersets[0]
    listing = "\n  ".join(variants)
    problem = "is ambiguous" if supersets else "matches no variant"
    raise InputError(f"baseline '{label}' {problem}; variants in this sweep:\n  {listing}")


def default_baseline(variants: Sequence[str]) -> str:
    """Pick a baseline when none is given: the one variant with an override value
    ``baseline``, else the first variant of the sweep."""
    marked = [v for v in variants if any(parse_override(p)[1] == "baseline"
                                         for p in v.split(","))]
    return marked[0] if len(marked) == 1 else variants[0]


# --------------------------------------------------------------------------- comparison


def _by_seed(per_seed: pd.DataFrame, variant: str, metric: str) -> pd.Series:
    # A variant whose runs all lack a seed has no rows here; it then has nothing to pair.
    if variant not in per_seed.index.get_level_values("variant"):
        return pd.Series(dtype=float)
    return per_seed.loc[variant, metric]


def same_in_every_run(*values: pd.Series) -> bool:
    """Whether a metric took one value in every run given (missing values aside): then no
    comparison of those runs could have shown an effect, e.g. a rare event that never
    happened."""
    present = pd.concat(values).dropna()
    return len(present) > 0 and present.nunique() == 1


def common_seed_runs(runs: pd.DataFrame, log=print) -> pd.DataFrame:
    """The runs of the seeds every variant has, after a warning naming each variant that
    lacks some seed and the seeds left out. With fewer than two seeds in common, every run
    is kept (the differences are then unpaired: Welch) and the warning says so."""
    seeds = {v: set(runs.loc[runs["variant"].astype(str) == v, "seed"].dropna())
             for v in variant_order(runs)}
    every = set().union(*seeds.values())
    common = set.intersection(*seeds.values()) if seeds else set()
    if common == every:
        return runs
    for variant, have in seeds.items():
        if every - have:
            log(f"warning: {variant} has no finished run for seed(s) "
                f"{_seed_list(every - have)}")
    if len(common) < 2:
        log("warning: fewer than 2 seeds common to every variant; comparing all runs "
            "unpaired (Welch)")
        return runs
    log(f"warning: comparing on the {len(common)} seeds every variant has; the runs of "
        f"seed(s) {_seed_list(every - common)} are left out of means and differences alike")
    return runs[runs["seed"].isin(common)].reset_index(drop=True)


def _seed_list(seeds) -> str:
    return ", ".join(str(int(s)) if float(s).is_integer() else str(s) for s in sorted(seeds))


def parse_margins(items: Sequence[str] | None) -> dict[str, float | str]:
    """``["a=0.5", "b=2%,c=1"]`` -> ``{"a": 0.5, "b": "2%", "c": 1.0}``; InputError if bad."""
    out: dict[str, float | str] = {}
    for item in items or ():
        for part in (p for p in str(item).split(",") if p.strip()):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise InputError(f"--margin: expected METRIC=VALUE (e.g. "
                                 f"time_to_settle_p90_days=0.5 or annual_staffing_cost_yuan=2%),"
                                 f" got {part!r}")
            try:
                out[name.strip()] = metrics_meta.parse_margin(value)
            except ValueError:
                raise InputError(f"--margin {name.strip()}: must be a non-negative number or "
                                 f"percentage, got {value!r}") from None
    return out


def _margin_spec(metric: str, margins: Mapping[str, float | str] | None):
    if margins and metric in margins:
        return margins[metric]
    return metrics_meta.default_margin(metric)


def check_ci_flags(ci: str, use_holm: bool) -> None:
    """InputError for an unknown --ci or one --holm cannot read."""
    if ci not in CI_METHODS:
        raise InputError(f"--ci must be one of {', '.join(CI_METHODS)}, got {ci!r}")
    if use_holm and ci != "t":
        raise InputError("--holm reads t-test p values; it cannot be combined with --ci bca")


BCA_MIN_SEEDS = 10


def check_bca_seeds(runs: pd.DataFrame, ci: str, baseline: str | None = None) -> None:
    """InputError when ``--ci bca`` would compare fewer than BCA_MIN_SEEDS paired seeds.

    At few seeds the BCa interval is far too narrow (at 2 seeds it is [min, max]): on null
    paired differences (300 trials; ``python -m benchmarks.analysis_nulls``) BCa called
    better/worse in 52 % of trials at 2 seeds, 26 % at 3, 18 % at 5 and 13 % at 8, where t
    called 3-7 %.  The count is the seeds the baseline shares with each variant
    (every variant's seeds in common when no baseline is given); the fewest counts."""
    if ci != "bca":
        return
    seeds = {str(v): set(part["seed"].dropna())
             for v, part in runs.groupby(runs["variant"].astype(str), sort=False)}
    if not seeds:
        return
    if baseline is not None and baseline in seeds:
        pairs = min((len(seeds[baseline] & s) for v, s in seeds.items() if v != baseline),
                    default=len(seeds[baseline]))
    else:
        pairs = len(set.intersection(*seeds.values()))
    if pairs < BCA_MIN_SEEDS:
        raise InputError(f"--ci bca needs at least {BCA_MIN_SEEDS} paired seeds per "
                         f"comparison, this sweep has {pairs} (at few seeds BCa calls far too "
                         f"many differences); use --ci t (the default) or add seeds")


def runs_without_writing(sweep: Path) -> pd.DataFrame:
    """The sweep's runs, read without (re)writing runs.parquet."""
    from experiments.analysis import collect as _collect

    if _collect._runs_is_stale(sweep):
        return _collect.collect(sweep, write=False, tables=()).runs
    return load_runs(sweep)


def _seeds_with_value(per_seed: pd.DataFrame, variant: str, metric: str) -> frozenset:
    return frozenset(_by_seed(per_seed, variant, metric).dropna().index)


def metric_seeds(have: Mapping[str, frozenset], base: str) -> frozenset | None:
    """The seeds one metric is compared on when some variant lacks a value in a seed another
    has (e.g. a P1 percentile in a run with no P1 call): those where the baseline and every
    variant with any value have one, so means and paired differences use the same seeds.
    None when nothing is missing (or fewer than 2 such seeds): every run is used."""
    present = [s for s in have.values() if s]
    if not have.get(base) or all(s == have[base] for s in present):
        return None
    common = frozenset.intersection(*present)
    return common if len(common) >= 2 else None


def missing_note(have: Mapping[str, frozenset], variant: str, base: str,
                 kept: frozenset | None) -> str:
    """Why this row's means leave seeds out ('' when no variant lacks a value)."""
    present = [s for s in have.values() if s]
    if not have.get(variant) or all(s == have[base] for s in present):
        return ""
    every = frozenset().union(*present)
    own = every - have[variant]
    text = f"no value in seed(s) {_seed_list(own)}" if own else "a value in every seed"
    if kept is not None:
        return (text + f"; means and difference over seed(s) {_seed_list(kept)}, where "
                "every variant has a value")
    return text + ("; fewer than 2 seeds where every variant has a value: means over each "
                   "variant's own runs")


def compare_runs(runs: pd.DataFrame, baseline: str, metrics: Sequence[str] | None = None,
                 level: float = 0.95, margins: Mapping[str, float | str] | None = None,
                 ci: str = "t", use_holm: bool = False) -> pd.DataFrame:
    """Long comparison table: one row per (metric, variant), baseline rows included.

    ``baseline`` may be any label accepted by :func:`resolve_variant`; ``margins`` override
    the default margin of some metrics (a number in the metric's unit or "5%").
    """
    check_ci_flags(ci, use_holm)
    variants = variant_order(runs)
    base = resolve_variant(baseline, variants, constant_overrides(runs))
    check_bca_seeds(runs, ci, base)
    available = metric_columns(runs)
    if metrics is None:
        metrics = available
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise InputError(f"unknown metric(s) {unknown}; available: {', '.join(available)}")
    unknown = [m for m in (margins or {}) if m not in available]
    if unknown:
        raise InputError(f"--margin for unknown metric(s) {unknown}; available: "
                         f"{', '.join(available)}")
    ordered = [base] + [v for v in variants if v != base]
    # Duplicate (variant, seed) runs are averaged so each seed is one pairing unit.
    per_seed = (runs.dropna(subset=["seed"]).astype({"variant": str})
                .groupby(["variant", "seed"])[list(metrics)].mean())
    by_variant = {str(v): part for v, part in runs.groupby(runs["variant"].astype(str),
                                                            sort=False)}
    empty = runs.iloc[0:0]
    rows = []
    for metric in metrics:
        meta = metrics_meta.meta(metric)
        bounds = meta.range
        span = bounds[1] - bounds[0]
        # A metric missing in some seeds of some variant (NaN): means and differences over
        # the seeds where every variant has a value, so they agree.
        have = {v: _seeds_with_value(per_seed, v, metric) for v in ordered}
        kept = metric_seeds(have, base)
        # BCa's floor holds per metric: one compared on fewer seeds gets the t interval.
        metric_ci = "t" if ci == "bca" and kept is not None and len(kept) < BCA_MIN_SEEDS \
            else ci

        def used(frame: pd.DataFrame, kept=kept) -> pd.DataFrame:
            return frame if kept is None else frame[frame["seed"].isin(kept)]
        base_by_seed = _by_seed(per_seed, base, metric)
        if kept is not None:
            base_by_seed = base_by_seed[base_by_seed.index.isin(kept)]
        spec = _margin_spec(metric, margins)
        margin = metrics_meta.resolve_margin(spec, float(base_by_seed.mean())
                                             if len(base_by_seed.dropna()) else math.nan)
        base_values = by_variant.get(base, empty)[metric]
        for variant in ordered:
            values = by_variant.get(variant, empty)[metric]
            n, mean, lo, hi = mean_ci(used(by_variant.get(variant, empty))[metric], level,
                                      bounds, metric_ci)
            note = missing_note(have, variant, base, kept)
            if note and metric_ci != ci:
                note += f"; t interval (BCa needs {BCA_MIN_SEEDS} paired seeds)"
            row = {
                "metric": metric, "label": metrics_meta.label(metric),
                "direction": meta.direction, "kind": meta.kind, "unit": meta.unit,
                "variant": variant, "is_baseline": variant == base, "n": n, "mean": mean,
                "ci_low": lo, "ci_high": hi, "margin": margin,
                "margin_spec": "" if spec is None else str(spec),
                "same_in_every_run": same_in_every_run(values, base_values),
                "missing": note,
            }
            if variant == base:
                row.update(diff=0.0, diff_ci_low=math.nan, diff_ci_high=math.nan,
                           n_pairs=n, method="", ci=metric_ci, p_diff=math.nan,
                           p_noninferior=math.nan, p_equivalent=math.nan,
                           within_margin=math.nan, verdict=BASELINE)
            else:
                by_seed = _by_seed(per_seed, variant, metric)
                if kept is not None:
                    by_seed = by_seed[by_seed.index.isin(kept)]
                d = paired_test(by_seed, base_by_seed, level, margin, meta.direction, metric_ci,
                                span)
                # Never "identical in every pair" when the two differ in which seeds have a
                # value: a seed one lacks is a difference the pairs cannot show.
                d.identical = d.identical and have[variant] == have[base]
                inside = (not math.isnan(margin) and not math.isnan(d.low)
                          and -margin < d.low and d.high < margin)
                row.update(diff=d.diff, diff_ci_low=d.low, diff_ci_high=d.high,
                           n_pairs=d.n_pairs, method=d.method, ci=d.ci, p_diff=d.p_diff,
                           p_noninferior=d.p_noninferior, p_equivalent=d.p_equivalent,
                           within_margin=inside,
                           verdict=verdict(metric, d.low, d.high, margin, d.identical),
                           _identical=d.identical)
            rows.append(row)
    table = pd.DataFrame(rows)
    if use_holm:
        table = apply_holm(table, level)
    if not table["missing"].astype(bool).any():
        table = table.drop(columns=["missing"])   # nothing missing: the usual columns
    return table.drop(columns=["_identical"], errors="ignore")


def missing_notes(comparison: pd.DataFrame) -> list[str]:
    """One line per row whose metric is missing in some runs (see :func:`missing_note`)."""
    if "missing" not in comparison.columns:
        return []
    rows = comparison[comparison["missing"].fillna("").astype(bool)]
    return [f"{r.metric}, {r.variant}: {r.missing}" for r in rows.itertuples()]


def apply_holm(table: pd.DataFrame, level: float = 0.95,
               family: Sequence[str] = ("variant",)) -> pd.DataFrame:
    """Holm-adjust the p values within each ``family`` (default: per variant, across the
    metrics) and read the verdicts from the adjusted values.  A metric identical in every pair
    (or without enough pairs) is no test at all, so it is not counted in the family; nor are
    bookkeeping metrics (volumes, utilisation: the context of an answer, not hypotheses a
    briefing rests on), whose verdicts stay unadjusted.  With them a sweep's 49 tests held 22
    of context, and a p of 0.013 on time to settle became 0.48."""
    table = table.copy()
    rows = ~table["is_baseline"]
    context = table["metric"].map(lambda m: metrics_meta.meta(m).group == "bookkeeping")
    tested = ~table["verdict"].isin([IDENTICAL, INSUFFICIENT]) & ~context.astype(bool)
    for column in ("p_diff", "p_noninferior", "p_equivalent"):
        table[f"{column}_holm"] = math.nan
        for _, part in table[rows].groupby(list(family), sort=False, observed=True):
            p = part[column].where(tested.loc[part.index]).to_numpy(float)
            table.loc[part.index, f"{column}_holm"] = holm(p)
    identical = table.get("_identical", pd.Series(False, index=table.index)).fillna(False)
    for i in table.index[rows]:
        r = table.loc[i]
        if not tested.loc[i]:
            continue
        table.loc[i, "verdict"] = verdict_from_p(r["metric"], r["diff"], r["p_diff_holm"],
                                                 r["p_noninferior_holm"], r["p_equivalent_holm"],
                                                 level, bool(identical.loc[i]))
    return table


def _group_margins(by: str, group, available: Sequence[str],
                   margins: Mapping[str, float | str] | None):
    """Within one priority, response times take that priority's own margins, as the run-level
    comparison does (P1's p90 half a minute, P2's and P3's a minute), unless set."""
    out = dict(margins or {})
    if by == "priority":
        for metric in ("response_p50_min", "response_p90_min"):
            own = f"{metric}_p{group}"
            if metric in available and metric not in out and own in metrics_meta.KNOWN_METRICS:
                out[metric] = _margin_spec(own, margins)
    return out or None


def compare_breakdown(sweep: Path, runs: pd.DataFrame, baseline: str, by: str,
                      metrics: Sequence[str] | None = None, level: float = 0.95,
                      margins: Mapping[str, float | str] | None = None, ci: str = "t",
                      use_holm: bool = False) -> pd.DataFrame:
    """The comparison within each group of ``by`` (a ``group`` column first).

    With ``use_holm`` the family is every (group, metric) of a variant.
    """
    per_group = group_metrics(sweep, runs, by)
    available = [c for c in per_group.columns if c not in ("variant", "seed", "job", "group")]
    if metrics is not None:
        unknown = [m for m in metrics if m not in available]
        if unknown:
            raise InputError(f"--by {by}: metric(s) {unknown} are not broken down; "
                             f"available: {', '.join(available)}")
        available = list(metrics)
    # Every variant of the sweep, in sweep order, even one with no record in a group.
    order = pd.Categorical(per_group["variant"], categories=variant_order(runs), ordered=True)
    per_group = per_group.assign(variant=order)
    base = resolve_variant(baseline, variant_order(runs), constant_overrides(runs))
    parts = []
    for group, part in per_group.groupby("group", sort=True, observed=True):
        frame = part[["variant", "seed", *available]].astype({"variant": str})
        frame = frame.astype({m: "float64" for m in available})
        table = compare_runs(frame, base, available, level,
                             _group_margins(by, group, available, margins), ci)
        parts.append(table.assign(group=group, by=by))
    result = pd.concat(parts, ignore_index=True)
    if use_holm:
        result = apply_holm(result, level)
    first = ["by", "group"]
    return result[first + [c for c in result.columns if c not in first]]


# --------------------------------------------------------------------------- formatting


def fmt_number(x: float) -> str:
    """Compact number formatting for tables (thousands separators for large values)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _fmt_ci(metric: str, mid: float, lo: float, hi: float, signed: bool = False,
            lang: str = "en") -> str:
    def f(x):
        return metrics_meta.format_value(metric, x, lang, signed=signed)
    if math.isnan(lo):
        return f(mid)
    return f"{f(mid)} [{f(lo)}, {f(hi)}]"


def _margin_text(r, lang: str = "en") -> str:
    if r.margin is None or (isinstance(r.margin, float) and math.isnan(r.margin)):
        return "–"
    return "±" + metrics_meta.format_value(r.metric, r.margin, lang, signed=True).lstrip("+")


BY_NAMES_ZH = {"grid": "网格", "street": "街道", "community": "社区", "hour": "小时",
               "weekday": "星期", "priority": "警情等级", "category": "纠纷类别"}


def display_table(comparison: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Readable comparison (strings): labels with units, shares as percentages."""
    zh = lang == "zh"
    head = {"metric": "指标", "better": "方向", "variant": "方案", "n": "种子数",
            "mean": "均值 [95% 区间]", "diff": "与基线之差 [95% 区间]", "margin": "容差",
            "pairs": "配对", "verdict": "结论"} if zh else \
        {"metric": "metric", "better": "better if", "variant": "variant", "n": "n",
         "mean": "mean [CI]", "diff": "Δ vs baseline [CI]", "margin": "margin",
         "pairs": "pairs", "verdict": "verdict"}
    out = {}
    if "group" in comparison.columns:
        by = comparison["by"].iloc[0] if len(comparison) else "group"
        out[BY_NAMES_ZH.get(by, by) if zh else by] = comparison["group"].astype(str)
    rows = list(comparison.itertuples())
    out.update({
        head["metric"]: [metrics_meta.label(r.metric, lang) for r in rows],
        head["better"]: [{1: "↑", -1: "↓"}.get(r.direction, "·") for r in rows],
        head["variant"]: comparison["variant"].tolist(),
        head["n"]: comparison["n"].astype(int).tolist(),
        head["mean"]: [_fmt_ci(r.metric, r.mean, r.ci_low, r.ci_high, lang=lang) for r in rows],
        head["diff"]: ["" if r.is_baseline else _fmt_ci(r.metric, r.diff, r.diff_ci_low,
                                                          r.diff_ci_high, True, lang)
                       for r in rows],
        head["margin"]: [_margin_text(r, lang) for r in rows],
        # Paired: how many pairs; otherwise no interval could be formed ("–").
        head["pairs"]: [str(r.n_pairs) if r.method == "paired" else
                        ("–" if not r.is_baseline else "") for r in rows],
        head["verdict"]: [verdict_text(r.verdict, lang) for r in rows],
    })
    return pd.DataFrame(out)


VERDICT_ZH = {BETTER: "更好", WORSE: "更差", HIGHER: "更高", LOWER: "更低", EQUIVALENT: "等效",
              NON_INFERIOR: "不劣于基线", INCONCLUSIVE: "尚无定论", IDENTICAL: "每对完全相同",
              INSUFFICIENT: "数据不足", BASELINE: "基线"}


def verdict_text(v: str, lang: str = "en") -> str:
    """The verdict in the report's language."""
    return VERDICT_ZH.get(v, v) if lang == "zh" else v


def to_markdown(table: pd.DataFrame) -> str:
    """Render a DataFrame of strings as a GitHub-flavoured Markdown table."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|")
    header = "| " + " | ".join(cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def method_note(level: float, ci: str = "t", use_holm: bool = False, lang: str = "en") -> str:
    """One paragraph: how the intervals and verdicts were made."""
    pct = f"{level:.0%}"
    if lang == "zh":
        return _method_note_zh(pct, ci, use_holm)
    how = ("Student-t intervals, kept inside each metric's range" if ci == "t"
           else "BCa bootstrap intervals (9,999 resamples)")
    return (f"Means with {pct} {how}; differences are variant − baseline, paired by seed "
            "(common random numbers). The difference's interval is read against 0 and the "
            "metric's margin: *better*/*worse* (↑ higher is better, ↓ lower is better; neutral "
            "metrics *higher*/*lower*) when it excludes 0, *equivalent* when it lies inside "
            "±margin, *non-inferior* when it rules out harm of a margin or more, "
            "*inconclusive* otherwise; *identical in every pair* when every paired difference "
            "is exactly 0. "
            + ("Verdicts use Holm-adjusted p values across the outcome metrics of each "
               "variant (bookkeeping metrics are context, unadjusted); the intervals shown are "
               "unadjusted." if use_holm else
               "Not adjusted for multiple comparisons (add --holm)."))


def _method_note_zh(pct: str, ci: str, use_holm: bool) -> str:
    v = {k: f"*{w}*" for k, w in VERDICT_ZH.items()}
    how = ("Student t 区间，限制在各指标的取值范围之内" if ci == "t"
           else "BCa 自助法，9,999 次重抽样")
    return "".join([
        f"均值附 {pct} 置信区间（{how}）；",
        "差值为方案减基线，按种子配对（共同随机数）。",
        "差值的区间与 0 及该指标的容差比较：",
        f"区间不含 0 时为{v[BETTER]}/{v[WORSE]}",
        f"（↑ 越高越好，↓ 越低越好；中性指标为{v[HIGHER]}/{v[LOWER]}），",
        f"落在 ±容差之内时为{v[EQUIVALENT]}，",
        f"排除了达到容差的损害时为{v[NON_INFERIOR]}，否则为{v[INCONCLUSIVE]}；",
        f"每一对的差值都恰好为 0 时为{v[IDENTICAL]}。",
        ("结论依据每个方案各结果指标经 Holm 校正的 p 值（统计类指标仅作背景，不校正）；"
         "所示区间未经校正。")
        if use_holm
        else "未对多重比较作校正（可加 --holm）。"])


def comparison_markdown(comparison: pd.DataFrame, sweep_dir: Path, level: float,
                        common_line: str = "", ci: str = "t", use_holm: bool = False,
                        selection: str = "") -> str:
    """The full comparison.md document; ``common_line`` names the settings all runs share."""
    base = comparison.loc[comparison["is_baseline"], "variant"].iloc[0]
    by = comparison["by"].iloc[0] if "by" in comparison.columns and len(comparison) else ""
    title = f"Comparison by {by}" if by else "Comparison"
    return (
        f"# {title} for `{sweep_dir}`\n\n"
        + (f"{common_line}\n\n" if common_line else "")
        + (f"{selection}\n\n" if selection else "")
        + f"Baseline: `{base}`. {method_note(level, ci, use_holm)}\n\n"
        + to_markdown(display_table(comparison))
    )


def write_comparison(sweep_dir: Path, comparison: pd.DataFrame, level: float,
                     common_line: str = "", ci: str = "t", use_holm: bool = False,
                     selection: str = "", names: tuple[str, str] | None = None
                     ) -> list[Path]:
    """Write the comparison's csv and md atomically; return their paths."""
    csv_name, md_name = names or (COMPARISON_CSV, COMPARISON_MD)
    csv_path = write_text(sweep_dir / csv_name, comparison.to_csv(index=False))
    md_path = write_text(sweep_dir / md_name,
                         comparison_markdown(comparison, sweep_dir, level, common_line, ci,
                                             use_holm, selection))
    return [csv_path, md_path]


def selection_line(metrics: Sequence[str] | None, margins: Mapping | None) -> str:
    """What this comparison was restricted to or changed, for the document's header."""
    parts = []
    if metrics:
        parts.append("metrics: " + ", ".join(f"`{m}`" for m in metrics))
    if margins:
        parts.append("margins set: " + ", ".join(f"`{k}={v}`" for k, v in margins.items()))
    return ("Selection: " + "; ".join(parts) + ".") if parts else ""


def run_comparison(sweep_dir: str | Path, baseline: str | None = None,
                   metrics: Sequence[str] | None = None, level: float = 0.95,
                   recollect: bool = False, log=print,
                   margins: Mapping[str, float | str] | None = None, ci: str = "t",
                   use_holm: bool = False, by: str | None = None,
                   write: bool = True) -> pd.DataFrame:
    """Load (collecting if needed), compare, write outputs; return the comparison table."""
    if not 0.0 < level < 1.0:
        raise InputError(f"--level must be between 0 and 1, got {level}")
    if by is not None and by not in BY_CHOICES:
        raise InputError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")
    check_ci_flags(ci, use_holm)  # before collecting writes anything
    sweep = require_dir(sweep_dir)
    if ci == "bca":  # enough seeds? also before anything is written
        check_bca_seeds(common_seed_runs(runs_without_writing(sweep), lambda _: None), ci)
    seed_notes: list[str] = []

    def note(line: str) -> None:
        log(line)
        seed_notes.append(line.removeprefix("warning: "))
    runs = common_seed_runs(load_runs(sweep, recollect=recollect, log=log), note)
    if baseline is None:
        baseline = default_baseline(variant_order(runs))
        log(f"no --baseline given; using '{baseline}'")
    if by is None:
        comparison = compare_runs(runs, baseline, metrics, level, margins, ci, use_holm)
    else:
        comparison = compare_breakdown(sweep, runs, baseline, by, metrics, level, margins, ci,
                                       use_holm)
    for line in missing_notes(comparison):
        note(f"warning: {line}")
    common_line = common_settings_line(runs)
    if common_line:
        log(common_line.replace("`", ""))
    if write:
        names = breakdown_files(by) if by else None
        # The seed warnings go into the document too: it outlives the terminal.
        header = "\n\n".join(filter(None, [selection_line(metrics, margins),
                                             *(f"Warning: {n}." for n in seed_notes)]))
        for path in write_comparison(sweep, comparison, level, common_line, ci, use_holm,
                                     header, names):
            log(f"wrote {path}")
    return comparison


def _split_metrics(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [m for v in values for m in v.split(",") if m]


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.compare",
                                     description="Compare sweep variants against a baseline "
                                     "(paired by seed), with margins.")
    parser.add_argument("sweep_dir", help="Hydra multirun sweep directory")
    parser.add_argument("--baseline", help="baseline variant label, e.g. policy=baseline "
                        "(default: the variant with an override value 'baseline', else the "
                        "first variant)")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC",
                        help="metrics to compare (space- or comma-separated; default all)")
    parser.add_argument("--margin", action="append", metavar="METRIC=VALUE",
                        help="equivalence / non-inferiority margin in the metric's unit, or a "
                        "percentage of the baseline mean (e.g. time_to_settle_p90_days=0.5, "
                        "annual_staffing_cost_yuan=2%%); repeatable; defaults in "
                        "experiments/analysis/metrics_meta.py")
    parser.add_argument("--holm", action="store_true",
                        help="verdicts from Holm-adjusted p values across the outcome metrics "
                             "(bookkeeping metrics are context, left unadjusted)")
    parser.add_argument("--ci", choices=CI_METHODS, default="t",
                        help="interval method: t (default, kept in range) or bca (bootstrap)")
    parser.add_argument("--by", choices=BY_CHOICES,
                        help="compare within each grid, street, community, hour, weekday, "
                        "priority or category (writes comparison_by_<key>.csv/.md)")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level")
    parser.add_argument("--recollect", action="store_true",
                        help="rebuild runs.parquet even if it looks up to date")
    args = parser.parse_args(argv)
    try:
        comparison = run_comparison(args.sweep_dir, args.baseline, _split_metrics(args.metrics),
                                    args.level, args.recollect,
                                    margins=parse_margins(args.margin), ci=args.ci,
                                    use_holm=args.holm, by=args.by)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(to_markdown(display_table(comparison)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
