"""Run one scenario from the command line (Hydra).

    python -m experiments.run                          # the default district, one year
    python -m experiments.run scenario=mmc_mediation sim.days=30 seed=7
    python -m experiments.run -m seed=0,1,2            # a Hydra multirun

Outputs go to Hydra's run folder under ``results/`` (or ``output.dir``).  A bad config gets one
line naming the field and its allowed range, exit code 2, and nothing is written.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from sim import reported
from sim.compose import CONF_DIR
from sim.config import ConfigError, parse_config, to_dict
from sim.output import json_ready

EXIT_BAD_CONFIG = 2

# (metric, label, format) in the order the summary table prints them.
TABLE = [
    ("disputes_raised", "disputes raised", "{:,.0f}"),
    ("mean_wait_first_session_days", "wait for a first session (days)", "{:.2f}"),
    ("mediation_success_rate", "mediation success", "{:.2%}"),
    ("community_settled_share", "settled at community level", "{:.1%}"),
    ("escalation_rate", "escalated", "{:.1%}"),
    ("time_to_settle_p50_days", "time to settle p50 (days)", "{:.1f}"),
    ("time_to_settle_p90_days", "time to settle p90 (days)", "{:.1f}"),
    ("violent_turns_per_100k", "violent turns per 100k a year", "{:.2f}"),
    ("money_at_stake_yuan", "money at stake (M yuan)", "M{:.0f}"),
    ("incidents_total", "incidents", "{:,.0f}"),
    ("response_p50_min_p1", "P1 response p50 (min)", "{:.1f}"),
    ("response_p90_min_p1", "P1 response p90 (min)", "{:.1f}"),
    ("response_p90_min_p2", "P2 response p90 (min)", "{:.1f}"),
    ("response_p90_min_p3", "P3 response p90 (min)", "{:.1f}"),
    ("response_p99_min_p1", "P1 response p99 (min)", "{:.1f}"),
    ("p1_within_5min_share", "P1 arrivals within 5 min", "{:.1%}"),
    ("mean_queue_delay_min", "mean queue delay (min)", "{:.2f}"),
    ("cross_grid_share", "cross-grid dispatches", "{:.1%}"),
    ("overflow_share", "handed to backup", "{:.1%}"),
    ("abandoned_share", "callers who gave up waiting", "{:.1%}"),
    ("unreached_share", "still waiting at the end", "{:.1%}"),
    ("utilisation_unit_police", "utilisation: police", "{:.1%}"),
    ("calls_share_unit_police", "  of which on calls", "{:.1%}"),
    ("utilisation_unit_armed_patrol", "utilisation: armed patrol", "{:.1%}"),
    ("utilisation_unit_rapid_response", "utilisation: rapid response", "{:.1%}"),
    ("utilisation_unit_guard", "utilisation: guards", "{:.1%}"),
    ("utilisation_mediator_xiaoma", "utilisation: Xiao Ma (paid hours)", "{:.1%}"),
    ("utilisation_mediator_full_time", "utilisation: full-time mediators", "{:.1%}"),
    ("utilisation_mediator_part_time", "utilisation: part-time mediators", "{:.1%}"),
    ("utilisation_mediator_senior", "utilisation: senior (Lao Ma)", "{:.1%}"),
    ("redirected_share", "redirected at intake", "{:.1%}"),
    ("disputes_resolved_share", "disputes resolved (of raised)", "{:.1%}"),
    ("dispute_calls_share", "dispute-related share of calls", "{:.1%}"),
    ("mean_satisfaction", "satisfaction of residents served", "{:.3f}"),
]
REPORTED_TEXT = {"mediation_success_rate": "99.9%", "money_at_stake_yuan": "466"}
STRUCTURE_LABELS = {
    "streets": "streets/towns", "communities": "communities", "grids": "patrol grids",
    "committees": "mediation committees", "committee_mediators": "committee mediators",
    "committee_full_time": "  of whom full-time", "committee_part_time": "  of whom part-time",
    "xiaoma_full_time": "full-time Xiao Ma", "working_groups": "district working groups",
}


def _fmt(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if fmt.startswith("M"):
        return f"{value / 1e6:.0f}"
    return fmt.format(value)


def format_summary(summary: dict) -> str:
    """The end-of-run table; the default scenario shows the district's reported figures too."""
    metrics = summary["metrics"]
    calibrated = summary.get("calibration") is not None
    lines = [f"scenario {summary['scenario']}, seed {summary['seed']}, "
             f"{metrics.get('simulated_days', float('nan')):g} days, "
             f"{summary.get('wall_seconds', float('nan')):.1f} s"]
    head = f"{'metric':<36}{'simulated':>12}" + (f"{'reported':>12}" if calibrated else "")
    lines += [head, "-" * len(head)]
    own_map = _own_district(summary)
    if own_map:
        lines[0] += f", district {own_map}"
    if calibrated or own_map:
        for key, label in STRUCTURE_LABELS.items():
            lines.append(f"{label:<36}{summary['structure'][key]:>12}"
                         + (f"{reported.STRUCTURE[key]:>12}" if calibrated else ""))
    if own_map:
        lines += _own_map_lines(summary)
    # Days the metrics count: the run after its warm-up.
    warmup = summary.get("config", {}).get("sim", {}).get("warmup_days", 0.0) or 0.0
    days = metrics.get("simulated_days", 365.0) - warmup
    for key, label, fmt in TABLE:
        if key not in metrics:
            continue
        value = metrics[key]
        if key == "money_at_stake_yuan" and days > 0 and abs(days - 365.0) > 1e-6:
            # The report's figure is a year's: another length's total is shown as a year's.
            value, label = value * 365.0 / days, "money at stake (M yuan a year)"
        row = f"{label:<36}{_fmt(value, fmt):>12}"
        if calibrated:
            row += f"{REPORTED_TEXT.get(key, ''):>12}"
        lines.append(row)
    if calibrated and summary["metrics"].get("simulated_days", 0) < 365:
        lines.append("(reported figures are for a full year; this run is shorter)")
    if own_map:
        lines.append(OWN_DISTRICT_NOTE.format(scenario=summary["scenario"]))
    return "\n".join(lines)


