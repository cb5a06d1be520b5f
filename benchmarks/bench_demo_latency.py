"""How fast the trainers' page answers the language switch, paused and at full speed.

    python -m benchmarks.bench_demo_latency [--repeats 5] [--scenario small_district]

Starts the page (``python -m experiments.demo``, festival_night at seed 1 as the browser test)
and headless Chromium at 1920x1080, steps to Day 1 01:00 so the boards have rows, then presses
the language button `--repeats` times while paused and `--repeats` times while playing as fast
as the page allows (1 ms between steps, 24 steps per redraw).  For each press it reports

- ``clock``: until the clock shows the other language (what tests/test_demo_browser.py checks);
- ``settled``: until the last change of the page caused by the press (the latest DOM mutation
  within 3 s after it, so charts and the map count, but not the button's click ripple); paused
  only: while playing the page changes anyway.

Median and max over the repeats, in seconds.  Issue 11 asks for 0.5 s.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_demo_browser import ARGS, CHROMIUM, _slider_to  # noqa: E402

# The last change of the page, not counting the button's own click ripple (Vuetify removes it
# ~0.6 s after the click, whatever the server does).
WATCH = """() => {
  const ripple = (n) => n && n.nodeType === 1 && String(n.className).includes('v-ripple');
  window.__lastMutation = performance.now();
  new MutationObserver((ms) => {
    for (const m of ms) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.closest('.v-ripple__container')) continue;
      if (m.type === 'childList' && [...m.addedNodes, ...m.removedNodes].every(ripple)) continue;
      window.__lastMutation = performance.now();
    }
  }).observe(document.body, {childList: true, characterData: true, subtree: true,
                             attributes: true, attributeFilter: ['src', 'class', 'style']});
}"""
IS_ZH = "() => document.querySelector('[data-testid=clock]').innerText.startsWith('第')"


def _press(page, to_zh: bool, settle: bool) -> tuple[float, float]:
    t0 = page.evaluate("() => performance.now()")
    page.locator("[data-testid=lang]").click()
    want = IS_ZH if to_zh else f"() => !({IS_ZH[6:]})"
    page.wait_for_function(want, timeout=30_000)
    t_clock = (page.evaluate("() => performance.now()") - t0) / 1000
    if not settle:
        return t_clock, float("nan")
    page.wait_for_timeout(3000)
    return t_clock, (page.evaluate("() => window.__lastMutation") - t0) / 1000


def _summary(name: str, xs: list[float]) -> str:
    return (f"{name}: median {statistics.median(xs):.2f} s, max {max(xs):.2f} s  "
            f"({', '.join(f'{x:.2f}' for x in xs)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from benchmarks.bench_map_fps import demo_page

    with demo_page("timeline=festival_night", "seed=1", timeout=60) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(url, wait_until="domcontentloaded", timeout=30_000)
            page.wait_for_selector("[data-testid=map] svg .vm-community", timeout=30_000)
            for n in range(1, 13):
                page.locator("[data-testid=step]").click()
                page.wait_for_function(
                    "(t) => document.querySelector('[data-testid=clock]').innerText.endsWith(t)",
                    arg=f"{n * 5 // 60:02d}:{n * 5 % 60:02d}", timeout=20_000)
            page.wait_for_timeout(2000)
            page.evaluate(WATCH)
            paused_clock, paused_settled = [], []
            zh = False
            for _ in range(args.repeats):
                zh = not zh
                c, s = _press(page, zh, settle=True)
                paused_clock.append(c)
                paused_settled.append(s)
            if zh:                          # back to English for the slider labels
                _press(page, False, settle=False)
                zh = False
            # One-minute ticks, so the run (3 days) is still going when the presses are over.
            page.locator("[data-testid=tick-minutes]").click()
            page.locator(".v-menu__content .v-list-item",
                         has_text=re.compile(r"^\s*1 min\s*$")).click()
            _slider_to(page, "Pause between steps", "Home")
            _slider_to(page, "Steps per press", "End")
            page.wait_for_timeout(1000)
            page.locator("[data-testid=play]").click()
            page.wait_for_timeout(1000)
            playing = []
            for _ in range(args.repeats):
                zh = not zh
                playing.append(_press(page, zh, settle=False)[0])
                page.wait_for_timeout(300)
            over = page.locator("[data-testid=run-over]").count() > 0
            clock = page.locator("[data-testid=clock]").inner_text()
            page.locator("[data-testid=pause]").click()
            browser.close()
    print(f"language switch, festival_night seed 1, {args.repeats} presses each:")
    print("  paused  " + _summary("clock  ", paused_clock))
    print("  paused  " + _summary("settled", paused_settled))
    print("  playing " + _summary("clock  ", playing)
          + (f"  (the run was over by {clock}: not all at full speed)" if over else
             f"  (still playing at {clock})"))


if __name__ == "__main__":
    main()
