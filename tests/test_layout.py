"""Every command users type, ``python -m experiments.<verb>``, still starts after a move.

Three run ``--help`` in a fresh interpreter exactly as a user would (the run, a thin analysis
entry point, the demo package's ``__main__``); the rest go through ``runpy`` in this process,
which is the same code path as ``python -m`` without paying for a new interpreter each.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra.utils import get_object

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"

# Every command; add a new one here (see experiments/__init__.py).
VERBS = ["run", "collect", "compare", "plot", "report", "advisor", "optimize", "demo", "animate",
         "params", "sensitivity", "robustness"]
IN_SUBPROCESS = {"run", "compare", "demo"}


def test_every_command_in_experiments_is_listed():
    modules = {p.stem for p in EXPERIMENTS.glob("*.py") if p.stem != "__init__"}
    packages = {p.parent.name for p in EXPERIMENTS.glob("*/__main__.py")}
    assert modules | packages == set(VERBS)


@pytest.mark.parametrize("verb", sorted(IN_SUBPROCESS))
def test_command_help_in_a_fresh_interpreter(verb):
    proc = subprocess.run([sys.executable, "-m", f"experiments.{verb}", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    if verb != "run":   # Hydra's own help names the app "run", not the module
        assert f"python -m experiments.{verb}" in proc.stdout


@pytest.mark.parametrize("verb", sorted(set(VERBS) - IN_SUBPROCESS))
def test_command_help_through_runpy(verb, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [f"experiments/{verb}.py", "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(f"experiments.{verb}", run_name="__main__", alter_sys=True)
    assert exit_.value.code == 0
    assert f"usage: python -m experiments.{verb}" in capsys.readouterr().out


def test_hydra_targets_in_conf_resolve():
    """A ``_target_`` in conf/ names a dotted path: moving its class must not break it."""
    def targets(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "_target_":
                    yield value
                else:
                    yield from targets(value)
        elif isinstance(node, list):
            for item in node:
                yield from targets(item)

    found = [t for f in sorted((ROOT / "conf").rglob("*.yaml"))
             for t in targets(yaml.safe_load(f.read_text(encoding="utf-8")))]
    assert found, "no _target_ in conf/ any more: drop this test"
    for target in found:
        assert callable(get_object(target)), target


def test_the_policies_preset_sweeps_every_shipped_policy():
    preset = yaml.safe_load((ROOT / "conf/experiment/policies.yaml").read_text())
    swept = preset["hydra"]["sweeper"]["params"]["policy"].split(",")
    shipped = sorted(p.stem for p in (ROOT / "conf/policy").glob("*.yaml"))
    assert sorted(swept) == shipped
    # ... and the README names each of them.
    readme = (ROOT / "README.md").read_text()
    assert [p for p in shipped if f"`{p}`" not in readme] == []