OWN_DISTRICT_NOTE = (
    "(your district's folder sets the map, residents and roads; staffing and rates come from "
    "scenario {scenario}: set scenario.units.<type>.per_shift, scenario.mediators.* and "
    "scenario.grids.count for your district, see conf/districts/README.md)")


def _own_map_lines(summary: dict) -> list[str]:
    """Residents, where the grids came from, and each unit type's strength (per shift times
    shifts) for a run on a district folder."""
    structure = summary["structure"]
    scenario = summary.get("config", {}).get("scenario", {})
    lines = [f"{'residents':<36}{structure.get('residents', 0):>12,}"]
    if structure.get("grids_from_file"):
        lines.append("  (patrol grids from the folder's grids.geojson; scenario.grids.count is "
                     "not used, policy.grids=N redraws N)")
    for key, n in structure.items():
        if not key.startswith("units_"):
            continue
        name = key.removeprefix("units_")
        unit = scenario.get("units", {}).get(name, {})
        shifts = len(unit.get("shifts", ())) if unit.get("shift_hours", 0) < 24 else 1
        how = f" ({unit['per_shift']} x {shifts} shifts)" if unit and shifts > 1 else ""
        lines.append(f"{'units: ' + name.replace('_', ' ') + how:<36}{n:>12}")
    return lines


def _own_district(summary: dict) -> str | None:
    """The district folder of a run on a map other than Jiangbei's, else None."""
    path = summary.get("config", {}).get("scenario", {}).get("district", {}).get("path")
    return None if path is None or reported.is_jiangbei_map(path) else path


def validate_overrides(overrides: list[str], config_name: str = "config") -> str | None:
    """The one-line error a single run with these overrides would hit, or None if it is fine."""
    from hydra.errors import HydraException

    from sim.compose import compose_config, explain

    try:
        run = parse_config(compose_config(overrides, config_name))
    except ConfigError as exc:
        return str(exc)
    except (HydraException, ValueError) as exc:   # e.g. a malformed sweep value
        return explain(exc)
    return output_dir_problem(run.output.dir)


def output_dir_problem(folder: str | None) -> str | None:
    """Why the run could not write into `folder` (``output.dir``), found before it starts."""
    if folder is None:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in folder):
        return f"output.dir: must be a folder path without control characters, got {folder!r}"
    path = Path(folder)
    long = [part for part in path.parts if len(os.fsencode(part)) > 255]
    if long:
        return f"output.dir: a folder name is at most 255 bytes, got one of {len(long[0])}"
    try:
        if path.exists() and not path.is_dir():
            return f"output.dir: {folder!r} exists and is not a folder"
        ancestor = path.absolute()
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            return f"output.dir: {str(ancestor)!r} is a file, so {folder!r} cannot be made"
        if not os.access(ancestor, os.W_OK | os.X_OK):
            return f"output.dir: cannot create or write {folder!r} ({str(ancestor)!r} is " \
                   f"not writable)"
    except OSError as exc:
        return f"output.dir: cannot use {folder!r}: {exc.strerror or exc}"
    return None


