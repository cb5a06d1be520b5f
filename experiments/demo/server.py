"""Start the trainers' live browser demo (issue #4).

    python -m experiments.demo                                   # small_district, one week
    python -m experiments.demo timeline=festival_night           # a shipped timeline
    python -m experiments.demo scenario=small_district seed=3 timeline=staff_shortage --port 8800

Arguments are Hydra-style overrides as for ``experiments.run`` plus ``timeline=<name or path>``.
The page is served on http://127.0.0.1:8765/ (``--host``/``--port``); it needs no internet:
Solara's front-end comes from the ``solara-assets`` package.  A bad scenario or timeline stops
here with one line naming the field (and the timeline's file and line), exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sim.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = "small_district"   # the full district redraws too slowly for a classroom
EXIT_BAD_CONFIG = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="e.g. scenario=small_district seed=3 "
                                                "timeline=festival_night")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    return p.parse_args(argv)


def demo_overrides(overrides: list[str]) -> list[str]:
    """The overrides with the demo's default scenario unless one (or a timeline) names it."""
    if any(o.startswith(("scenario=", "timeline=")) for o in overrides):
        return list(overrides)
    return [f"scenario={DEFAULT_SCENARIO}", *overrides]


def check(overrides: list[str]) -> None:
    """Compose and validate before starting a server (raises ConfigError)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    os.environ["DISTRICT_DEMO_OVERRIDES"] = json.dumps(overrides)
    from experiments.demo.model import DemoModel

    try:
        DemoModel()
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = demo_overrides(args.overrides)
    try:
        check(overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    env = dict(os.environ)
    env.update({
        "DISTRICT_DEMO_OVERRIDES": json.dumps(overrides),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",   # no phoning home (and no internet anyway)
        "SOLARA_THEME_SHOW_BANNER": "False",   # "This website runs on Solara" sat over the panels
        "MPLBACKEND": "Agg",
        # A closed tab's model is freed this long after its socket closes (Solara's default keeps
        # it a day: 30-50 MB per tab, never returned).  Long enough to survive a page reload.
        "SOLARA_KERNEL_CULL_TIMEOUT": env.get("SOLARA_KERNEL_CULL_TIMEOUT", "20s"),
        # Each tab's threads got glibc malloc arenas of their own, and freed memory stayed in
        # them: RSS grew ~5 MB per closed tab although its objects were all freed (tracemalloc
        # flat).  Two arenas: ~1 MB per tab over 15 tabs after warm-up.
        "MALLOC_ARENA_MAX": env.get("MALLOC_ARENA_MAX", "2"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    })
    cmd = [sys.executable, "-m", "solara", "run", "experiments.demo.app", "--host", args.host,
           "--port", str(args.port), "--no-open", "--production", "--no-check-version"]
    print(f"District demo on http://{args.host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    os.chdir(ROOT)
    # Replace this process, so Ctrl-C and a test's kill reach the server directly.
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())
