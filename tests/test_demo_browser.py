"""End to end: start the trainers' page on localhost and drive it in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (``playwright install`` cannot download here) and
the ``playwright`` Python package; without them the test is skipped and says why.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (python) is not installed"
    try:
        import solara  # noqa: F401
    except ImportError:
        return "solara is not installed (the demo extra)"
    return None


REASON = _skip_reason()
if REASON:
    print(f"test_demo_browser skipped: {REASON}", file=sys.stderr)
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, request):
    port = _free_port()
    env = dict(os.environ, **getattr(request, "param", {}))
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.demo", "timeline=festival_night", "seed=1",
         "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 40
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"demo server did not start:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.3)
        yield url, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


# Every label the sidebar showed in English before the demo had its own controls (Mesa's
# controller, card titles and step counter); none may remain after switching to Chinese.
ENGLISH_CONTROLS = ("Controls", "Play Interval", "Render Interval", "Use Threads", "Reset",
                    "Step", "Play", "Pause", "Model Parameters", "Time:", "Page 0", "Run")
MAP_READY = "() => document.querySelectorAll('[data-testid=map] svg .vm-community').length > 0"


def _id(name: str) -> str:
    return f"[data-testid={name}]"


def _clock_is(page, text: str) -> None:
    page.wait_for_function("(t) => document.querySelector('[data-testid=clock]')?.innerText === t",
                           arg=text, timeout=20_000)


def test_control_room(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        external, errors = [], []
        page.on("request", lambda r: r.url.startswith(LOCAL) or external.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server[0], wait_until="domcontentloaded", timeout=30_000)
        for hook in ("map", "clock", "step", "play", "pause", "reset", "speed", "tick-minutes",
                     "lang", "unit-board", "incident-queue", "dispute-board", "log",
                     "case-story"):
            page.locator(_id(hook)).first.wait_for(state="attached", timeout=30_000)
        clock = page.locator(_id("clock"))
        assert clock.inner_text() == "Day 1, 00:00"
        page.wait_for_function(MAP_READY, timeout=30_000)
        page.wait_for_function("document.title === 'District safety training demo'",
                               timeout=10_000)      # the tab's name, not the framework's

        # Step advances by the chosen tick: 5 minutes by default, then 10.
        page.locator(_id("step")).click()
        _clock_is(page, "Day 1, 00:05")
        page.locator(_id("tick-minutes")).click()
        page.locator(".v-menu__content .v-list-item", has_text="10 min").click()
        page.locator(_id("step")).click()
        _clock_is(page, "Day 1, 00:15")
        assert "Trainer set tick minutes to 10" in page.locator(_id("log")).inner_text()

        # The unit board lists every unit on duty (the clock card counts them).
        n_on_duty = int(page.locator(".demo-units").inner_text().split()[0])
        assert n_on_duty > 0
        assert page.locator(_id("unit-row")).count() == n_on_duty

        # Play until a unit is on scene, pause, and follow its incident.
        page.locator(_id("play")).click()
        on_scene = page.locator(_id("unit-row"), has_text="on scene").first
        on_scene.wait_for(state="attached", timeout=45_000)
        page.locator(_id("pause")).click()
        page.wait_for_function("() => document.querySelector('[data-testid=pause]').disabled",
                               timeout=5_000)
        on_scene = page.locator(_id("unit-row"), has_text="on scene").first
        # A frame already on its way when Pause was pressed may have cleared that unit: step on
        # (paused) until one is on scene again.
        for _ in range(24):
            if on_scene.count():
                break
            before = clock.inner_text()
            page.locator(_id("step")).click()
            page.wait_for_function("(t) => document.querySelector('[data-testid=clock]')"
                                   ".innerText !== t", arg=before, timeout=10_000)
        on_scene.click()
        story = page.locator(_id("case-story"))
        page.wait_for_function("() => document.querySelector('[data-testid=case-story]')"
                               ".innerText.includes('arrived')", timeout=20_000)
        text = story.inner_text()
        assert "reported" in text and "dispatched" in text and "ETA" in text, text
        page.wait_for_function(MAP_READY, timeout=20_000)
        results = ROOT / "results"
        results.mkdir(exist_ok=True)
        page.screenshot(path=str(results / "control_room_en.png"))

        page.locator(_id("lang")).click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=clock]').innerText.startsWith('第1天')",
            timeout=20_000)
        # Solara re-renders the sidebar's controls after the clock; on a loaded machine later.
        for label in ("运行控制", "政策（即时生效）", "兼职调解员", "在岗单位", "案件经过"):
            page.wait_for_function("(t) => document.body.innerText.includes(t)", arg=label,
                                   timeout=30_000)
        sidebar = page.locator(".v-navigation-drawer").inner_text().lower()
        left = [w for w in ENGLISH_CONTROLS if w.lower() in sidebar]
        assert not left, f"still in English: {left}"
        assert "到场" in story.inner_text()
        page.wait_for_function(MAP_READY, timeout=20_000)
        page.screenshot(path=str(results / "control_room_zh.png"))

        # Follow a dispute from its board row: its story, its badge ringed on the map.
        row = page.locator(_id("dispute-row")).first
        ident = row.locator("td").first.inner_text()
        row.click()
        page.wait_for_function("(t) => document.querySelector('[data-testid=case-story]')"
                               ".innerText.includes(t)", arg="向调解组织反映", timeout=20_000)
        assert ident in story.inner_text()
        page.wait_for_selector(".vm-badge.vm-selected .vm-selring", timeout=20_000)
        # A log line that names an incident opens that incident's story.
        page.locator(".log-case[data-case^='incident:']").first.click()
        page.wait_for_function("() => document.querySelector('[data-testid=case-story]')"
                               ".innerText.includes('接报')", timeout=20_000)

        # Reset keeps the live knobs (the tick stays 10 min) and starts again.
        page.locator(_id("reset")).click()
        _clock_is(page, "第1天 00:00")
        page.locator(_id("step")).click()
        _clock_is(page, "第1天 00:10")

        # Run side by side: copy B appears on A's clock, with its knobs, and follows each Step.
        page.locator(_id("side-by-side-switch")).locator(
            ".v-input--selection-controls__ripple").click()
        panel = page.locator(_id("side-by-side"))
        panel.wait_for(state="visible", timeout=30_000)
        assert "老马带小马关" in panel.inner_text() and "第1天 00:10" in panel.inner_text()
        page.locator(_id("step")).click()
        page.wait_for_function("() => document.querySelector('[data-testid=side-by-side]')"
                               "?.innerText.includes('第1天 00:20')", timeout=20_000)
        assert panel.locator("svg.demo-chart").count() == 2     # the difference charts
        browser.close()
    assert (results / "control_room_zh.png").stat().st_size > 50_000
    assert not external, f"the page asked the internet for {external}"
    assert not errors, errors


def _rss_mb(pid: int) -> float:
    # The server is `python -m solara` exec'd in place of our CLI: the same pid.
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


# 10 tab cycles by default; DEMO_SOAK=1 runs the 50 (4 min on a loaded machine).  The
# growth comes early (warm caches, malloc arenas) and then flattens: measured +31 MB over 50
# (361 -> 392 MB) and +15-21 MB over 10, against ~7 MB per tab before the fix (70 over 10).
CYCLES = 50 if os.environ.get("DEMO_SOAK") else 10
LIMIT_MB = 100 if CYCLES >= 50 else 40


@pytest.mark.parametrize("server", [{"SOLARA_KERNEL_CULL_TIMEOUT": "2s"}], indirect=True)
def test_closed_tabs_are_released(server):
    """Tabs opened (each builds its own model and steps once) and closed: the server's memory
    stays flat once Solara culls closed tabs (the demo sets the cull delay; 2 s here): under
    100 MB over 50 tabs, 40 MB over 10."""
    from playwright.sync_api import sync_playwright

    url, pid = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        def cycle():
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url, wait_until="domcontentloaded", timeout=30_000)
            page.locator(_id("step")).click(timeout=30_000)
            _clock_is(page, "Day 1, 00:05")
            page.close()

        for _ in range(5):          # warm up: imports, fonts and caches are not a leak
            cycle()
        start = _rss_mb(pid)
        for _ in range(CYCLES):
            cycle()
        browser.close()
    limit = LIMIT_MB
    deadline = time.monotonic() + 30
    while _rss_mb(pid) - start >= limit and time.monotonic() < deadline:
        time.sleep(1)               # the last tabs are culled 2 s after closing
    growth = _rss_mb(pid) - start
    print(f"server RSS {start:.0f} MB -> {_rss_mb(pid):.0f} MB over {CYCLES} tab cycles "
          f"({growth / CYCLES:.2f} MB per cycle)")
    assert growth < limit, f"server RSS grew {growth:.0f} MB over {CYCLES} tab cycles"


# Records when the clock's text last changed (performance.now(), ms), for latency checks.
WATCH_CLOCK = """() => {
  const el = document.querySelector('[data-testid=clock]');
  window.__clockChanged = performance.now();
  new MutationObserver(() => { window.__clockChanged = performance.now(); })
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""


def _slider_to(page, label: str, key: str) -> None:
    """Move the sidebar slider labelled `label` to an end with the keyboard."""
    page.locator(".v-input", has_text=label).locator(".v-slider__thumb-container").first.focus()
    page.keyboard.press(key)


# Measured on this machine (2 cores shared with other work, load 2-4): Pause 0.11-0.63 s alone,
# up to 1.3 s with another browser test in parallel (frames already sent still arrive: the
# server does not wait for the browser).  The language switch took 0.4-0.7 s when paused and
# 0.5-1.7 s while playing while the charts were matplotlib PNGs and every table cell and log line
# its own widget (~200 messages a switch); with SVG charts and one widget per board and log,
# benchmarks/bench_demo_latency.py measures median 0.23 s paused and 0.22 s at full speed (load
# 5), and this test 0.46 s beside another browser test.  The 0.5 s, with margin for a
# loaded machine: 1 s.
PAUSE_S, LANGUAGE_S = 2.0, 1.0


def test_pause_and_language_answer_at_full_speed(server):
    """Playing as fast as the page allows (1 ms between steps, 24 steps per redraw), Pause stops
    the clock within PAUSE_S and the language switch shows within LANGUAGE_S."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(server[0], wait_until="domcontentloaded", timeout=30_000)
        page.locator(_id("play")).wait_for(state="attached", timeout=30_000)
        # One-minute ticks: at 24 steps a frame the three days last ~180 frames, long enough to
        # play, pause and play again (at 5 minutes a frame now takes so little that the run
        # could end before Pause).
        page.locator(_id("tick-minutes")).click()
        page.locator(".v-menu__content .v-list-item", has_text=re.compile(r"^\s*1 min\s*$")).click()
        _slider_to(page, "Pause between steps", "Home")
        _slider_to(page, "Steps per press", "End")
        page.wait_for_function("() => document.body.innerText.includes('24')", timeout=10_000)
        page.evaluate(WATCH_CLOCK)
        latencies = {}
        for what in ("pause", "lang"):
            page.locator(_id("play")).click()
            page.wait_for_function("() => performance.now() - window.__clockChanged < 300 &&"
                                   " document.querySelector('[data-testid=clock]').innerText"
                                   " !== 'Day 1, 00:00'", timeout=20_000)
            page.wait_for_timeout(2000)          # playing at full speed for a while
            t0 = page.evaluate("() => performance.now()")
            if what == "pause":
                page.locator(_id("pause")).click()
                page.wait_for_timeout(3000)      # long enough to see that it stopped
                latencies[what] = (page.evaluate("() => window.__clockChanged") - t0) / 1000
            else:
                page.locator(_id("lang")).click()
                page.wait_for_function("() => document.querySelector('[data-testid=clock]')"
                                       ".innerText.startsWith('第')", timeout=30_000)
                latencies[what] = (page.evaluate("() => performance.now()") - t0) / 1000
        # Play on to the end: the run says it is over (in Chinese now) and stays put.
        page.locator(_id("run-over")).wait_for(state="attached", timeout=90_000)
        assert "运行结束" in page.locator(_id("run-over")).inner_text()
        _clock_is(page, "第4天 00:00")
        assert page.locator(_id("play")).is_disabled() and page.locator(_id("step")).is_disabled()
        # Play stopped with the run: Pause has nothing left to pause.
        page.wait_for_function("() => document.querySelector('[data-testid=pause]').disabled",
                               timeout=10_000)
        browser.close()
    print(f"latency at full speed: pause {latencies['pause']:.2f} s, "
          f"language {latencies['lang']:.2f} s")
    assert latencies["pause"] < PAUSE_S and latencies["lang"] < LANGUAGE_S, latencies


PANELS = ("map", "unit-board", "incident-queue", "dispute-board", "log", "case-story")


def test_projector_1366(server):
    """At 1366x768: no horizontal scroll of the page, the map is the largest panel, the legend
    is readable (>= 12 px); the screenshot is saved under results/."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(server[0], wait_until="domcontentloaded", timeout=30_000)
        page.wait_for_function(MAP_READY, timeout=30_000)
        page.locator(_id("step")).click()
        _clock_is(page, "Day 1, 00:05")
        page.wait_for_timeout(1000)
        scroll = page.evaluate("() => [document.documentElement.scrollWidth,"
                               " document.documentElement.clientWidth]")
        areas = {name: page.locator(_id(name)).first.bounding_box() for name in PANELS}
        legend_px = page.evaluate("() => parseFloat(getComputedStyle("
                                  "document.querySelector('.vm-lrow')).fontSize)")
        # A board wider than its panel hides its last columns behind a sideways scroll.
        clipped = page.evaluate("() => [...document.querySelectorAll('.demo-board')]"
                                ".filter(b => b.scrollWidth > b.clientWidth + 1)"
                                ".map(b => b.dataset.testid)")
        results = ROOT / "results"
        results.mkdir(exist_ok=True)
        page.screenshot(path=str(results / "control_room_1366_en.png"))
        text = page.locator("body").inner_text()
        browser.close()
    assert scroll[0] <= scroll[1], f"the page scrolls sideways: {scroll}"
    size = {k: b["width"] * b["height"] for k, b in areas.items()}
    assert max(size, key=size.get) == "map", size
    assert legend_px >= 12, legend_px
    assert not clipped, f"boards cut off at 1366 px: {clipped}"
    assert "runs on Solara" not in text, "a banner over the panels"
