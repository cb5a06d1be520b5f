"""What each metric is: direction, kind (and so its range), unit, labels, margin, group.

The simulator's summary.json carries bare metric names. Before the analysis tools can turn an
interval into a verdict they need to know

- **direction**: whether a rise is good news (+1), bad news (-1) or neither (0);
- **kind**: ``share`` (a proportion in [0, 1], shown as a percentage), ``score`` (an index in
  [0, 1]), ``time``, ``count``, ``rate`` and ``money`` (never negative) or ``level`` (any
  real number); intervals are kept inside the kind's range;
- **margin**: the smallest change that matters to a decision, in the metric's unit or as a
  percentage of the baseline mean (``"5%"``). A difference whose interval lies inside
  ±margin is *equivalent*; one whose interval keeps harm below the margin is *non-inferior*.
  The defaults below are our judgement of what a district bureau would act on (each says
  why); override them with ``compare --margin metric=value``. A metric without a margin can
  only be better, worse or inconclusive;
- **group**: ``police``, ``mediation``, ``residents``, ``cost`` (outcomes and what they cost)
  or ``bookkeeping`` (volumes and utilisation: context, not outcomes), and whether the metric
  is **key** (it gets a headline sentence in the report's brief).

A name not listed here gets its kind from its suffix (``_share``/``_rate`` a share, ``_min``,
``_days`` a time, ``_yuan`` money, ``per_100k`` a rate) and is neutral with no margin, so a
metric added to the core never breaks the analysis.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

HIGHER_IS_BETTER = 1
LOWER_IS_BETTER = -1
NEUTRAL = 0

KIND_RANGE: dict[str, tuple[float, float]] = {
    "share": (0.0, 1.0), "score": (0.0, 1.0), "time": (0.0, math.inf),
    "count": (0.0, math.inf), "rate": (0.0, math.inf), "money": (0.0, math.inf),
    "level": (-math.inf, math.inf),
}
GROUPS = ("police", "mediation", "residents", "cost", "bookkeeping")


@dataclass(frozen=True)
class Meta:
    """Everything the analysis knows about one metric."""

    direction: int
    kind: str
    unit: str            # "min", "days", "%" for shares, "" for plain numbers
    label: str           # English, without the unit
    label_zh: str
    group: str
    margin: float | str | None = None   # absolute in the unit, or "5%" of the baseline mean
    key: bool = False
    why: str = ""        # why this margin

    @property
    def range(self) -> tuple[float, float]:
        return KIND_RANGE[self.kind]


def _m(direction, kind, unit, label, label_zh, group, margin=None, key=False, why=""):
    return Meta(direction, kind, unit, label, label_zh, group, margin, key, why)


_P1 = "the '1-3-5 minute' quick-response target is 5 min: half a minute is a tenth of it"
_P23 = "a minute on a non-urgent call is below what a caller notices"
_SETTLE = "the People's Mediation Law asks for a settlement within a month"
_SHARE = "two percentage points of cases"

_META: dict[str, Meta] = {
    # --- police response
    "response_p90_min_p1": _m(-1, "time", "min", "P1 response, 90th percentile",
                              "一级警情响应时间 P90", "police", 0.5, True, _P1),
    "response_p50_min_p1": _m(-1, "time", "min", "P1 response, median", "一级警情响应时间中位数",
                              "police", 0.5, False, _P1),
    "p1_within_5min_share": _m(1, "share", "%", "P1 reached within 5 min", "一级警情5分钟到达率",
                               "police", 0.02, True, _SHARE),
    "response_p90_min_p2": _m(-1, "time", "min", "P2 response, 90th percentile",
                              "二级警情响应时间 P90", "police", 1.0, False, _P23),
    "response_p50_min_p2": _m(-1, "time", "min", "P2 response, median", "二级警情响应时间中位数",
                              "police", 1.0, False, _P23),
    "response_p90_min_p3": _m(-1, "time", "min", "P3 response, 90th percentile",
                              "三级警情响应时间 P90", "police", 1.0, False, _P23),
    "response_p50_min_p3": _m(-1, "time", "min", "P3 response, median", "三级警情响应时间中位数",
                              "police", 1.0, False, _P23),
    "response_p99_min_p1": _m(-1, "time", "min", "P1 response, 99th percentile",
                              "一级警情响应时间 P99", "police", 1.0, False, _P1),
    "response_p99_min_p2": _m(-1, "time", "min", "P2 response, 99th percentile",
                              "二级警情响应时间 P99", "police", 2.0, False, _P23),
    "response_p99_min_p3": _m(-1, "time", "min", "P3 response, 99th percentile",
                              "三级警情响应时间 P99", "police", 2.0, False, _P23),
    "mean_queue_delay_min": _m(-1, "time", "min", "Mean wait for a free unit", "平均等待派警时间",
                               "police", 0.5, False, "half a minute of waiting for a unit"),
    "unreached_share": _m(-1, "share", "%", "Incidents still waiting at the end",
                          "结束时仍未到达的警情", "police", 0.005, False,
                          "half a point: a backlog this size is visible on the floor"),
    "overflow_share": _m(-1, "share", "%", "Incidents handed to the backup force",
                         "转交后备力量的警情", "police", 0.01, False, "one point of incidents"),
    "abandoned_share": _m(-1, "share", "%", "Callers who gave up waiting", "放弃等待的报警人",
                          "police", 0.01, False, "one point of callers"),
    # Neither direction: each one is a quicker priority-1 arrival and a meal or post put off.
    "duties_broken_per_day": _m(0, "count", "/day", "Meals or posts broken for P1 calls",
                                "因一级警情中断的就餐或岗位", "police", 1.0, False,
                                "one broken meal or post a day across the district"),
    "cross_grid_share": _m(0, "share", "%", "Dispatched across grid borders", "跨网格派警比例",
                           "police", 0.05, False, "five points: a visible change in practice"),
    # Neither direction: settling on the spot ends a call, referring it starts mediation.
    "police_settled_on_spot_share": _m(0, "share", "%", "Dispute calls settled on the spot",
                                       "当场化解的纠纷警情比例", "police", 0.02, False, _SHARE),
    "repeat_calls": _m(-1, "count", "", "Repeat police calls from unsettled disputes",
                       "未化解纠纷的重复报警", "police", "5%", False,
                       "one repeat call in twenty (repeat calls are what mediation should cut: "
                       "Charkoudian 2005)"),
    # --- mediation
    "time_to_settle_p90_days": _m(-1, "time", "days", "Time to settle, 90th percentile",
                                  "调解结案时间 P90", "mediation", 1.0, True, _SETTLE),
    "time_to_settle_p50_days": _m(-1, "time", "days", "Time to settle, median",
                                  "调解结案时间中位数", "mediation", 0.5, False, _SETTLE),
    "mediation_success_rate": _m(1, "share", "%", "Mediation success", "调解成功率",
                                 "mediation", 0.001, True,
                                 "the report gives 99.9 % ± 0.1 point"),
    "community_settled_share": _m(1, "share", "%", "Settled at community level",
                                  "社区一级化解比例", "mediation", 0.02, False, _SHARE),
    "mean_wait_first_session_days": _m(-1, "time", "days", "Wait for a first session",
                                       "首次调解等待时间", "mediation", 0.25, False,
                                       "a quarter of a day: the next half-day session"),
    "escalation_rate": _m(-1, "share", "%", "Disputes escalated", "矛盾纠纷升级比例",
                          "mediation", 0.01, False, "one point of disputes"),
    "court_share": _m(-1, "share", "%", "Disputes ending in court", "进入诉讼的纠纷",
                      "mediation", 0.005, False, "half a point of disputes"),
    "disputes_resolved_share": _m(1, "share", "%", "Disputes resolved (of all raised)",
                                  "纠纷化解率（全部）", "mediation", 0.02, False, _SHARE),
    "redirected_share": _m(0, "share", "%", "Disputes redirected at intake", "受理时分流的纠纷",
                           "mediation", 0.02, False, _SHARE),
    "closed_within_30_days_share": _m(1, "share", "%", "Closed within 30 days",
                                      "30天内结案比例", "mediation", 0.02, False, _SHARE),
    "police_referred_share_of_raised": _m(0, "share", "%", "Disputes referred by the police",
                                          "公安移交的纠纷比例", "mediation", 0.02, False,
                                          _SHARE),
    "violent_turns_per_100k": _m(-1, "rate", "per 100k a year", "Disputes turning violent",
                                 "纠纷转为暴力", "residents", 0.5, True,
                                 "half a case per 100,000 residents a year"),
    "mean_satisfaction": _m(1, "score", "", "Mean satisfaction of residents served",
                            "服务对象平均满意度",
                            "residents", 0.01, False, "one point on the 0-1 scale"),
    # --- per-group metrics of `compare --by` (all priorities together)
    "response_p90_min": _m(-1, "time", "min", "Response, 90th percentile", "响应时间 P90",
                           "police", 1.0, True, _P23),
    "response_p50_min": _m(-1, "time", "min", "Response, median", "响应时间中位数", "police",
                           0.5, False, _P23),
    "incidents": _m(0, "count", "", "Incidents reported", "报警警情数", "bookkeeping", "5%"),
    "violent_turns": _m(-1, "count", "", "Disputes turning violent", "纠纷转为暴力数",
                        "residents", 0.5, True, "half a case"),
    # --- cost
    "annual_staffing_cost_yuan": _m(-1, "money", "yuan", "Annual staffing cost",
                                    "年度人员成本", "cost", "1%", True,
                                    "one percent of the budget"),
    # --- bookkeeping: volumes and utilisation (context, not outcomes)
    "incidents_total": _m(0, "count", "", "Incidents", "警情总数", "bookkeeping", "5%"),
    "incidents_reported": _m(0, "count", "", "Incidents reported by callers", "报警警情数",
                             "bookkeeping", "5%"),
    "deterred_calls": _m(0, "count", "", "Calls deterred by patrols", "巡逻震慑减少的警情",
                         "bookkeeping", "5%"),
    "disputes_raised": _m(0, "count", "", "Disputes raised", "矛盾纠纷数", "bookkeeping", "5%"),
    "disputes_closed": _m(0, "count", "", "Disputes closed", "已结案纠纷数", "bookkeeping", "5%"),
    "money_at_stake_yuan": _m(0, "money", "yuan", "Money at stake", "涉及金额", "bookkeeping",
                              "5%"),
    "simulated_days": _m(0, "time", "days", "Simulated days", "模拟天数", "bookkeeping"),
    **{f"utilisation_unit_{u}": _m(0, "share", "%", f"Busy share: {name}", f"忙碌比例：{zh}",
                                   "bookkeeping", 0.02)
       for u, name, zh in (("police", "police units", "警车"),
                           ("armed_patrol", "armed patrols", "武装巡逻"),
                           ("rapid_response", "rapid-response teams", "快反小组"),
                           ("guard", "guards", "保安巡逻"))},
    **{f"calls_share_unit_{u}": _m(0, "share", "%", f"Time on calls: {name}",
                                   f"出警时间占比：{zh}", "bookkeeping", 0.02)
       for u, name, zh in (("police", "police units", "警车"),
                           ("armed_patrol", "armed patrols", "武装巡逻"),
                           ("rapid_response", "rapid-response teams", "快反小组"),
                           ("guard", "guards", "保安巡逻"))},
    **{f"utilisation_mediator_{k}": _m(0, "share", "%", f"Busy share: {name}", f"忙碌比例：{zh}",
                                       "bookkeeping", 0.02)
       for k, name, zh in (("xiaoma", "Xiao Ma mediators", "小马调解员"),
                           ("full_time", "full-time mediators", "专职调解员"),
                           ("part_time", "part-time mediators", "兼职调解员"),
                           ("senior", "senior mediators (Lao Ma)", "老马调解员"),
                           ("hours", "all mediators (paid hours)", "全部调解员（带薪工时）"))},
    "dispute_calls_share": _m(0, "share", "%", "Dispute-related share of police calls",
                              "涉纠纷警情占比", "bookkeeping", 0.01),
    "mean_severity_at_intake": _m(-1, "score", "", "Mean severity at intake",
                                  "受理时平均严重程度", "mediation", 0.02, False,
                                  "two hundredths of the 0..1 severity scale"),
    "cases_per_1000_per_year": _m(0, "rate", "per 1,000 a year",
                                  "Cases taken for mediation", "受理调解案件数",
                                  "bookkeeping", "5%"),
    "cases_per_mediator_per_year": _m(0, "rate", "", "Cases per mediator a year",
                                      "每名调解员年案件数", "bookkeeping", "5%"),
    "party_satisfaction": _m(1, "score", "", "Satisfaction of dispute parties",
                             "纠纷当事人满意度", "residents", 0.02, False,
                             "two hundredths of the 0..1 satisfaction scale"),
    "caller_satisfaction": _m(1, "score", "", "Satisfaction of police callers",
                              "报警人满意度", "residents", 0.02, False,
                              "two hundredths of the 0..1 satisfaction scale"),
}

UNIT_ZH = {"per 100k a year": "每10万人每年", "per 1,000 a year": "每千人每年", "days": "天",
           "min": "分钟", "yuan": "元"}

# Short names for the brief's sentences (English, Chinese).
SHORT: dict[str, tuple[str, str]] = {
    "response_p90_min_p1": ("P1 p90 response", "一级警情 P90 响应时间"),
    "p1_within_5min_share": ("P1 within 5 min", "一级警情5分钟到达率"),
    "time_to_settle_p90_days": ("p90 time to settle", "P90 调解结案时间"),
    "mediation_success_rate": ("mediation success", "调解成功率"),
    "violent_turns_per_100k": ("violent turns", "纠纷转暴力"),
    "annual_staffing_cost_yuan": ("staffing cost", "人员成本"),
    "response_p90_min": ("p90 response", "P90 响应时间"),
    "violent_turns": ("violent turns", "纠纷转暴力"),
}
GROUP_NAMES: dict[str, tuple[str, str]] = {
    "police": ("police response", "警务响应"), "mediation": ("mediation", "矛盾调解"),
    "residents": ("residents", "居民"), "cost": ("cost", "成本"),
    "bookkeeping": ("volumes and utilisation", "数量与利用率"),
}

KNOWN_METRICS: tuple[str, ...] = tuple(_META)
KEY_METRICS: tuple[str, ...] = tuple(m for m, meta in _META.items() if meta.key)

_SUFFIX_KINDS = ((r"_(share|rate)$", "share", "%"), (r"_min(_|$)", "time", "min"),
                 (r"_days(_|$)", "time", "days"), (r"_yuan$", "money", "yuan"),
                 (r"per_100k", "rate", "per 100k a year"), (r"^utilisation_", "share", "%"))


def meta(metric: str) -> Meta:
    """The metric's metadata; for an unknown name, a neutral guess from its suffix."""
    if metric in _META:
        return _META[metric]
    for pattern, kind, unit in _SUFFIX_KINDS:
        if re.search(pattern, metric):
            return Meta(NEUTRAL, kind, unit, metric, metric, "bookkeeping")
    return Meta(NEUTRAL, "level", "", metric, metric, "bookkeeping")


