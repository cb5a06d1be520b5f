"""Frames per second of the browser map while the page plays, and the server's time per tick.

    python -m benchmarks.bench_map_fps [--seconds 10] [--until-day 1.0] [--scenario jiangbei]

Server side (in this process): steps the page's model at 5-minute ticks (the page's default)
and times the step and ``map_state`` (the JSON the map is sent after a tick) separately.
Browser side: starts the page (``python -m experiments.demo``) and headless Chromium at
1920x1080, presses Play and counts, over `--seconds`, the frames the map drew
(``window.__mapFrames``, one per requestAnimationFrame that moved something) and the states it
received (``window.__mapStates``).  Needs /usr/bin/chromium and the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def server_side(scenario: str, until_day: float) -> None:
    from experiments.demo.model import ENV_OVERRIDES, DemoModel, base_setup
    from experiments.demo.vector_map import map_state, static_layers

    os.environ[ENV_OVERRIDES] = json.dumps([f"scenario={scenario}"])
    base_setup.cache_clear()
    model = DemoModel()
    t = time.perf_counter()
    layers = static_layers(model.district)
    t_layers = time.perf_counter() - t
    steps, states, sizes = [], [], []
    while model.now < until_day * 1440:
        t = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        s = map_state(model)
        t2 = time.perf_counter()
        sizes.append(len(json.dumps(s)))
        steps.append(t1 - t)
        states.append(t2 - t1)

    def q(xs, f):
        return 1000 * sorted(xs)[int(f * (len(xs) - 1))]

    both = [a + b for a, b in zip(steps, states, strict=True)]
    print(f"server, {scenario}, 5-min ticks to day {until_day:g} ({len(steps)} ticks):")
    print(f"  static layers  : {1000 * t_layers:.0f} ms once, {len(json.dumps(layers)) // 1024} KB")
    print(f"  step           : median {q(steps, .5):.2f} ms, p95 {q(steps, .95):.2f} ms")
    print(f"  map_state      : median {q(states, .5):.2f} ms, p95 {q(states, .95):.2f} ms, "
          f"median {sorted(sizes)[len(sizes) // 2] / 1024:.1f} KB of JSON")
    print(f"  tick + state   : median {q(both, .5):.2f} ms, p95 {q(both, .95):.2f} ms")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_page(*overrides: str, timeout: float = 90.0) -> Iterator[str]:
    """The trainers' page served by ``python -m experiments.demo <overrides>`` on a free port:
    yields its address once it answers, and stops the server afterwards."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "experiments.demo", *overrides,
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the demo server did not start")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def browser_side(scenario: str, seconds: float) -> None:
    from playwright.sync_api import sync_playwright

    with demo_page(f"scenario={scenario}") as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            page.wait_for_selector("[data-testid=map] svg .vm-community", timeout=90_000)
            page.locator("[data-testid=play]").click()
            page.wait_for_function("() => document.querySelectorAll('.vm-unit').length > 0",
                                   timeout=60_000)
            page.wait_for_timeout(2000)                # warm up
            probe = ("() => [window.__mapFrames, window.__mapStates, performance.now(),"
                     " document.querySelector('[data-testid=clock]').innerText,"
                     " document.querySelectorAll('.vm-unit').length]")
            f0, s0, t0, c0, _ = page.evaluate(probe)
            page.wait_for_timeout(seconds * 1000)
            f1, s1, t1, c1, units = page.evaluate(probe)
            page.locator("[data-testid=pause]").click()
            browser.close()
        dt = (t1 - t0) / 1000
        print(f"browser, {scenario}, Chromium 1920x1080 headless, playing for {dt:.1f} s "
              f"({units} unit icons, clock {c0} -> {c1}):")
        print(f"  map frames     : {(f1 - f0) / dt:.1f} per second")
        print(f"  states received: {(s1 - s0) / dt:.1f} per second")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to count frames")
    ap.add_argument("--until-day", type=float, default=1.0,
                    help="simulated days stepped for the server-side timing")
    ap.add_argument("--scenario", default="jiangbei")
    ap.add_argument("--no-browser", action="store_true", help="server-side timing only")
    args = ap.parse_args()
    server_side(args.scenario, args.until_day)
    if not args.no_browser:
        browser_side(args.scenario, args.seconds)


if __name__ == "__main__":
    main()