def read_finished(outdir: Path) -> dict | None:
    """The summary of a run that already completed in `outdir` (its DONE marker exists)."""
    if not (outdir / "DONE").exists():
        return None
    try:
        return json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def sweep_combinations(overrides: list[str], limit: int = 64) -> list[list[str]]:
    """The single-run override lists a multirun command line must check (its own sweeps, not a
    preset's `hydra.sweeper.params`): every combination of the other keys' values, one value
    at a time if there are more than `limit` of them, and each seed once.  A seed is valid or
    not on its own, so a sweep over many seeds still has every other combination checked."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    choices: list[list[str]] = []
    seeds: list[str] = []
    for override in OverridesParser.create().parse_overrides(overrides):
        line = override.input_line
        if override.key_or_group.startswith("hydra"):
            continue  # launcher and sweep settings: not part of the run's config
        if not override.is_sweep_override():
            choices.append([line])
            continue
        key = line.split("=", 1)[0]
        try:
            values = [f"{key}={v}" for v in override.sweep_string_iterator()]
        except Exception:  # glob() needs Hydra's config loader: leave it to the jobs
            continue
        if key == "seed":
            choices.append(values[:1])
            seeds = values[1:]
        else:
            choices.append(values)
    product = 1
    for c in choices:
        product *= len(c)
    base = [c[0] for c in choices]
    if product <= limit:
        combos = [list(combo) for combo in itertools.product(*choices)]
    else:
        combos = [base[:i] + [v] + base[i + 1:] for i, c in enumerate(choices) for v in c]
    at = next((i for i, c in enumerate(base) if c.startswith("seed=")), None)
    return combos + [base[:at] + [seed] + base[at + 1:] for seed in seeds]


def output_dir(cfg: DictConfig) -> Path:
    if cfg.get("output", {}).get("dir"):
        return Path(cfg.output.dir)
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def run_job(cfg: DictConfig) -> float | None:
    """One Hydra job: run the scenario, write its outputs, print the summary table."""
    from sim.simulation import Simulation

    # Mesa logs every step at INFO, which Hydra's logging setup would print.
    logging.getLogger("MESA").setLevel(logging.WARNING)
    try:
        sim = Simulation(cfg)
    except ConfigError as exc:  # only reachable in multiruns (single runs are pre-checked)
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG) from None
    outdir = output_dir(cfg)
    done = read_finished(outdir)
    if done is not None and is_multirun() and done.get("config") == json_ready(
            to_dict(sim.config)):
        # Resuming a sweep: this job finished before with this very config; keep it.
        print(f"already finished, skipped: {outdir}")
        return done["metrics"].get("mediation_success_rate")
    if done is not None:
        print(f"note: replacing the earlier run in {outdir}", file=sys.stderr)
    result = sim.run()
    result.write(outdir)
    print(format_summary(result.summary))
    print(f"outputs: {outdir}")
    return result.metrics.get("mediation_success_rate")


# Hydra's own flags: those that only print something (no job runs), those that take a value,
# and the values some of them allow (None: any).
INFO_FLAGS = {"-h", "--help", "--hydra-help", "--version", "-i", "--info", "-c", "--cfg",
              "--resolve", "-sc", "--shell-completion", "-p", "--package"}
VALUE_FLAGS = {"-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir",
               "--experimental-rerun", "-c", "--cfg", "-p", "--package", "-i", "--info"}
FLAG_CHOICES = {"-c": ("job", "hydra", "all"), "--cfg": ("job", "hydra", "all"),
                "-i": ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath"),
                "-p": None, "--package": None}
FLAG_CHOICES["--info"] = FLAG_CHOICES["-i"]
RUN_FLAGS = {"-m", "--multirun", "-r", "--run", "-cn", "--config-name"}
KNOWN_FLAGS = INFO_FLAGS | VALUE_FLAGS | RUN_FLAGS


def split_argv(argv: list[str]) -> tuple[set[str], dict[str, str], list[str]]:
    """Hydra's flags (with their values) apart from the overrides."""
    flags, values, overrides, _ = _split(argv)
    return flags, values, overrides


