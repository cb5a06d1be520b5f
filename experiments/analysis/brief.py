"""The words of the report's one-page brief: the question and a sentence per variant.

A bureau head reads the brief, not the tables: what was compared, and for each variant what
it does to the key metrics (``metrics_meta.KEY_METRICS``), in the comparison's own verdicts:
"grids_50 cuts P1 p90 response by 0.56 min [0.25, 0.87]; mediation unaffected". Numbers are
magnitudes with their interval; "unaffected" means identical in every seed pair, not merely
"no detectable difference". A metric with one value in every run of both variants (a rare
event that never happened, a success rate at 100 % throughout) is identical in every pair too,
but those runs could not have shown an effect, so the brief says only what they show:
"violent turns: none in any run", "mediation success 100% in every run".
"""

from __future__ import annotations

import math

import pandas as pd

from experiments.analysis import metrics_meta
from experiments.analysis.inference import (
    BETTER,
    EQUIVALENT,
    HIGHER,
    IDENTICAL,
    INCONCLUSIVE,
    INSUFFICIENT,
    LOWER,
    NON_INFERIOR,
    WORSE,
)
from experiments.analysis.plot import display_name

TEXT = {
    "en": {
        "question": "What changes when {base} becomes {others}?",
        "and": " or ",
        "down": "cuts {m} by {x} [{lo}, {hi}]",
        "up": "raises {m} by {x} [{lo}, {hi}]",
        "small": " (within the ±{margin} margin)",
        "equivalent": "{m} unchanged within ±{margin} ({d})",
        "noninferior": "{m} no worse by {margin} or more ({d})",
        "inconclusive": "{m} inconclusive ({d}; more seeds needed)",
        "insufficient": "{m}: not enough data",
        "unaffected": "{g} unaffected",
        "unaffected_metric": "{m} unaffected",
        "never": "{m}: none in any run",
        "constant": "{m} {x} in every run",
        "missing": " (missing in some runs; over the seeds every variant has)",
        "sep": "; ", "subject": "{v} ", "none": "no key metric in this sweep",
    },
    "zh": {
        "question": "把 {base} 改为 {others}，会有什么变化？",
        "and": " 或 ",
        "down": "{m}降低 {x} [{lo}, {hi}]",
        "up": "{m}提高 {x} [{lo}, {hi}]",
        "down_time": "{m}缩短 {x} [{lo}, {hi}]",
        "up_time": "{m}延长 {x} [{lo}, {hi}]",
        "small": "（在 ±{margin} 容差之内）",
        "equivalent": "{m}不变（±{margin} 之内；{d}）",
        "noninferior": "{m}不会变差 {margin} 或更多（{d}）",
        "inconclusive": "{m}尚无定论（{d}；需要更多种子）",
        "insufficient": "{m}：数据不足",
        "unaffected": "{g}不受影响",
        "unaffected_metric": "{m}不受影响",
        "never": "{m}：所有运行中均未出现",
        "constant": "{m}在所有运行中均为 {x}",
        "missing": "（部分运行缺少该指标；仅用各方案都有值的种子）",
        "sep": "；", "subject": "{v}：", "none": "本次扫描没有关键指标",
    },
}


def question(base: str, others: list[str], lang: str = "en") -> str:
    """"What changes when grids_33 becomes grids_50?"."""
    text = TEXT["zh" if lang == "zh" else "en"]
    return text["question"].format(base=display_name(base),
                                   others=text["and"].join(display_name(o) for o in others))


def _interval(metric: str, r, lang: str) -> str:
    """"Δ +0.04 [-0.02, +0.10] min": the unit once, at the end."""
    share = metrics_meta.kind(metric) == "share"

    def f(x):
        text = metrics_meta.format_value(metric, x, lang, signed=True)
        return text.split()[0] if share else text
    unit = ("个百分点" if lang == "zh" else "pt") if share else metrics_meta.label_unit(metric,
                                                                                     lang)
    unit = f" {unit}" if unit else ""
    if math.isnan(r["diff_ci_low"]):
        return f"Δ {f(r['diff'])}{unit}"
    return f"Δ {f(r['diff'])} [{f(r['diff_ci_low'])}, {f(r['diff_ci_high'])}]{unit}"


def _same_in_every_run(r) -> bool:
    # Comparisons written before the column existed lack it: read them as varying.
    value = r.get("same_in_every_run", False)
    return bool(value) and not pd.isna(value)