def short(metric: str, lang: str = "en") -> str:
    """A short name for sentences ("P1 p90 response"); the label if none."""
    if metric in SHORT:
        return SHORT[metric][1 if lang == "zh" else 0]
    return label(metric, lang, unit=False)


def group_name(group: str, lang: str = "en") -> str:
    """A metric group's name for headings and sentences."""
    return GROUP_NAMES.get(group, (group, group))[1 if lang == "zh" else 0]


def direction(metric: str) -> int:
    """Return +1 if higher is better, -1 if lower is better, 0 if neutral or unknown."""
    return meta(metric).direction


def kind(metric: str) -> str:
    """share, score, time, count, rate, money or level."""
    return meta(metric).kind


def value_range(metric: str) -> tuple[float, float]:
    """Where the metric's true mean must lie: [0, 1] for shares, [0, inf) for times, ..."""
    return meta(metric).range


def label(metric: str, lang: str = "en", unit: bool = True) -> str:
    """A readable label, with the unit in brackets unless ``unit=False`` or it has none."""
    m = meta(metric)
    text = m.label_zh if lang == "zh" else m.label
    shown = label_unit(metric, lang)
    return f"{text} ({shown})" if unit and shown else text


def direction_symbol(metric: str) -> str:
    """Return '+', '-' or '0' for compact tables."""
    return {HIGHER_IS_BETTER: "+", LOWER_IS_BETTER: "-"}.get(direction(metric), "0")


