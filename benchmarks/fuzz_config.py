"""Throw generated bad configs and bad timeline files at the API and the CLI; count outcomes.

    python -m benchmarks.fuzz_config [--configs 1000] [--timelines 120] [--sample 50] [--seed 0]

Outcomes per case:

- clean: ``ConfigError`` (API) or exit code 2 with one stderr line (CLI) that starts with the
  field's dotted path (or the flag; for a timeline: the file and line);
- unnamed: the same, but the line names no field;
- other: any other exception, a traceback, more than one line or another exit code;
- accepted: validated (API; then built and run for a moment, to catch a crash after
  acceptance) or ran (CLI);
- wrote files: a CLI case that failed yet left anything in its output or Hydra folders
  (counted on top of its outcome).

Configs: one to three odd values (NaN, ±inf, None, bools, huge or negative numbers, numeric
strings, text, lists, mappings, numpy scalars, Decimal, ``${...}``) put at random places of the
small_district config, partial dicts, ``from_overrides`` lists, and non-configs (API); random
overrides with odd values, unknown keys, group options and flags (CLI), each run in-process
through ``experiments.run.main`` with its folders in a temporary directory, plus a random
sample as real subprocesses.  Timelines: a valid file mutated line by line, and structural
nasties (non-UTF-8, aliases, duplicate keys, billion laughs, deep nesting, huge names),
through ``config_with_timeline`` (API) and ``experiments.animate`` (CLI).

Accepted CLI runs are kept short by running small_district for 0.01 days (a case may replace
that); a run still going after ``--budget`` seconds is stopped and counted as accepted.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import decimal
import io
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

OUTCOMES = ("clean", "unnamed", "other", "accepted", "wrote files")
REPO = Path(__file__).resolve().parent.parent
HARNESS = ["scenario=small_district", "sim.days=0.01", "sim.progress=false"]
# A dotted path, a flag or a district file's path, then ": ".
_NAMED = re.compile(r"^('[^']*'|[\w+~./-][^\s:]*): \S")
_TIMELINE_NAMED = re.compile(r"^(.+, line \d+: \S|timeline .+: no such file)")


class OverBudget(BaseException):
    """Raised by the alarm in a CLI run that was accepted and is still going (not an Exception,
    so Hydra's own error handling does not catch it)."""


# --------------------------------------------------------------------------- odd values


def odd_python_values() -> list:
    return [
        math.nan, math.inf, -math.inf, None, True, False, 0, -1, -0.5, 1e308, 10**30,
        -(10**30), 2**63, 5e-324, "", " ", "1e3", "nan", "inf", "-1", "true", "null",
        "x" * 5000, "../../../x", "a/b", "\x00", "${oc.env:HOME}", "${seed}", "${no.such}",
        np.int64(3), np.int64(-5), np.float64("nan"), np.float64(0.5), np.bool_(True),
        decimal.Decimal("1.5"), decimal.Decimal("NaN"), [], [1, 2, 3], [None], [math.nan],
        {}, {"a": 1}, {"share": 2.0}, (1, 2), {1, 2}, b"bytes", object(), 0.5, 1, 2, 100,
    ]


ODD_OVERRIDE_VALUES = [
    "nan", "inf", "-inf", "-1", "0", "-0.5", "1e400", "1e3", "'1e3'", "''", "null", "true",
    "[1,2]", "[]", "{a: 1}", "{}", "'${oc.env:HOME}'", "${oc.env:NO_SUCH_VAR}", "${seed}",
    "x" * 300, "../../x", "a/b", "'a b'", "[1", "1=2", "choice(1,2)", "range(3)", "int(3)",
    "str(3)", "float(nan)", "0x10", "1_000", "2.5", "1", "100", "99999999999999999999",
    "'\\x00'", "..", "/", "~", "'%'", "yes",
]
ODD_GROUP_OPTIONS = ["nosuch", "../x", "/etc/passwd", "small_district,jiangbei", "''", "5",
                     "schema", "jiangbei/../small_district", "x" * 300]
ODD_KEYS = ["no_such_key", "scenario.no_such", "sim.dayz", "scenario.grids.cuont", "seed.x",
            "policy.unit_factors", "policy.unit_factors.police", "policy.unit_factors.tank",
            "scenario.units.police.foo", "scenario.units.newunit", "hydra.job.chdir", "timeline",
            "scenario.events", "output", "output.dir", "scenario.name", "scenario.description",
            "policy.name", "'a b'", "a..b", ".seed", "seed.", "scenario.calls.kinds.fight"]
FLAGS = [["-m"], ["-cn", "config"], ["-cn", "nosuch"], ["--foo"], ["--multi"], ["-c", "job"],
         ["--cfg", "bogus"], ["--info"], ["-x"], ["--experimental-rerun", "f.pickle"],
         ["-cp", "elsewhere"], ["--resolve"], ["-cn"], ["--run"]]


def leaf_paths(tree, path=()) -> list[tuple]:
    out = [path] if path else []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += leaf_paths(v, (*path, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += leaf_paths(v, (*path, i))
    return out


def dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p)
                   for i, p in enumerate(path))


# --------------------------------------------------------------------------- API configs


def api_cases(rng: random.Random, n: int, small: dict, default: dict) -> list[tuple[str, object]]:
    """(kind, callable) pairs; each callable raises or returns a Simulation."""
    from sim import Simulation

    values = odd_python_values()
    cases: list[tuple[str, object]] = []
    small_paths = [p for p in leaf_paths(small)]
    default_paths = [p for p in leaf_paths(default)]
    for i in range(n):
        roll = i % 20
        if roll < 14:                       # 70 %: a complete dict with odd values
            base, paths = (default, default_paths) if roll == 0 else (small, small_paths)
            cfg = copy.deepcopy(base)
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                path = rng.choice(paths)
                node = cfg
                try:
                    for part in path[:-1]:
                        node = node[part]
                    node[path[-1]] = copy.copy(rng.choice(values))
                except (KeyError, IndexError, TypeError):
                    pass                    # an earlier change removed this place
            cases.append(("dict", lambda cfg=cfg: Simulation(cfg)))
        elif roll < 16:                     # 10 %: a partial dict over the default config
            partial: dict = {}
            for _ in range(rng.choice((1, 2))):
                key = rng.choice(["seed", "sim", "policy", "output", "foo", "sim.days",
                                  "policy.grids", "policy.unit_factors", "sim.progress"])
                node = partial
                *parents, last = key.split(".")
                for part in parents:
                    node = node.setdefault(part, {})
                if isinstance(node, dict):      # else an earlier choice put a value there
                    node[last] = copy.copy(rng.choice(values))
            cases.append(("partial dict", lambda p=partial: Simulation(p)))
        elif roll < 19:                     # 15 %: override lists
            overrides = ["scenario=small_district", "sim.days=0.01", *cli_overrides(rng)]
            cases.append(("overrides", lambda o=overrides: Simulation.from_overrides(o)))
        else:                               # 5 %: not a config at all
            thing = rng.choice([None, 5, "sim.days=2", ["sim.days=2", 3], [1], (), b"x",
                                {"scenario": None}, {"scenario": "small_district"},
                                {"scenario": []}, object()])
            if rng.random() < 0.5:
                cases.append(("not a config", lambda t=thing: Simulation(t)))
            else:
                cases.append(("not overrides", lambda t=thing: Simulation.from_overrides(t)))
    return cases


def classify_api(call, run_accepted: bool = True, budget: float = 20.0) -> tuple[str, str]:
    from sim.config import ConfigError

    try:
        sim = call()
    except ConfigError as exc:
        message = str(exc)
        if "\n" in message or not _NAMED.match(message):
            return "unnamed", message
        return "clean", message
    except Exception as exc:    # the point: anything but ConfigError is a finding
        return "other", f"{type(exc).__name__}: {exc}".splitlines()[0]
    if not run_accepted:
        return "accepted", ""
    if sim.config.scenario.geography.population > 200_000:
        return "accepted", "(not run: large)"
    sim.config.sim.days = min(sim.config.sim.days, 0.01)
    try:        # accepted: does it run?  (a moment of it; small_district builds in ~0.3 s)
        with time_limit(budget):
            sim.run(progress=False)
    except OverBudget:
        return "accepted", "(still building or running after the budget)"
    except Exception as exc:    # MemoryError included: the process has a memory limit
        return "other", f"accepted, then crashed: {type(exc).__name__}: {exc}".splitlines()[0]
    return "accepted", ""


@contextlib.contextmanager
def time_limit(seconds: float):
    def alarm(*_):
        raise OverBudget

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------- CLI configs


def cli_overrides(rng: random.Random) -> list[str]:
    out = []
    for _ in range(rng.choice((1, 1, 2))):
        roll = rng.random()
        if roll < 0.55:
            key = rng.choice(CLI_KEYS)
        elif roll < 0.8:
            key = rng.choice(ODD_KEYS)
        elif roll < 0.9:
            out.append(f"{rng.choice(['scenario', 'policy', '+experiment'])}="
                       f"{rng.choice(ODD_GROUP_OPTIONS)}")
            continue
        else:
            key = rng.choice(CLI_KEYS)
            key = rng.choice(["+", "++", "~"]) + key
        if key.startswith("~") and rng.random() < 0.5:
            out.append(key)
        else:
            out.append(f"{key}={rng.choice(ODD_OVERRIDE_VALUES)}")
    return out


def cli_cases(rng: random.Random, n: int) -> list[list[str]]:
    """argv lists with ``{tmp}`` where the case's temporary folder goes."""
    cases = []
    for _ in range(n):
        argv = cli_overrides(rng)
        if rng.random() < 0.15:
            flag = rng.choice(FLAGS)
            argv = [*flag, *argv] if rng.random() < 0.7 else [*argv, *flag]
        if "-m" in argv:
            argv.append("hydra/launcher=basic")
        if rng.random() < 0.1:
            where = rng.choice(["out", "../out", "a/../../b", "x" * 300])
            argv.append(f"output.dir={{tmp}}/{where}")
        cases.append([*HARNESS, "hydra.run.dir={tmp}/hydra/run",
                      "hydra.sweep.dir={tmp}/hydra/sweep", *argv])
    return cases


CLI_KEYS: list[str] = []


def _fill(argv: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in argv]


def classify_cli(rc: int | None, stderr: str, crashed: str | None) -> tuple[str, str]:
    if crashed:
        return "other", crashed
    lines = [line for line in stderr.splitlines() if line.strip()]
    if rc == 0:
        return "accepted", ""
    if rc == 2 and len(lines) == 1 and lines[0].startswith("error: "):
        message = lines[0][len("error: "):]
        return ("clean" if _NAMED.match(message) else "unnamed"), message
    return "other", f"exit {rc}: " + (" | ".join(lines[-3:]) if lines else "(no stderr)")


def wrote(tmp: Path, cwd: Path) -> bool:
    """Anything in the case's folder besides the empty working directory it ran in."""
    return any(p != cwd and p not in cwd.parents for p in tmp.rglob("*"))


def fresh_folder(root: Path, i: int) -> tuple[Path, Path]:
    tmp = root / f"case{i}"
    cwd = tmp / "w" / "x" / "y" / "cwd"      # relative '../..' values stay inside tmp
    cwd.mkdir(parents=True)
    return tmp, cwd


def run_cli_in_process(argv: list[str], budget: float) -> tuple[int | None, str, str | None]:
    from experiments.run import main

    err, out = io.StringIO(), io.StringIO()
    rc, crashed = None, None
    try:
        with time_limit(budget), contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(out):
            rc = main(list(argv))
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except OverBudget:
        rc = 0
    except Exception as exc:
        crashed = f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        _reset_logging()
    text = err.getvalue()
    if "Traceback" in text and not crashed:
        crashed = "traceback: " + text.strip().splitlines()[-1]
    return rc, text, crashed


def _reset_logging() -> None:
    """Hydra points the root logger at each run's run.log; detach it before the folder goes."""
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


def run_cli_subprocess(module: str, argv: list[str], cwd: Path,
                       timeout: float) -> tuple[int | None, str, str | None]:
    try:
        proc = subprocess.run([sys.executable, "-m", module, *argv], cwd=cwd,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    except subprocess.TimeoutExpired:
        return 0, "", None      # ran past the budget: accepted
    crashed = None
    if "Traceback" in proc.stderr:
        crashed = "traceback: " + proc.stderr.strip().splitlines()[-1]
    return proc.returncode, proc.stderr, crashed


# --------------------------------------------------------------------------- timelines

BASE_TIMELINE = """\
scenario: small_district
days: 2
title: Fuzz
teaching_note: a note
events:
  - at: day 1 10:00
    kind: note
    note: start
  - at: 0.5
    kind: mediator_absence
    share: 30%
    mediator_kind: part_time
    duration_days: 1
  - at: 1
    kind: dispute
    category: labour
    community: 3
    parties: 4
  - at: 1.2
    kind: incident
    incident_kind: fight
    grid: 2
  - at: 1.5
    kind: unit_absence
    unit_type: police
    shift: 1
    share: 0.5
"""
ODD_YAML_VALUES = [
    ".nan", ".inf", "-.inf", "-1", "~", "null", "[1, 2]", "{a: 1}", '"${oc.env:HOME}"',
    "${oc.env:PATH}", "!!binary aGk=", "2024-01-01", "*undefined", "&a [*a]", "x" * 3000,
    "yes", "0x1F", "1e400", "50%", "nan%", "-5%", "day 0", "day 36501", "day 2 25:00",
    "''", "|\n      multi\n      line", "!!python/object:os.system {}", "!!set {a, b}", "99999",
    "0", "1.5", "true", "'5'", "[", "{", ": :", "\t1",
]


def timeline_texts(rng: random.Random, n: int) -> list[bytes | str]:
    texts: list[bytes | str] = [
        b"scenario: small_district\nevents:\n  - {at: 1, kind: note, note: caf\xe9}\n",
        b"\xff\xfe\x00\x00junk", bytes(range(256)), "",
        "---\nevents: []\n---\nevents: []\n", "scenario: 5\nevents: []\n",
        "scenario: small_district\nevents: &e\n  - *e\n",
        "scenario: small_district\nevents:\n  - &n {at: 1, kind: note, note: [*n]}\n",
        "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
            f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)])
        + "\nevents: []\n",
        "scenario: small_district\nevents: " + "[" * 5000 + "]" * 5000 + "\n",
        "events:\n" + "".join(f"{'  ' * i}- \n" for i in range(1, 400)),
        "\ufeff" + BASE_TIMELINE, BASE_TIMELINE.replace("  ", "\t"),
        BASE_TIMELINE + "scenario: jiangbei\n", "events: {at: 1}\n", "events:\n  - 5\n",
        "scenario: small_district\nevents: []\nextra: 1\n",
        "scenario: '${oc.env:HOME}'\nevents: []\n",
    ]
    lines = BASE_TIMELINE.splitlines()
    value_lines = [i for i, line in enumerate(lines) if ": " in line]
    while len(texts) < n:
        mutated = list(lines)
        for _ in range(rng.choice((1, 1, 2))):
            roll = rng.random()
            i = rng.choice(value_lines)
            key = mutated[i].split(":", 1)[0]
            if roll < 0.6:
                mutated[i] = f"{key}: {rng.choice(ODD_YAML_VALUES)}"
            elif roll < 0.75:
                mutated.insert(i + 1, mutated[i].replace("- ", "  "))     # duplicate key
            elif roll < 0.85:
                mutated.insert(i + 1, f"{key.split('-')[0]}  colour: red".replace("    ", "  ")
                               if "- " in mutated[i] else f"{key.rsplit(' ', 1)[0]} colour: red")
            elif roll < 0.95:
                del mutated[i]
            else:
                mutated[i] = mutated[i].replace(" ", "", 1)             # broken indentation
        texts.append("\n".join(mutated) + "\n")
    return texts


