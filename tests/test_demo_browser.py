"""End to end: start the trainers' page on localhost and drive it in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (``playwright install`` cannot download here) and
the ``playwright`` Python package; without them the test is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
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
def server(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.demo", "timeline=festival_night", "seed=1",
         "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_step_map_language_screenshot(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        external, errors = [], []
        page.on("request", lambda r: r.url.startswith(LOCAL) or external.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server, wait_until="domcontentloaded", timeout=30_000)
        step = page.get_by_role("button", name="Step")
        step.wait_for(state="visible", timeout=30_000)
        clock = page.locator(".demo-clock")
        assert clock.inner_text() == "Day 1, 00:00"
        # Map and three charts are matplotlib images.
        page.wait_for_function(
            "() => [...document.querySelectorAll('.vue-grid-item img.widget-image')]"
            ".filter(i => i.complete && i.naturalWidth > 300).length >= 4", timeout=30_000)
        map_img = page.locator(".vue-grid-item img.widget-image").first
        before = map_img.get_attribute("src")

        for _ in range(10):     # 10 simulated hours: units are on duty and moving
            step.click()
        page.wait_for_function(
            "() => document.querySelector('.demo-clock').innerText === 'Day 1, 10:00'",
            timeout=20_000)
        page.wait_for_function("(b) => document.querySelector("
                               "'.vue-grid-item img.widget-image').src !== b", arg=before,
                               timeout=20_000)
        page.wait_for_function("() => document.body.innerText.includes('Time: 10')",
                               timeout=10_000)                          # Mesa's own counter
        log = page.locator(".narrative-log").inner_text()
        assert "dispatched" in log or "reported" in log, log
        # The map shows units: the sidebar counts what the map draws ("13 units on the map").
        units = page.locator(".demo-units").inner_text()
        assert int(units.split()[0]) > 0, units
        box = map_img.bounding_box()
        assert box["width"] > 400 and box["height"] > 300

        page.locator(".lang-switch").click()
        page.wait_for_function(
            "() => document.querySelector('.demo-clock').innerText.startsWith('第1天')",
            timeout=20_000)
        # SolaraViz remounts in the new language (same model, same time).
        page.wait_for_function("() => document.body.innerText.includes('刚刚发生了什么')",
                               timeout=20_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.vue-grid-item img.widget-image')]"
            ".filter(i => i.complete && i.naturalWidth > 300).length >= 4", timeout=20_000)
        body = page.locator("body").inner_text()
        assert "政策（即时生效）" in body and "兼职调解员" in body and "第1天 10:00" in body
        assert "Time: 10" in body                     # the model was not reset by the switch
        page.wait_for_timeout(500)
        shot = tmp_path / "demo_zh.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 50_000
    results = ROOT / "results"
    results.mkdir(exist_ok=True)
    shutil.copy(shot, results / "demo_browser_screenshot.png")
    assert not external, f"the page asked the internet for {external}"
    assert not errors, errors
