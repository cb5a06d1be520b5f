"""The narrative log: what just happened, in plain words, in English or Chinese.

The model records structured entries ``(minute, key, params)`` only when a narrative is asked
for (the browser demo); ``render`` turns one into a line in the chosen language.
"""

from __future__ import annotations

from sim.clock import DAY

TEMPLATES = {
    "en": {
        "note": "{text}",
        "incident_reported": "{kind} reported in grid {grid} (priority {priority})",
        "unit_dispatched": "Unit {unit} dispatched: {kind} in grid {grid}, {minutes:.1f} min away",
        "incident_overflow": "No unit free for a {kind} in grid {grid}: handed to backup",
        "incident_abandoned": "The caller of a {kind} in grid {grid} gave up waiting",
        "dispute_raised": "{category} dispute raised in community {community}",
        "dispute_escalated": ("{category} dispute from community {community} escalated to "
                              "the {level} level"),
        "dispute_closed": "{category} dispute in community {community}: {outcome} at {level} level",
        "surge_over": "The call surge is over",
        "mediators_back": "{n} mediators back at work",
        "units_back": "{n} units back on the roster",
        "incident_queued": "#{id} {kind} in grid {grid} (priority {priority}) waits: no unit free",
        "unit_arrived": "#{id} Unit {unit} arrived at the {kind} in grid {grid}, "
                        "{minutes:.0f} min after the call",
        "incident_cleared": "#{id} Unit {unit} cleared the {kind} in grid {grid}",
        "knob": "Trainer set {knob} to {value}",
        "session_held": "Dispute #{id} ({category}, community {community}): session {n} held at "
                        "the {level} level, {settled}",
        "dispute_taken": "Dispute #{id} ({category}, community {community}) taken at the {level} "
                         "level by {mediator_kind} mediator M{mediator}{mentored}",
    },
    "zh": {
        "note": "{text}",
        "incident_reported": "网格{grid}接报{kind}（{priority}级）",
        "unit_dispatched": "{unit}出警：网格{grid}{kind}，距离{minutes:.1f}分钟",
        "incident_overflow": "网格{grid}{kind}无可用警力，移交增援力量",
        "incident_abandoned": "网格{grid}{kind}报警人等待过久，放弃报警",
        "dispute_raised": "社区{community}发生{category}纠纷",
        "dispute_escalated": "社区{community}{category}纠纷上交{level}",
        "dispute_closed": "社区{community}{category}纠纷：{level}{outcome}",
        "surge_over": "警情高峰结束",
        "mediators_back": "{n}名调解员返岗",
        "units_back": "{n}个巡逻单位恢复在岗",
        "incident_queued": "#{id} 网格{grid}{kind}（{priority}级）排队：暂无空闲警力",
        "unit_arrived": "#{id} {unit}到达网格{grid}{kind}现场，接报后{minutes:.0f}分钟",
        "incident_cleared": "#{id} {unit}处置完毕网格{grid}{kind}",
        "knob": "教员将{knob}设为{value}",
        "session_held": "纠纷#{id}（社区{community}{category}）：{level}第{n}次调解，{settled}",
        "dispute_taken": ("纠纷#{id}（社区{community}{category}）由{level}{mediator_kind}"
                          "调解员M{mediator}受理{mentored}"),
    },
}

# Words the templates insert, per language.
WORDS = {
    "zh": {
        # levels and outcomes
        "community": "社区", "street": "街镇", "district": "区级",
        "settled": "调解成功", "court": "转诉讼", "violent": "激化为治安事件",
        "redirected": "引导至诉讼、仲裁或行政渠道",
        # dispute categories
        "neighbour": "邻里", "family": "婚姻家庭", "property": "房产物业", "labour": "劳动",
        "commercial": "经济合同", "traffic": "交通事故", "medical": "医疗", "land": "土地征收",
        "consumer": "消费", "tenancy": "租赁", "school": "校园", "environment": "环境",
        # incident kinds
        "fight": "打架斗殴", "assault_robbery": "抢劫伤害", "traffic_accident": "交通事故",
        "theft": "盗窃", "disturbance": "扰乱秩序", "noise": "噪声扰民", "assistance": "求助",
        "other_service": "其他警情", "suspicious": "可疑情况", "disorder": "治安秩序",
        "dispute_violence": "纠纷激化", "dispute": "纠纷报警", "dispute_repeat": "纠纷重复报警",
        # trainer's knobs
        "dispatch_rule": "派警规则", "unified_platform": "统一指挥平台", "mentoring": "老马带小马",
        "meals_on_call": "就餐可出警", "tick_minutes": "每步分钟数", "police": "民警巡逻车在岗比例",
        "guard": "巡防队员在岗比例",
        "part_time": "兼职调解员在岗比例", "xiaoma": "小马调解员在岗比例", "on": "开", "off": "关",
        "own_grid": "仅本网格", "own_then_nearest": "先本网格后最近", "nearest": "最近单位",
        # mediator kinds and a session's result
        "mk_full_time": "专职", "mk_part_time": "兼职", "mk_xiaoma": "小马",
        "agreement": "达成协议", "no_agreement": "未达成协议",
        "mentored": "（老马带小马）",
    },
    "en": {"mk_full_time": "full-time", "mk_part_time": "part-time", "mk_xiaoma": "Xiao Ma",
           "agreement": "agreement", "no_agreement": "no agreement",
           "mentored": " (mentored by a senior)"},
}


def word(value, lang: str) -> str:
    """A model term (category, kind, level, outcome) in the chosen language."""
    text = str(value)
    return WORDS.get(lang, {}).get(text, text.replace("_", " "))


def render(entry: tuple, lang: str = "en") -> str:
    """One narrative entry as a time-stamped line in `lang` ("en" or "zh")."""
    minute, key, params = entry
    words = {k: word(v, lang) if isinstance(v, str) else v for k, v in params.items()}
    if "settled" in params:     # a session's result
        words["settled"] = word("agreement" if params["settled"] else "no_agreement", lang)
    if "mediator_kind" in params:   # its own words: "part_time" is also a knob's name
        words["mediator_kind"] = word(f"mk_{params['mediator_kind']}", lang)
    if "mentored" in params:
        words["mentored"] = word("mentored", lang) if params["mentored"] else ""
    day, rest = divmod(minute, DAY)
    stamp = (f"day {int(day) + 1} " if lang == "en" else f"第{int(day) + 1}天 ")
    stamp += f"{int(rest // 60):02d}:{int(rest % 60):02d}"
    return f"{stamp}  {TEMPLATES[lang][key].format(**words)}"