def clause(r: pd.Series, lang: str = "en") -> str:
    """One metric's part of a variant's sentence, from its comparison row; it says so when
    the metric is missing in some runs (the row's ``missing`` note)."""
    text = TEXT["zh" if lang == "zh" else "en"]
    note = r.get("missing", "")
    if isinstance(note, str) and note:
        return _clause(r, lang) + text["missing"]
    return _clause(r, lang)


def _clause(r: pd.Series, lang: str = "en") -> str:
    text = TEXT["zh" if lang == "zh" else "en"]
    metric = r["metric"]
    name = metrics_meta.short(metric, lang)
    margin = r["margin"]
    m_text = (metrics_meta.format_value(metric, margin, lang, signed=True, unit=True).lstrip("+")
              if not math.isnan(margin) else "")
    verdict = r["verdict"]
    if verdict in (BETTER, WORSE, HIGHER, LOWER):
        down = r["diff"] < 0
        mag = abs(r["diff"])
        lo, hi = sorted((abs(r["diff_ci_low"]), abs(r["diff_ci_high"])))

        def f(x):
            return metrics_meta.format_value(metric, x, lang, signed=False, unit=False)
        unit = metrics_meta.label_unit(metric, lang)
        if metrics_meta.kind(metric) == "share":
            x = metrics_meta.format_value(metric, mag, lang, signed=True).lstrip("+")
            lo_t = metrics_meta.format_value(metric, lo, lang, signed=True).lstrip("+")
            hi_t = metrics_meta.format_value(metric, hi, lang, signed=True).lstrip("+")
            lo_t, hi_t = lo_t.split()[0], hi_t.split()[0]
        else:
            x = f(mag) + (f" {unit}" if unit else "")
            lo_t, hi_t = f(lo), f(hi)
        verb = "down" if down else "up"
        if lang == "zh" and metrics_meta.kind(metric) == "time":
            verb += "_time"   # 缩短 / 延长 rather than 降低 / 提高
        out = text.get(verb, text[verb.removesuffix("_time")]).format(m=name, x=x, lo=lo_t,
                                                                       hi=hi_t)
        if r.get("within_margin") is True or r.get("within_margin") == 1.0:
            out += text["small"].format(margin=m_text)
        return out
    if verdict == EQUIVALENT:
        return text["equivalent"].format(m=name, margin=m_text, d=_interval(metric, r, lang))
    if verdict == NON_INFERIOR:
        return text["noninferior"].format(m=name, margin=m_text, d=_interval(metric, r, lang))
    if verdict == IDENTICAL and _same_in_every_run(r):
        if r["mean"] == 0:
            return text["never"].format(m=name)
        value = metrics_meta.format_value(metric, r["mean"], lang, unit=True)
        return text["constant"].format(m=name, x=value)
    if verdict == IDENTICAL:
        return text["unaffected_metric"].format(m=name)
    if verdict == INSUFFICIENT:
        return text["insufficient"].format(m=name)
    assert verdict == INCONCLUSIVE, verdict
    return text["inconclusive"].format(m=name, d=_interval(metric, r, lang))


def headlines(comparison: pd.DataFrame, lang: str = "en",
              key: tuple[str, ...] = metrics_meta.KEY_METRICS) -> list[str]:
    """One sentence per variant over the key metrics present in the comparison.

    A group (police, mediation, ...) whose every outcome metric is identical in every pair
    is said once as "mediation unaffected" instead of metric by metric, unless one of them
    had one value in every run (that one could not have moved: its clause says so).
    """
    text = TEXT["zh" if lang == "zh" else "en"]
    rows = comparison[~comparison["is_baseline"]]
    sentences = []
    for variant, part in rows.groupby("variant", sort=False):
        part = part.set_index("metric")
        outcomes = part[[metrics_meta.is_outcome(m) for m in part.index]]
        still = set()
        for group in metrics_meta.GROUPS[:-1]:
            members = [m for m in outcomes.index if metrics_meta.meta(m).group == group]
            group_rows = outcomes.loc[members]
            if (members and (group_rows["verdict"] == IDENTICAL).all()
                    and not any(_same_in_every_run(r) for _, r in group_rows.iterrows())):
                still.add(group)
        clauses = []
        for metric in key:
            if metric not in part.index or metrics_meta.meta(metric).group in still:
                continue
            row = part.loc[metric].copy()
            row["metric"] = metric
            clauses.append(clause(row, lang))
        clauses += [text["unaffected"].format(g=metrics_meta.group_name(g, lang))
                    for g in metrics_meta.GROUPS[:-1] if g in still]
        body = text["sep"].join(clauses) if clauses else text["none"]
        sentences.append(text["subject"].format(v=display_name(str(variant))) + body)
    return sentences