def timeline_names(rng: random.Random) -> list[str]:
    return ["x" * 100_000, "a\nb", "\x00.yaml", "/nonexistent/t.yaml", "no_such_timeline",
            str(REPO / "conf"), "../" * 50 + "etc/passwd.yaml", "x" * 300 + ".yaml"]


def describe(text: bytes | str) -> str:
    """What a generated timeline changes in the base one (for the examples printed)."""
    import difflib

    if isinstance(text, bytes):
        return f"bytes {text[:30]!r}"
    if not text.startswith(BASE_TIMELINE[:20]):
        return repr(text[:60])
    diff = difflib.unified_diff(BASE_TIMELINE.splitlines(), text.splitlines(), lineterm="", n=0)
    return " ".join(line.strip() for line in list(diff)[2:] if not line.startswith("@@"))[:120]


def classify_timeline_api(target: str) -> tuple[str, str]:
    from sim.config import ConfigError
    from sim.timeline_file import config_with_timeline

    try:
        config_with_timeline([f"timeline={target}", "sim.days=0.01"])
    except ConfigError as exc:
        message = str(exc)
        if "\n" in message or not _TIMELINE_NAMED.match(message):
            return "unnamed", message
        return "clean", message
    except Exception as exc:
        return "other", f"{type(exc).__name__}: {exc}".splitlines()[0]
    return "accepted", ""


