"""The schema is the one place a parameter is defined: every leaf has a source, every assumed
number a plausible range around it, no YAML repeats a value it would inherit, and the
generated docs/parameters.md is current."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from experiments.analysis.params import markdown, resolved
from sim.config import Policy, Scenario, schema_defaults

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"


def _inside(value, plausible) -> bool:
    lo, hi = plausible
    if isinstance(value, list):
        return all(a <= v <= b for v, a, b in zip(value, lo, hi, strict=True))
    return lo <= value <= hi


def _numeric(value) -> bool:
    """A number, or a list of numbers (a list of names, such as duties, is a choice)."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return number(value) or (isinstance(value, list) and bool(value)
                             and all(number(v) for v in value))


def test_every_leaf_has_a_source_and_every_assumed_number_a_plausible_range():
    out = subprocess.run([sys.executable, "-m", "experiments.params", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    params = json.loads(out)
    assert len(params) > 200
    assert {"name", "value", "unit", "range", "source", "plausible"} <= set(params[0])
    assert not [p["name"] for p in params if not p["source"]]
    numbers = [p for p in params if p["source"] == "assumed" and _numeric(p["value"])]
    assert numbers
    missing = [p["name"] for p in numbers if p["plausible"] is None]
    assert not missing, missing
    outside = [p["name"] for p in numbers if not _inside(p["value"], p["plausible"])]
    assert not outside, outside
    for p in params:
        if p["range"] is not None and isinstance(p["value"], (int, float)) and not isinstance(
                p["value"], bool):
            lo, hi = p["range"]
            assert (lo is None or p["value"] >= lo) and (hi is None or p["value"] <= hi), p


def _leaves(tree, prefix=""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            if k == "defaults":
                continue
            yield from _leaves(v, f"{prefix}{k}.")
    else:
        yield prefix[:-1], tree


def _get(tree, path):
    for part in path.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return KeyError
        tree = tree[part]
    return tree


@pytest.mark.parametrize("group, model", [("scenario", Scenario), ("policy", Policy)])
def test_no_yaml_repeats_a_value_it_would_inherit(group, model):
    """A YAML holds only what differs from what it starts from (the schema or its parent)."""
    defaults = schema_defaults()[group]
    repeated = []
    for path in sorted((CONF / group).glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parents = [d for d in raw.get("defaults", []) if d not in ("_self_", "schema")]
        inherited = defaults
        for parent in parents:     # one level is enough for our files (checked below)
            parent_raw = yaml.safe_load((CONF / group / f"{parent}.yaml").read_text()) or {}
            assert not [d for d in parent_raw.get("defaults", []) if d not in (
                "_self_", "schema")], f"{parent}.yaml: nest at most one level"
            inherited = _merge(defaults, parent_raw)
        for name, value in _leaves(raw):
            if name in ("name", "description") or isinstance(value, str) and "${" in value:
                continue
            if not parents and "schema" not in raw.get("defaults", []) and _in_mapping(
                    model, name):
                continue       # without the schema node a mapping replaces the default whole
            if _get(inherited, name) == value:
                repeated.append(f"{path.name}: {name}={value!r}")
    assert not repeated, repeated


def _in_mapping(model, path: str) -> bool:
    """Whether `path` lies inside a dict-valued field (a table keyed by kind, not a model)."""
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        field = model.model_fields.get(part)
        if field is None:
            return False
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
            continue
        return getattr(ann, "__origin__", None) is dict or i < len(parts) - 1
    return False


def _merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if k == "defaults":
            continue
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k),
                                                                           dict) else v
    return out


def test_root_config_and_jiangbei_hold_no_numbers():
    """The default scenario's numbers live in the schema only."""
    jiangbei = yaml.safe_load((CONF / "scenario" / "jiangbei.yaml").read_text())
    assert set(jiangbei) == {"defaults", "name", "description"}
    root = yaml.safe_load((CONF / "config.yaml").read_text())
    assert not {"seed", "sim", "output"} & set(root)


def test_docs_parameters_md_is_current():
    expected = markdown(resolved([]), [])
    current = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert current == expected, ("docs/parameters.md is stale: run "
                                 "python -m experiments.params --markdown docs/parameters.md")


def test_params_table_for_overrides_shows_the_policy():
    params = {p.name: p for p in resolved(["scenario=small_district", "policy=grids_50"])}
    assert params["scenario.grids.count"].value == 50
    assert params["scenario.geography.population"].value == 60_000
    assert params["scenario.grids.count"].source == "report"


def test_params_bad_override_is_one_line_exit_2():
    proc = subprocess.run([sys.executable, "-m", "experiments.params", "sim.days=-3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "sim.days" in proc.stderr
