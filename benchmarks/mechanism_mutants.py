"""Does every mechanism have a test that fails without it?  A mutation audit.

    python -m benchmarks.mechanism_mutants [NAME ...] [--list]

Each mutant below takes one mechanism of the model out (issues 8 and 9 name them) by
replacing one exact piece of source.  For each, a copy of the project gets the change and the
tests that should notice it run there; the mutant is *killed* when at least one fails.  A
mutant that *survives* is a mechanism whose removal no test would notice.  About 15 minutes
for all of them on one core.  Exit code 1 if any survives, except those marked equivalent
(the change cannot alter behaviour as the model is built; the reason is given).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
MEDIATION, POLICING, DISTRICT, MODEL = ("tests/test_mediation.py", "tests/test_policing.py",
                                        "tests/test_district.py", "tests/test_model.py")


class Mutant(NamedTuple):
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    equivalent: str = ""      # why this change cannot alter behaviour, if it cannot


MUTANTS = [
    # ---- mediation (issue 9)
    Mutant("mentoring_settle_bonus", "sim/mediation.py",
           "        if dispute.mentored:\n            logit += self.mcfg.mentoring_settle_bonus\n",
           "", (MEDIATION,)),
    Mutant("mentoring_growth_bonus", "sim/mediation.py",
           "(m.mentoring_growth_bonus if dispute.mentored else 0.0)", "0.0", (MEDIATION,)),
    Mutant("mentoring_costs_senior_hours", "sim/mediation.py",
           "            mentor.book(self.env.now, self.mcfg.mentoring_hours_per_case * 60.0)\n",
           "", (MEDIATION,)),
    Mutant("turnover", "agents/mediator.py",
           "        self.skill = self.novice_skill\n", "        pass\n", (MEDIATION,)),
    Mutant("skill_growth", "agents/mediator.py",
           "        self.skill += growth * (1.0 - self.skill)\n", "", (MEDIATION,)),
    Mutant("screening", "sim/conflicts.py",
           "            found = t_screen < t_self\n",
           "            found = t_screen < -1.0\n            t_screen = t_self + 1.0\n",
           (MEDIATION,)),
    Mutant("settle_hours", "sim/mediation.py",
           "            logit += d.settle_hours_weight * math.log(max(hours, 1e-3) / ref)\n",
           "            pass\n", (MEDIATION,)),
    Mutant("settle_delay", "sim/mediation.py",
           "                 - d.settle_delay_weight * delay_days / 30.0)", ")", (MEDIATION,)),
    Mutant("settle_severity", "sim/mediation.py",
           "                 - d.settle_severity_weight * dispute.severity\n", "", (MEDIATION,)),
    Mutant("settle_parties", "sim/mediation.py",
           "                 - d.settle_parties_weight * max(len(dispute.parties) - 2, 0)\n", "",
           (MEDIATION,)),
    Mutant("redirect_with_backlog", "sim/mediation.py",
           "                 + c.redirect_backlog_weight * backlog)", ")", (MEDIATION,)),
    Mutant("skipped_level_is_an_escalation", "sim/mediation.py",
           "            if i > start:\n                dispute.escalations += 1\n",
           "            if False:\n                dispute.escalations += 1\n", (MEDIATION,)),
    Mutant("full_timers_first", "sim/mediation.py",
           "        self.mediators.sort(key=lambda m: _KIND_RANK[m.kind])\n", "        pass\n",
           (MEDIATION,),
           equivalent="stations are staffed full-timers first, so the pool is already in "
                      "order; the sort guards against a change in staffing order"),
    Mutant("backlog_rushes_preparation", "sim/mediation.py",
           "        rush = 1.0 / (1.0 + backlog_days / self.mcfg.rush_days)\n",
           "        rush = 1.0\n", (MEDIATION,)),
    Mutant("police_refer_to_station", "sim/police_mediation.py",
           "        if u < c.refer_prob:\n", "        if False:\n", (MEDIATION,)),
    Mutant("referral_raises_severity", "sim/police_mediation.py",
           "            conflict.severity = min(1.0, conflict.severity"
           " + c.referral_severity_bump)\n", "            pass\n", (MEDIATION,)),
    Mutant("recurrence", "sim/conflicts.py",
           '        if p <= 0 or row[ROW["recur"]] >= p:\n', "        if True:\n", (MEDIATION,)),
    Mutant("recur_less_when_settled_well", "sim/conflicts.py",
           "        return self.dcfg.recurrence.prob_max * min(1.0, 2.0 * (1.0 - settle_chance))",
           "        return self.dcfg.recurrence.prob_max", (MEDIATION,)),
    Mutant("repeat_calls", "sim/police_mediation.py",
           "        if rate <= 0 or not conflict.is_open:\n", "        if True:\n", (MEDIATION,)),
    Mutant("trust_learning", "agents/resident.py",
           "            trust[rid] = t + a * (experience - t)\n", "            trust[rid] = t\n",
           (MEDIATION,)),
    Mutant("waiting_feeds_violence", "sim/mediation.py",
           "        if dispute.t_violent <= env.now + delay:\n", "        if False:\n",
           (MEDIATION, MODEL)),
    # ---- district and policing (issue 8)
    Mutant("congestion_in_dispatch", "sim/roads.py",
           "self.drive_on * self.congestion[hour]))", "self.drive_on * 1.0))",
           (DISTRICT, POLICING)),
    Mutant("own_grid_tolerance", "sim/dispatch.py",
           "            if mine[m] - eta[best] <= self.cfg.own_grid_tolerance_min:\n",
           "            if True:\n", (POLICING,)),
    Mutant("quickest_unit", "sim/dispatch.py",
           "        best = int(eta.argmin())\n",
           "        best = int(np.flatnonzero(eta < INF)[0]) if (eta < INF).any() else 0\n",
           (POLICING, MODEL)),
    Mutant("report_writing", "sim/incidents.py",
           "        minutes = self.service.duration(self.dispatcher.report_mean[unit.index], u)\n",
           "        minutes = 0.0\n", (POLICING,)),
    Mutant("shift_duties", "sim/dispatch.py",
           "        u = self.rng.random(2).tolist()\n        plan = []\n",
           "        u = self.rng.random(2).tolist()\n        return []\n", (POLICING,)),
    # Meals on call (issue 8's dispatch rules; `scenario.dispatch.p1_breaks_duties`).
    Mutant("meals_on_call", "sim/dispatch.py",
           "        if incident.priority == 1 and self.may_call.any():\n",
           "        if False:\n", (POLICING,)),
    Mutant("meal_breakoff_delay", "sim/dispatch.py",
           "        delay = self.cfg.duty_breakoff_min\n",
           "        delay = 0.0\n", (POLICING,)),
    Mutant("meal_finished_after_the_call", "agents/patrol_unit.py",
           "                left = min(left, end - env.now)\n",
           "                left = 0.0\n", (POLICING,)),
    Mutant("abandonment", "sim/incidents.py",
           "        if self.patience is None:\n            return INF\n",
           "        if True:\n            return INF\n", (POLICING,)),
    Mutant("p3_stacking", "sim/dispatch.py",
           "        return self.free_p1 + spare > self.reserve * self.on_duty_p1\n",
           "        return True\n", (POLICING, MODEL)),
    Mutant("queue_respects_unit_priorities", "sim/dispatch.py",
           "        return self.queue.pop(prios)\n", "        return self.queue.pop((1, 2, 3))\n",
           (POLICING,)),
    Mutant("reach", "sim/dispatch.py", "            ok &= eta <= self.reach\n",
           "            pass\n", (POLICING,)),
    Mutant("deterrence_by_intensity", "sim/incidents.py",
           "        return self.max_share * -math.expm1(-intensity / self.scale)\n",
           "        return self.max_share * 0.5\n", (POLICING,)),
    Mutant("patrol_finds_by_intensity", "sim/incidents.py",
           "        if n == 0 or u[self.FOUND] >= -math.expm1(-n * self.sweep"
           " / self.presence.grid_km2[grid]):\n",
           "        if n == 0 or u[self.FOUND] >= 0.3:\n", (POLICING, MODEL)),
    Mutant("satisfaction_from_response_time", "sim/incidents.py",
           "            self._satisfy(inc, res.satisfaction_fast_response if fast\n"
           "                          else res.satisfaction_slow_response)\n",
           "            pass\n", (POLICING,)),
]

# What the copy needs to import and test the model (the road tables' cache saves rebuilding).
COPY = ("sim", "agents", "tests", "conf", "experiments", "benchmarks", "pyproject.toml",
        "results/cache")


def run_mutant(m: Mutant, work: Path) -> tuple[str, float]:
    """'killed', 'survived' or 'stale' (the source no longer holds the piece) and seconds."""
    path = work / m.file
    source = path.read_text()
    if source.count(m.old) != 1:
        return "stale", 0.0
    path.write_text(source.replace(m.old, m.new))
    t0 = time.perf_counter()
    try:
        # The copy's directory comes first on the path, so it is the copy that is imported.
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider",
             *m.tests], cwd=work, capture_output=True, text=True)
    finally:
        path.write_text(source)
    return ("killed" if result.returncode else "survived"), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="only these mutants")
    ap.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = ap.parse_args()
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    if args.list or not chosen:
        for m in MUTANTS:
            print(f"{m.name:34s} {m.file:26s} {' '.join(m.tests)}")
        sys.exit(0 if args.list else 2)
    failed = False
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        work = Path(tmp)
        for name in COPY:
            src = ROOT / name
            if not src.exists():
                continue
            if src.is_dir():
                shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, work / name)
        for m in chosen:
            verdict, seconds = run_mutant(m, work)
            note = f"  (equivalent: {m.equivalent})" if m.equivalent else ""
            print(f"{m.name:34s} {verdict:8s} {seconds:5.0f} s{note}", flush=True)
            failed |= verdict == "stale" or (verdict == "survived" and not m.equivalent)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