def classify_timeline_cli(rc, stderr, crashed) -> tuple[str, str]:
    outcome, message = classify_cli(rc, stderr, crashed)
    if outcome in ("clean", "unnamed"):
        outcome = "clean" if _TIMELINE_NAMED.match(message) else "unnamed"
    return outcome, message


# --------------------------------------------------------------------------- main


def progress(text: str) -> None:
    """Where the run is, on stderr (a case that takes the process down is the last shown)."""
    print(text[:200], file=sys.stderr, flush=True)


class Tally:
    def __init__(self):
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.examples: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.order: list[str] = []

    def add(self, row: str, outcome: str, detail: str = "", wrote_files: bool = False):
        if row not in self.order:
            self.order.append(row)
        self.counts[row]["cases"] += 1
        self.counts[row][outcome] += 1
        if wrote_files:
            self.counts[row]["wrote files"] += 1
            outcome = "wrote files"
        if outcome != "clean" and len(self.examples[(row, outcome)]) < 4 and detail:
            self.examples[(row, outcome)].append(detail[:160])

    def table(self) -> str:
        head = f"{'':34}{'cases':>7}" + "".join(f"{o:>13}" for o in OUTCOMES)
        lines = [head, "-" * len(head)]
        for row in self.order:
            c = self.counts[row]
            lines.append(f"{row:34}{c['cases']:>7}" + "".join(f"{c[o]:>13}" for o in OUTCOMES))
        return "\n".join(lines)

    def details(self) -> str:
        out = []
        for (row, outcome), items in sorted(self.examples.items()):
            out.append(f"{row} / {outcome}:")
            out += [f"    {item}" for item in items]
        return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=1000, help="API and CLI config cases each")
    ap.add_argument("--timelines", type=int, default=120, help="timeline files")
    ap.add_argument("--sample", type=int, default=50, help="CLI cases also run as subprocesses")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds for an accepted run")
    ap.add_argument("--memory-gb", type=float, default=6.0,
                    help="address-space limit of this process and its subprocesses: an "
                         "accepted config that needs more fails with MemoryError (counted as "
                         "other) instead of drawing the machine's OOM killer")
    args = ap.parse_args(argv)
    import resource

    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    import logging

    from omegaconf import OmegaConf

    from sim.compose import compose_config
    from sim.config import schema_paths

    logging.getLogger("MESA").setLevel(logging.WARNING)
    rng = random.Random(args.seed)
    small = OmegaConf.to_container(compose_config(["scenario=small_district"]), resolve=True)
    default = OmegaConf.to_container(compose_config([]), resolve=True)
    CLI_KEYS[:] = [dotted(p) for p in leaf_paths(small) if not isinstance(p[-1], int)
                   and p[0] != "hydra"] + [p for p in schema_paths() if "<name>" not in p]
    tally = Tally()
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="fuzz_config_"))
    try:
        t0 = time.perf_counter()
        for n, (kind, call) in enumerate(api_cases(rng, args.configs, small, default)):
            progress(f"API config {n}")
            outcome, detail = classify_api(call, budget=args.budget)
            tally.add("API configs", outcome, f"[{kind}] {detail}")
        api_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        cases = cli_cases(rng, args.configs)
        for i, case in enumerate(cases):
            progress(f"CLI config {i}: {case[5:]}")
            tmp, cwd = fresh_folder(root, i)
            os.chdir(cwd)
            try:
                rc, stderr, crashed = run_cli_in_process(_fill(case, tmp), args.budget)
            finally:
                os.chdir(REPO)
            outcome, detail = classify_cli(rc, stderr, crashed)
            tally.add("CLI configs (in-process)", outcome, f"{case[5:]} -> {detail}",
                      outcome != "accepted" and wrote(tmp, cwd))
            shutil.rmtree(tmp, ignore_errors=True)
        cli_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        sample = rng.sample(range(len(cases)), min(args.sample, len(cases)))

        def one(i):
            tmp, cwd = fresh_folder(root, 100_000 + i)
            rc, stderr, crashed = run_cli_subprocess("experiments.run", _fill(cases[i], tmp), cwd,
                                                     args.budget + 30)
            outcome, detail = classify_cli(rc, stderr, crashed)
            result = (outcome, f"{cases[i][5:]} -> {detail}",
                      outcome != "accepted" and wrote(tmp, cwd))
            shutil.rmtree(tmp, ignore_errors=True)
            return result

        with ThreadPoolExecutor(max_workers=2) as pool:
            for outcome, detail, w in pool.map(one, sample):
                tally.add("CLI configs (subprocess sample)", outcome, detail, w)
        sub_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        files = root / "timelines"
        files.mkdir()
        targets, what = [], {}
        for i, text in enumerate(timeline_texts(rng, args.timelines)):
            path = files / f"t{i:03d}.yaml"
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
            targets.append(str(path))
            what[str(path)] = describe(text)
        targets += timeline_names(rng)
        for target in targets:
            outcome, detail = classify_timeline_api(target)
            tally.add("API timelines", outcome, f"{what.get(target, target[:60])!s}: {detail}")
        for i, target in enumerate(targets):
            tmp, cwd = fresh_folder(root, 200_000 + i)
            argv = [f"timeline={target}", "--out", str(tmp / "out" / "a.gif"), "--frames", "1"]
            os.chdir(cwd)
            try:
                rc, stderr, crashed = run_cli_in_process_animate(argv, args.budget)
            finally:
                os.chdir(REPO)
            outcome, detail = classify_timeline_cli(rc, stderr, crashed)
            tally.add("CLI timelines (animate)", outcome,
                      f"{what.get(target, target[:60])!s}: {detail}",
                      outcome != "accepted" and wrote(tmp, cwd))
            shutil.rmtree(tmp, ignore_errors=True)
        for i in rng.sample(range(len(targets)), min(10, len(targets))):
            tmp, cwd = fresh_folder(root, 300_000 + i)
            argv = [f"timeline={targets[i]}", "--out", str(tmp / "out" / "a.gif"),
                    "--frames", "1"]
            rc, stderr, crashed = run_cli_subprocess("experiments.animate", argv, cwd,
                                                     args.budget + 30)
            outcome, detail = classify_timeline_cli(rc, stderr, crashed)
            tally.add("CLI timelines (subprocess sample)", outcome,
                      f"{what.get(targets[i], targets[i][:60])!s}: {detail}",
                      outcome != "accepted" and wrote(tmp, cwd))
            shutil.rmtree(tmp, ignore_errors=True)
        timeline_s = time.perf_counter() - t0
    finally:
        os.chdir(REPO)
        shutil.rmtree(root, ignore_errors=True)

    print(tally.table())
    print()
    print(f"wall time {time.perf_counter() - started:.0f} s (API configs {api_s:.0f} s, CLI "
          f"in-process {cli_s:.0f} s, CLI subprocesses {sub_s:.0f} s, timelines "
          f"{timeline_s:.0f} s)")
    details = tally.details()
    if details:
        print("\nexamples of each outcome other than clean:")
        print(details)
    return 0


def run_cli_in_process_animate(argv: list[str], budget: float):
    from experiments.demo import animate

    err = io.StringIO()
    rc, crashed = None, None
    try:
        with time_limit(budget), contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            rc = animate.main(argv)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except OverBudget:
        rc = 0
    except Exception as exc:
        crashed = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return rc, err.getvalue(), crashed


if __name__ == "__main__":
    sys.exit(main())
