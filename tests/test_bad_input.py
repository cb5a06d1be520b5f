"""Input that cannot hurt: every bad value from the API, the command line or a timeline file is
one line naming the field (and file and line), exit code 2 on the CLI, nothing written, and
nothing a value says can move outputs or read the environment.  One test per case found by
the reliability review (issue 7, item 5)."""

from __future__ import annotations

import decimal
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from sim import ConfigError, Simulation
from sim.compose import compose_config, safe_dirname
from sim.config import parse_config
from sim.timeline_file import TimelineError, config_with_timeline, load_timeline

ROOT = Path(__file__).resolve().parent.parent
BASE = OmegaConf.to_container(compose_config([]), resolve=True)


def with_value(path: str, value, base=BASE) -> dict:
    import copy

    cfg = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = cfg
    for part in parents:
        node = node[part]
    node[last] = value
    return cfg


def nested(depth: int) -> dict:
    out: dict = {"x": 1}
    for _ in range(depth):
        out = {"a": out}
    return out


def refused(call, field: str) -> str:
    """The ConfigError message of `call()`, checked to be one line starting with `field`."""
    with pytest.raises(ConfigError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(f"{field}:") or message.startswith(f"{field}."), message
    return message


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize("path, value", [
    ("seed", math.inf), ("seed", -math.inf), ("seed", math.nan), ("seed", None), ("seed", True),
    ("seed", "1e3"), ("seed", 10**30), ("seed", 2.5),
    ("scenario.grids.count", math.nan), ("scenario.grids.count", math.inf),
    ("scenario.geography.population", -math.inf), ("scenario.mediators.committees", math.nan),
    ("sim.days", math.nan), ("sim.days", math.inf), ("sim.days", "1e3"), ("sim.days", None),
    ("sim.days", decimal.Decimal("3")), ("sim.days", decimal.Decimal("NaN")),
    ("sim.days", np.float64("nan")), ("sim.progress", "yes"), ("sim.progress", 1),
    ("scenario.calls.hotspot_share", "0.5"), ("scenario.calls.hourly_profile", {1, 2}),
    ("scenario.description", b"bytes"), ("seed", object()),
])
def test_odd_values_are_config_errors_naming_the_field(path, value):
    refused(lambda: parse_config(with_value(path, value)), path)


@pytest.mark.parametrize("folder", ["a" * 300, "conf/\x00", "/" + "b" * 256 + "/x"])
def test_a_district_folder_the_file_system_cannot_name_is_a_config_error(folder):
    refused(lambda: parse_config(with_value("scenario.district.path", folder)),
            "scenario.district.path")


def test_numpy_values_are_the_numbers_they_hold():
    cfg = with_value("seed", np.int64(7))
    cfg["sim"]["days"] = np.float64(2.5)
    cfg["scenario"]["calls"]["hourly_profile"] = np.ones(24)
    run = parse_config(cfg)
    assert run.seed == 7 and type(run.seed) is int
    assert run.sim.days == 2.5 and run.scenario.calls.hourly_profile == [1.0] * 24
    refused(lambda: parse_config(with_value("seed", np.float64(7.5))), "seed")


def test_a_300_level_dict_is_named_not_a_recursion_error():
    refused(lambda: parse_config(with_value("scenario.geography", nested(300))),
            "scenario.geography")
    refused(lambda: Simulation({"sim": nested(300)}), "sim")
    loop: dict = {}
    loop["a"] = loop
    refused(lambda: Simulation({"policy": loop}), "policy")


@pytest.mark.parametrize("partial, field", [
    ({"foo": 1}, "foo"),
    ({"sim": {"dayz": 3}}, "sim.dayz"),
    ({"seed": np.float64("inf")}, "seed"),
    ({"seed": decimal.Decimal(2)}, "seed"),
    ({"sim": 5}, "sim"),
    ({"policy": {"unit_factors": {"tank": 2.0}}}, "policy.unit_factors.tank"),
    ({3: 1}, "config"),
])
def test_partial_dicts_are_checked_before_the_merge(partial, field):
    refused(lambda: Simulation(partial), field)


def test_a_partial_dict_with_numpy_values_runs_as_plain_numbers():
    sim = Simulation({"seed": np.int64(3), "sim": {"days": np.float64(0.5)}})
    assert sim.config.seed == 3 and sim.config.sim.days == 0.5


@pytest.mark.parametrize("overrides", ["sim.days=2", None, 5, [1], ("seed=1", None)])
def test_from_overrides_wants_a_list_of_strings(overrides):
    refused(lambda: Simulation.from_overrides(overrides), "overrides")


@pytest.mark.parametrize("override, field", [
    ("seed=inf", "seed"), ("seed=nan", "seed"),
    ("scenario.grids.count=nan", "scenario.grids.count"),
    ("scenario.grids.count=-inf", "scenario.grids.count"), ("sim.days=1e400", "sim.days"),
    ("seed=[1", "seed"), ("seed=1=2", "seed"), ("'a b'=1", "'a b'"),
])
def test_odd_overrides_are_named(override, field):
    refused(lambda: Simulation.from_overrides([override]), field)


@pytest.mark.parametrize("path, value", [
    # population 1 with 12 communities
    ("scenario.geography.population", 1),
    ("scenario.mediators.skill_init.community", 5),          # documented 0..1
    ("scenario.disputes.max_sessions.community", 2.5),       # was silently truncated
    ("scenario.events", [{"at": math.inf, "kind": "note"}]),
    ("scenario.events", [{"at": "day 1", "kind": "unit_absence", "unit_type": "police",
                          "shift": 7, "share": 0.5}]),        # police have 3 shifts
    ("scenario.free_form", 1),
    ("policy.colour", "red"),
])
def test_nonsense_configs_do_not_run(path, value):
    small = OmegaConf.to_container(compose_config(["scenario=small_district"]), resolve=True)
    field = path if path != "scenario.events" else "scenario.events[0]"
    refused(lambda: Simulation(with_value(path, value, small)), field)


# --------------------------------------------------------------------------- paths


def test_a_scenario_name_cannot_leave_the_results_folder():
    refused(lambda: Simulation.from_overrides(["scenario.name=../../../../x"]), "scenario.name")


@pytest.mark.parametrize("text", [
    "scenario.description=../../../escape,seed=0", "a=/abs/path", "a=..", ".hidden=1",
    "a=b\\c", "a=x\ny", "a=" + "é" * 300, "a=%2F", "",
])
def test_sweep_job_folder_names_are_one_safe_component(text):
    name = safe_dirname(text)
    assert "/" not in name and "\\" not in name and "\n" not in name
    assert name not in (".", "..") and not name.startswith(".")
    assert len(name.encode("utf-8")) <= 255


def test_sweep_job_folder_names_stay_distinct():
    texts = ["a=x/y", "a=x%2Fy", "a=x_y", "a=x\\y", "a=" + "z" * 400, "a=" + "z" * 401,
             "a=" + "z" * 400 + "/"]
    assert len({safe_dirname(t) for t in texts}) == len(texts)
    assert safe_dirname("policy=grids_50,seed=1") == "policy=grids_50,seed=1"


def test_a_description_with_dotdot_keeps_jobs_in_the_sweep_and_collect_finds_them(tmp_path):
    from experiments.analysis import collect

    sweep = tmp_path / "a" / "b" / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", "scenario=small_district",
         "sim.days=0.05", "sim.progress=false", "scenario.description=../../../escape",
         "seed=0,1", f"hydra.sweep.dir={sweep}", "hydra.launcher.n_jobs=2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    inside = [p for p in sweep.iterdir() if p.is_dir()]
    assert len(inside) == 2 and all((p / "DONE").exists() for p in inside)
    outside = [p for p in tmp_path.rglob("summary.json") if sweep not in p.parents]
    assert not outside, outside
    runs = collect.collect(sweep, write=False).runs
    assert sorted(runs["seed"]) == [0, 1]
    assert set(runs["scenario.description"]) == {"../../../escape"}


# --------------------------------------------------------------------------- the CLI


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


# (argv, the field the one line starts with); "FILE" is a file in the test's folder.
CLI_CASES = [
    (["output.dir=5"], "output.dir"),
    (["output.dir=[1,2]"], "output.dir"),
    (["output.dir={a: 1}"], "output.dir"),
    (["output.dir=FILE"], "output.dir"),
    (["output.dir=FILE/below"], "output.dir"),
    (["-cn", "nosuch"], "-cn"),
    (["-cn", "config", "seed=-1"], "seed"),
    (["--config-name=config", "seed=-1"], "seed"),
    (["--foo"], "--foo"),
    (["--multi", "seed=0,1"], "--multi"),       # argparse would take it for --multirun
    (["-x", "sim.days=1"], "-x"),
    (["--experimental-rerun", "x.pickle"], "--experimental-rerun"),
    (["-cp", "elsewhere"], "--config-path"),
    (["--cfg", "bogus"], "--cfg"),
    (["--cfg", "job", "no_such=1"], "no_such"),
    (["seed=[1"], "seed"),
    (["-m", "seed=[1"], "seed"),
    (["-m", "seed=0,1", "output.dir=5"], "output.dir"),
    (["-m", "scenario.description=a,b", "seed=-1"], "seed"),
    (["scenario.name=../../x"], "scenario.name"),
    (["policy.unit_factors={police: 2}"], "policy.unit_factors"),
    (["--resolve", "seed=1"], "--resolve"),                 # Hydra: a ValueError traceback
    (["~scenario.overflow"], "scenario.overflow"),          # deleting a null
]
# Each costs a Python start-up: the rest run in-process below.
SUBPROCESS_CASES = [0, 3, 5, 8, 17, 20]


def _argv(args: list[str], folder: Path) -> list[str]:
    return [a.replace("FILE", str(folder / "FILE")) for a in args] + [
        "sim.days=0.01", f"hydra.sweep.dir={folder / 'sweep'}"]


@pytest.mark.parametrize("args, field", [CLI_CASES[i] for i in SUBPROCESS_CASES])
def test_cli_refuses_in_one_line_with_nothing_written(tmp_path, args, field):
    (tmp_path / "FILE").write_text("not a folder")
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = cli(tmp_path, *_argv(args, tmp_path))
    assert proc.returncode == 2, (proc.stdout[-500:], proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {field}"), lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # no results/, .hydra, log


def test_real_but_absent_entries_say_how_to_set_them():
    from sim.compose import unknown_key

    text = refused(lambda: compose_config(["policy.unit_factors={police: 2}"]),
                   "policy.unit_factors")
    assert "++policy.unit_factors={police: 2}" in text
    assert compose_config(["++policy.unit_factors={police: 2}"]).policy.unit_factors.police == 2
    assert "++policy.unit_factors.police=2" in unknown_key("policy.unit_factors.police", "2")
    text = refused(lambda: compose_config(["scenario.units.police.foo=1"]),
                   "scenario.units.police.foo")
    assert "per_shift" in text and "++" not in text
    refused(lambda: compose_config(["scenario.grids={count: 5, x: 1}"]), "scenario.grids.x")
    assert "did you mean count?" in refused(
        lambda: compose_config(["scenario.grids.cuont=3"]), "scenario.grids.cuont")


# --------------------------------------------------------------------------- timeline files


def write(tmp_path: Path, body: str | bytes, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def timeline_refused(path_or_name, line: int | None, field: str) -> str:
    with pytest.raises(TimelineError) as err:
        config_with_timeline([f"timeline={path_or_name}", "sim.days=0.1"])
    message = str(err.value)
    assert "\n" not in message and len(message) < 400, message
    if line is not None:
        assert f"t.yaml, line {line}: {field}" in message, message
    else:
        assert field in message, message
    return message


def test_a_timeline_never_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_FOR_TEST", "hunter2")
    path = write(tmp_path, """\
        scenario: small_district
        events:
          - at: 1
            kind: note
            note: "${oc.env:SECRET_FOR_TEST}"
        """)
    message = timeline_refused(path, 5, "events[0].note")
    assert "hunter2" not in message
    for body, line, field in [
        ("scenario: '${oc.env:SECRET_FOR_TEST}'\nevents: []\n", 1, "scenario"),
        ("scenario: small_district\nteaching_note: ${now:%Y}\nevents: []\n", 2, "teaching_note"),
        ("scenario: small_district\nevents:\n  - {at: 1, kind: note, '${x}': 1}\n", 3,
         "events[0].${x}"),
    ]:
        assert "hunter2" not in timeline_refused(write(tmp_path, body), line, field)


@pytest.mark.parametrize("body, line, field", [
    (b"scenario: small_district\nevents:\n  - at: 1\n    kind: note\n    note: caf\xe9\n", 5,
     "not UTF-8"),
    ("scenario: 5\nevents: []\n", 1, "scenario"),
    ("scenario: [a, b]\nevents: []\n", 1, "scenario"),
    ("scenario: small_district extra=1\nevents: []\n", 1, "scenario"),
    ("scenario: small_district\nevents: &e\n  - *e\n", 2, "events[0]"),
    ("scenario: small_district\nevents:\n  - &n {at: 1, kind: note, note: [*n]}\n", 3,
     "events[0].note[0]"),
    ("scenario: small_district\nevents:\n  - at: 1\n    kind: note\n    at: 2\n", 5,
     "events[0].at"),
    ("scenario: small_district\nscenario: jiangbei\nevents: []\n", 2, "scenario"),
    ("scenario: small_district\ndays: .nan\nevents: []\n", 2, "days"),
    ("scenario: small_district\ndays: .inf\nevents: []\n", 2, "days"),
    ("scenario: small_district\ndays: 1e9\nevents: []\n", 2, "days"),
    ("scenario: small_district\ntitle: [1, 2]\nevents: []\n", 2, "title"),
    ("scenario: small_district\nevents:\n  - {at: .inf, kind: note}\n", 3, "events[0].at"),
    ("scenario: small_district\nevents:\n  - {at: 1, kind: note, 5: x}\n", 3, "events[0]"),
    ("scenario: small_district\nevents:\n  - {at: 1, kind: unit_absence, unit_type: police, "
     "shift: 5, share: 50%}\n", 3, "events[0].shift"),
    ("scenario: small_district\nevents:\n  - {at: 1, kind: mediator_absence, share: nan%}\n",
     3, "events[0].share"),
    ("scenario: small_district\nevents:\n  - {at: 2024-01-01, kind: note}\n", 3,
     "events[0].at"),
    ("scenario: small_district\nevents:\n  - {at: 1, kind: note, note: !!binary aGk=}\n", 3,
     "events[0].note"),
    ("scenario: small_district\nevents: !!python/object:os.system {}\n", 2, "not valid YAML"),
])
def test_bad_timeline_files_name_file_line_and_field(tmp_path, body, line, field):
    timeline_refused(write(tmp_path, body), line, field)


def test_a_billion_laughs_timeline_stops_early(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    started = time.process_time()
    timeline_refused(write(tmp_path, "\n".join(lines) + "\nevents: []\n"), None, "too large")
    assert time.process_time() - started < 10


def test_timeline_names_that_are_not_files_are_one_line():
    assert "100,000 characters" in timeline_refused("x" * 100_000, None, "no such file")
    timeline_refused("a\nb", None, "no such file")
    timeline_refused("\x00.yaml", None, "no such file")
    timeline_refused(str(ROOT / "conf"), None, "no such file")


def test_what_trainers_write_still_loads(tmp_path):
    """A byte-order mark, aliases and merge keys are ordinary YAML, not errors."""
    body = ("\ufeffscenario: small_district\nevents:\n"
            "  - &base {at: 1, kind: mediator_absence, share: 30%, mediator_kind: part_time}\n"
            "  - <<: *base\n    at: 2\n  - *base\n")
    cfg, tl = config_with_timeline([f"timeline={write(tmp_path, body)}", "sim.days=0.1"])
    assert [e["at"] for e in cfg["scenario"]["events"][-3:]] == [1, 2, 1]
    assert all(e["share"] == pytest.approx(0.3) for e in tl.events)


def test_a_20000_event_timeline_validates_in_seconds(tmp_path):
    kinds = [("note", "note: event {i}"),
             ("mediator_absence", "share: 10%\n    mediator_kind: part_time"),
             ("unit_absence", "share: 0.2\n    unit_type: police\n    shift: 1"),
             ("dispute", "category: labour\n    community: {c}"),
             ("incident", "incident_kind: fight\n    grid: {g}")]
    parts = ["scenario: small_district\ndays: 30\nevents:\n"]
    for i in range(20_000):
        kind, extra = kinds[i % len(kinds)]
        parts.append(f"  - at: {i * 29 / 20_000:.4f}\n    kind: {kind}\n    "
                     f"{extra.format(i=i, c=1 + i % 12, g=1 + i % 6)}\n")
    path = write(tmp_path, "".join(parts))
    started = time.process_time()
    cfg, tl = config_with_timeline([f"timeline={path}"])
    seconds = time.process_time() - started
    assert len(cfg["scenario"]["events"]) == 20_000 and len(tl.lines) == 20_000
    assert seconds < 15, f"{seconds:.1f} s of CPU to validate 20,000 events (was 39 s)"


def test_shipped_timelines_still_load():
    for name in ("festival_night", "staff_shortage", "wage_dispute"):
        assert load_timeline(name).events


def test_every_cli_case_in_process_prints_one_line_and_writes_nothing(tmp_path, monkeypatch):
    import contextlib
    import io

    from experiments.run import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("not a folder")
    for args, field in CLI_CASES:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(_argv(args, tmp_path)) == 2, args
        assert err.getvalue().count("\n") == 1, (args, err.getvalue())
        assert err.getvalue().startswith(f"error: {field}"), (args, err.getvalue())
    assert [p.name for p in tmp_path.iterdir()] == ["FILE"]


@pytest.mark.parametrize("name", ["a" * 100_000, "x\0y"])
def test_animate_names_a_name_the_file_system_cannot_hold(name):
    from experiments.demo.animate import to_overrides

    with pytest.raises(ConfigError, match="neither a scenario"):
        to_overrides([name])