def _split(argv: list[str]) -> tuple[set[str], dict[str, str], list[str], list[str]]:
    flags, values, overrides, tokens = set(), {}, [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            flags.add(name)
            tokens.append(arg)
            nxt = argv[i + 1] if i + 1 < len(argv) else "-"
            if name in VALUE_FLAGS and not eq and not nxt.startswith("-") and "=" not in nxt:
                value = argv[i + 1]
                tokens.append(value)
                i += 1
            if value:
                values[name] = value
        else:
            overrides.append(arg)
        i += 1
    return flags, values, overrides, tokens


def hydra_argv(argv: list[str]) -> list[str]:
    """The overrides, then the flags: Hydra's argparse cannot read overrides on both sides of
    a flag (``a=1 -m b=2``), and ``--info`` would take an override after it for its value."""
    _, _, overrides, tokens = _split(argv)
    return [*overrides, *tokens]


def flag_problem(flags: set[str], values: dict[str, str]) -> str | None:
    """The one-line error for a flag this command does not take, or None.

    Hydra's argparse would print its usage over several lines (and accepts abbreviations such
    as --multi); a flag it does not know must not reach it.
    """
    for name in sorted(flags):
        if name not in KNOWN_FLAGS:
            return (f"{name}: unknown option; options: -m/--multirun, -cn/--config-name, "
                    f"--cfg job|hydra|all, --resolve, -i/--info, -h/--help (settings are "
                    f"key=value overrides)")
    if "--resolve" in flags and not {"-c", "--cfg", "-h", "--help"} & flags:
        return "--resolve: only goes with --cfg (e.g. --cfg job --resolve)"
    if "--experimental-rerun" in flags:
        return ("--experimental-rerun: not supported (it replays a pickled config, which can "
                "run any code); rerun with the overrides in the job's .hydra/overrides.yaml")
    if {"-cp", "--config-path", "-cd", "--config-dir"} & flags:
        return ("--config-path/--config-dir: this simulator's configs live in conf/; select "
                "them with overrides (scenario=..., policy=...)")
    for name in ("-cn", "--config-name"):
        if name in flags:
            names = sorted(p.stem for p in CONF_DIR.glob("*.yaml"))
            if values.get(name) not in names:
                return (f"{name}: unknown config {values.get(name, '(none given)')!r}; "
                        f"allowed: {', '.join(names)}"[:300])
    for name, choices in FLAG_CHOICES.items():
        if name in flags and name in values and choices and values[name] not in choices:
            return f"{name}: must be one of {', '.join(choices)}, got {values[name]!r}"[:300]
        if name in flags and name not in values and name in ("-c", "--cfg", "-p", "--package"):
            return f"{name}: needs a value" + (f" ({'|'.join(choices)})" if choices else "")
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    flags, values, overrides = split_argv(argv)
    problem = flag_problem(flags, values)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    multirun = bool({"-m", "--multirun"} & flags)
    config_name = values.get("-cn") or values.get("--config-name") or "config"
    if flags & INFO_FLAGS:
        # Nothing runs, but a composition error should still be one line, not Hydra's three.
        if not {"-h", "--help", "--hydra-help", "--version", "-sc", "--shell-completion"} & flags:
            try:
                first = sweep_combinations(overrides, limit=1)[0] if multirun else overrides
                error = compose_problem(first, config_name)
            except Exception as exc:   # Hydra's parser on a malformed override
                from sim.compose import explain

                error = explain(exc)
            if error is not None:
                print(f"error: {error}", file=sys.stderr)
                return EXIT_BAD_CONFIG
    else:
        # Check every run's config before Hydra creates any output folder.
        try:
            combos = sweep_combinations(overrides) if multirun else [overrides]
        except Exception as exc:   # Hydra's parser on a malformed override
            from sim.compose import explain

            print(f"error: {explain(exc)}", file=sys.stderr)
            return EXIT_BAD_CONFIG
        for combo in combos:
            error = validate_overrides(combo, config_name)
            if error is not None:
                where = f" (in the run {' '.join(combo)})" if multirun else ""
                print(f"error: {error}{where}", file=sys.stderr)
                return EXIT_BAD_CONFIG
    sys.argv = [sys.argv[0], *hydra_argv(argv)]
    run_job()
    return 0


def compose_problem(overrides: list[str], config_name: str = "config") -> str | None:
    """The one-line error composing these overrides hits (values are not checked), or None."""
    from hydra.errors import HydraException

    from sim.compose import compose_config, explain

    try:
        compose_config(overrides, config_name)
    except ConfigError as exc:
        return str(exc)
    except (HydraException, ValueError) as exc:
        return explain(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
