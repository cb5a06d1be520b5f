"""Every word the trainers' demo shows, in English and Chinese (``t(key, lang)``).

Model terms (dispute categories, incident kinds, levels) come from ``sim.narrative.word`` so the
map, the charts and the narrative log use the same translation.
"""

from __future__ import annotations

from sim.narrative import word

LANGS = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    "title": ("District safety training demo", "区域平安建设培训演示"),
    "switch_lang": ("中文", "English"),
    "clock": ("Day {day}, {hh:02d}:{mm:02d}", "第{day}天 {hh:02d}:{mm:02d}"),
    "horizon": (" of {days:g} days", " 共{days:g}天"),
    "units_on_map": ("{n} units on the map, {busy} busy", "{n} 个单位在图上，{busy} 个处置中"),
    "map_title": ("{clock}: {patrol} on patrol, {busy} busy, {inc} incidents open, "
                  "{disp} disputes open",
                  "{clock}：巡逻{patrol}，处置中{busy}，未结警情{inc}，未结纠纷{disp}"),
    "km": ("km", "公里"),
    "grid": ("G{n}", "网格{n}"),
    # unit states
    "patrolling": ("patrolling", "巡逻中"), "dispatched": ("on the way", "赶赴现场"),
    "on_scene": ("on scene", "现场处置"), "returning": ("returning", "返回巡区"),
    "reporting": ("writing up", "录入警情"),
    "duty": ("meal, post or hand-over", "就餐、值守或交接班"),
    # a unit on duty, on the board: which duty
    "duty_handover": ("hand-over", "交接班"), "duty_meal": ("meal break", "就餐"),
    "duty_post": ("fixed post", "定点值守"),
    "off_duty": ("off duty", "下班"),
    # unit types
    "police": ("police car", "民警巡逻车"), "armed_patrol": ("armed patrol", "武装巡逻"),
    "rapid_response": ("rapid response", "快反小组"), "guard": ("guard patrol", "巡防队员"),
    # hotspot kinds
    "complex_public_order": ("complex public order", "治安复杂场所"),
    "hospital": ("hospital", "医院"), "school": ("school", "学校"),
    "transit": ("transit hub", "交通枢纽"), "scenic": ("scenic spot", "景区"),
    # map legend
    "incident_open": ("incident P{p}", "{p}级警情"),
    "incident_cleared": ("just cleared", "刚处置完"),
    "dispute_badge": ("open disputes at {level} level", "{level}级未结纠纷"),
    "badge_age": ("ring: age of oldest (days)", "外圈：最久纠纷天数"),
    "street_line": ("street boundary", "街镇边界"), "grid_line": ("patrol grid", "巡区网格"),
    # charts
    "chart_disputes": ("Open disputes by level", "各级未结纠纷"),
    "chart_response": ("Response times so far (report to arrival)", "出警响应时间（接报到到场）"),
    "chart_busy": ("Busy units by type", "各类处置中单位"),
    "queued": ("queued incidents", "排队警情"),
    "day_axis": ("day", "天"), "minutes": ("minutes", "分钟"), "count": ("count", "数量"),
    "no_arrivals": ("no arrivals yet", "尚无到场记录"),
    "median": ("median {m:.1f} min, n = {n}", "中位数{m:.1f}分钟，共{n}起"),
    "priority": ("P{p}", "{p}级"),
    # panels
    "narrative": ("What just happened", "刚刚发生了什么"),
    "nothing_yet": ("Nothing yet: press Step or ▶ Play.", "暂无事件：请按“单步”或“▶ 播放”。"),
    "policy": ("Policy (applies now)", "政策（即时生效）"),
    "dispatch_rule": ("Dispatch rule", "派警规则"),
    "own_then_nearest": ("own grid, then nearest", "先本网格后最近"),
    "own_grid": ("own grid only", "仅本网格"), "nearest": ("nearest unit", "最近单位"),
    "own_then_lowest_index": ("own grid, then lowest index", "先本网格后按序号"),
    "unified_platform": ("Unified platform", "统一指挥平台"),
    "mentoring": ("Mentoring (old horse leads young)", "老马带小马"),
    "meals_on_call": ("Meals on call (a P1 call may break a meal)",
                      "就餐可出警（一级警情可打断用餐）"),
    "strength": ("{what} on duty (%)", "{what}在岗比例（%）"),
    "part_time": ("part-time mediators", "兼职调解员"),
    "xiaoma": ("Xiao Ma mediators", "小马调解员"),
    "full_time": ("full-time mediators", "专职调解员"),
    "timeline": ("Timeline", "时间线"), "no_timeline": ("No timeline: a normal week.",
                                                   "无时间线：平常的一周。"),
    "teaching_note": ("Teaching note", "教学提示"),
    "upcoming": ("Events", "事件"), "done": ("done", "已发生"), "next": ("to come", "未发生"),
    "reset_hint": ("Seed, timeline, grids and staffing apply on Reset.",
                   "随机种子、时间线、网格数和人员配置在“重置”后生效。"),
    # run controls (ours, not Mesa's: its controller's labels are fixed English strings)
    "controls": ("Run", "运行控制"),
    "play_interval": ("Pause between steps (ms)", "每步间隔（毫秒）"),
    "per_frame": ("Steps per press / redraw", "每次推进步数"),
    "reset": ("Reset", "重置"), "play": ("▶ Play", "▶ 播放"), "pause": ("❚❚ Pause", "❚❚ 暂停"),
    "step": ("Step", "单步"),
    "tick_minutes": ("Minutes per step", "每步分钟数"),
    "n_minutes": ("{n} min", "{n}分钟"),
    "defaults_on_reset": ("Reset restores default knobs", "重置时恢复默认政策"),
    "finished": ("Run over: the end of the run is reached.", "运行结束：已到运行终点。"),
    # control-room boards
    "unit_board": ("Units on duty ({n})", "在岗单位（{n}）"),
    "incident_queue": ("Calls waiting ({n})", "排队警情（{n}）"),
    "dispute_board": ("Open disputes ({n})", "未结纠纷（{n}）"),
    "queue_empty": ("No call is waiting.", "暂无排队警情。"),
    "h_unit": ("Unit", "单位"), "h_type": ("Type", "类型"), "h_grid": ("Grid", "网格"),
    "h_state": ("State", "状态"), "h_job": ("Job", "任务"), "h_min": ("Min", "分钟"),
    "h_id": ("#", "编号"), "h_priority": ("Prio", "等级"), "h_kind": ("Kind", "类别"),
    "h_waiting": ("Waiting (min)", "等待（分钟）"), "h_level": ("Level", "层级"),
    "h_category": ("Category", "类别"), "h_parties": ("Parties", "当事人"),
    "h_amount": ("¥10k", "金额（万元）"), "h_age": ("Days", "天数"),
    "h_sessions": ("Sessions", "调解次数"),
    "case_story": ("Case story", "案件经过"),
    "story_reported": ("reported", "接报"),
    "story_dispatched": ("dispatched {unit}, ETA {eta} min", "派出{unit}，预计{eta}分钟到达"),
    "story_arrived": ("{unit} arrived", "{unit}到场"),
    "story_cleared": ("{unit} cleared", "{unit}处置完毕"),
    "story_abandoned": ("caller gave up waiting", "报警人放弃等待"),
    "story_overflow": ("no unit free: handed to backup", "无可用警力：移交增援"),
    "pick_case": ("Click an incident or a dispute (map, boards or log) to follow it.",
                  "点击警情或纠纷（地图、列表或日志）以跟踪其经过。"),
    "community_n": ("community {n}", "社区{n}"),
    "story_parties": ("{n} parties, {amount} ×10k yuan", "当事人{n}人，金额{amount}万元"),
    "story_raised": ("raised at the station", "向调解组织反映"),
    "story_taken": ("taken at the {level} level by {kind} mediator M{mediator}{mentored}",
                    "由{level}{kind}调解员M{mediator}受理{mentored}"),
    "story_mentored": (" (mentored by a senior)", "（老马带小马）"),
    "story_session": ("session {n} at the {level} level: {result}", "{level}第{n}次调解：{result}"),
    "story_booked": ("session {n} at the {level} level booked", "{level}第{n}次调解已预约"),
    "story_under_way": ("session {n} at the {level} level under way (its hours spread over the "
                        "mediator's working time)",
                        "{level}第{n}次调解进行中（按调解员工作时间分段进行）"),
    "story_agreement": ("agreement", "达成协议"), "story_no_agreement": ("no agreement",
                                                                      "未达成协议"),
    "story_escalated": ("escalated to the {level} level", "上交{level}"),
    "story_closed_settled": ("settled at the {level} level", "{level}调解成功"),
    "story_closed_court": ("not settled: to court", "未调成：转诉讼"),
    "story_closed_redirected": ("redirected to court, arbitration or an agency",
                                "引导至诉讼、仲裁或行政渠道"),
    "story_closed_violent": ("turned violent", "激化"),
    "story_violent": ("became priority-1 incident #{id} (click to follow)",
                      "转为一级警情#{id}（点击跟踪）"),
    "story_open": ("still open at the {level} level after {sessions} session(s)",
                   "仍在{level}调解中，已调解{sessions}次"),
    "mk_full_time": ("full-time", "专职"), "mk_part_time": ("part-time", "兼职"),
    "mk_xiaoma": ("Xiao Ma", "小马"),
    # run side by side
    "side_by_side": ("Run side by side", "并排运行"),
    "sbs_switch": ("Run a copy B with other knobs", "运行对照副本B（不同政策）"),
    "sbs_hint": ("B: same seed and timeline as A, starts with A's knobs and these.",
                 "B：与A相同的随机种子和时间线，沿用A的政策并采用以下设置。"),
    "sbs_title": ("Side by side: A (this run) and B", "并排对比：A（本次运行）与B"),
    "sbs_knobs": ("B's knobs: mentoring {mentoring}, unified platform {platform}, meals on "
                  "call {meals}, police {police:.0%}, dispatch {rule}",
                  "B的政策：老马带小马{mentoring}，统一平台{platform}，就餐可出警{meals}，"
                  "民警在岗{police:.0%}，派警规则{rule}"),
    "sbs_open": ("Open disputes", "未结纠纷"),
    "run_a": ("A (this run)", "A（本次运行）"), "run_b": ("B (copy)", "B（副本）"),
    "h_measure": ("", ""), "h_a": ("A", "A"), "h_b": ("B", "B"),
    "m_open": ("open disputes", "未结纠纷"), "m_settled": ("settled", "调解成功"),
    "m_escalated": ("escalated", "曾上交"), "m_violent": ("turned violent", "激化"),
    "m_waiting": ("calls waiting now", "当前排队警情"),
    "m_p90": ("response p90 so far (min)", "出警时间90分位（分钟）"),
    "on": ("on", "开"), "off": ("off", "关"),
    "model_params": ("Model parameters (apply on Reset)", "模型参数（重置后生效）"),
    # model parameters (applied on reset)
    "p_seed": ("Seed", "随机种子"), "p_timeline": ("Timeline", "时间线"),
    "p_grids": ("Patrol grids", "巡区网格数"),
    "p_police": ("Police cars per shift", "每班民警巡逻车"),
    "p_guards": ("Guard patrols per shift", "每班巡防队员"),
    "p_part_time": ("Part-time community mediators", "社区兼职调解员"),
    "p_xiaoma": ("Xiao Ma mediators", "小马调解员"),
}


def t(key: str, lang: str = "en", **params) -> str:
    """The label `key` in `lang`, formatted with `params` (unknown keys fall back to model
    terms, then to the key itself)."""
    pair = TEXT.get(key)
    text = pair[LANGS.index(lang) if lang in LANGS else 0] if pair else word(key, lang)
    return text.format(**params) if params else text


def clock(minutes: float, lang: str = "en") -> str:
    """Simulated time as "Day 2, 14:00" (day 1 is the first day)."""
    day, rest = divmod(int(minutes), 1440)
    return t("clock", lang, day=day + 1, hh=rest // 60, mm=rest % 60)