def direction_text(metric: str, lang: str = "en") -> str:
    """'higher is better', 'lower is better' or 'neutral'."""
    text = {HIGHER_IS_BETTER: ("higher is better", "越高越好"),
            LOWER_IS_BETTER: ("lower is better", "越低越好")}.get(direction(metric),
                                                               ("neutral", "中性"))
    return text[1] if lang == "zh" else text[0]


def order(metric: str) -> int:
    """Position for tables: the order of this module's list (key metrics lead their group)."""
    if metric in _META:
        return (0 if _META[metric].key else 1) * 1000 + KNOWN_METRICS.index(metric)
    return 10_000


def is_outcome(metric: str) -> bool:
    """Outcomes and costs, as opposed to bookkeeping (volumes, utilisation)."""
    return meta(metric).group != "bookkeeping"


def default_margin(metric: str) -> float | str | None:
    """The default equivalence / non-inferiority margin (absolute, or '5%' of the baseline)."""
    return meta(metric).margin


def parse_margin(text: str | float | None) -> float | str | None:
    """A margin as given on the command line: a number, or a percentage such as '5%'.

    Raises ValueError for anything else or a negative number.
    """
    if text is None or isinstance(text, float | int):
        value = None if text is None else float(text)
    else:
        text = str(text).strip()
        if text.endswith("%"):
            number = float(text[:-1])
            if not number >= 0 or math.isinf(number):
                raise ValueError(f"must be a non-negative number or percentage, got {text!r}")
            return f"{number:g}%"
        value = float(text)
    if value is not None and (not value >= 0 or math.isinf(value)):
        raise ValueError(f"must be a non-negative number or percentage, got {text!r}")
    return value


def resolve_margin(margin: float | str | None, baseline_mean: float) -> float:
    """The margin in the metric's unit (a percentage applies to |baseline mean|); NaN if none."""
    if margin is None:
        return math.nan
    if isinstance(margin, str):
        return abs(baseline_mean) * float(margin.rstrip("%")) / 100.0
    return float(margin)


def format_value(metric: str, value: float, lang: str = "en", signed: bool = False,
                 unit: bool = False) -> str:
    """A value for people: shares as percentages, money with separators, times to 2-3 digits.

    ``signed`` prefixes + for a difference (percentages are then percentage points).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    m = meta(metric)
    if m.kind == "share":
        number = _pct(value * 100)
    elif m.kind == "money" or abs(value) >= 1e4:
        number = f"{value:,.0f}"
    else:
        number = _sig(value)
    # No sign on what rounds to zero: "+0" would claim a direction the number does not show.
    sign = "+" if signed and value > 0 and number.strip("0.,") else ""
    if m.kind == "share":
        if signed:
            return f"{sign}{number}{' 个百分点' if lang == 'zh' else ' pt'}"
        return f"{number}%"
    text = f"{sign}{number}"
    if unit and m.unit and m.unit != "%":
        text += f" {label_unit(metric, lang)}"
    return text


def label_unit(metric: str, lang: str = "en") -> str:
    """The unit as shown beside a number."""
    u = meta(metric).unit
    return UNIT_ZH.get(u, u) if lang == "zh" else u


def _sig(x: float) -> str:
    """Three significant digits, at most three decimals, no trailing zeros after the point."""
    if x == 0:
        return "0"
    if abs(x) < 1e-3:
        return _tiny(x)
    digits = max(0, min(3, 2 - int(math.floor(math.log10(abs(x))))))
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tiny(x: float) -> str:
    """A number below 0.001 in size in plain decimals, two significant digits (0.000087): the
    tables have no exponents. Below 1e-9 it is rounding noise of a difference: 0."""
    if abs(x) < 1e-9:
        return "0"
    digits = 1 - int(math.floor(math.log10(abs(x))))
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".")


def _pct(x: float) -> str:
    """A percentage: three significant digits, or enough to tell 99.95 % from 100 %."""
    gap = 100.0 - abs(x)
    if 0.0 < gap < 1.0:
        digits = min(3, 1 - int(math.floor(math.log10(gap))))
        text = f"{x:.{digits}f}"
        return text.rstrip("0").rstrip(".")
    return _sig(x)
