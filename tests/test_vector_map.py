"""The browser-drawn district map: the state it is sent, and the page in headless Chromium."""

from __future__ import annotations

import json
import math
import re

import pytest
from test_demo_browser import ARGS, CHROMIUM, REASON, _slider_to, server  # noqa: F401  (a fixture)

from experiments.demo import model as demo_model
from experiments.demo.vector_map import map_state, static_layers

OVERRIDES = ["timeline=festival_night", "seed=1"]    # what the `server` fixture starts


@pytest.fixture(scope="module")
def festival():
    """The model the page starts with, built here in-process, stepped to 21:00 on day 2."""
    mp = pytest.MonkeyPatch()
    mp.setenv(demo_model.ENV_OVERRIDES, json.dumps(OVERRIDES))
    demo_model.base_setup.cache_clear()
    try:
        m = demo_model.DemoModel()
        layers = static_layers(m.district)
        fresh = map_state(m)
        while m.now < 1440 + 21 * 60:
            m.step()
        yield m, layers, fresh
    finally:
        mp.undo()
        demo_model.base_setup.cache_clear()


def _along(path, f):
    seg = [math.dist(a, b) for a, b in zip(path, path[1:], strict=False)]
    left = f * sum(seg)
    for (a, b), s in zip(zip(path, path[1:], strict=False), seg, strict=True):
        if left <= s:
            g = left / s if s > 0 else 1.0
            return a[0] + g * (b[0] - a[0]), a[1] + g * (b[1] - a[1])
        left -= s
    return path[-1]


def test_state_matches_the_model(festival):
    m, layers, _ = festival
    assert len(layers["communities"]) == m.district.n_communities
    assert len(layers["grids"]) == m.district.n_grids
    assert all(c["d"].startswith("M") and c["d"].endswith("Z") for c in layers["communities"])
    s = map_state(m)
    on_duty = [u for u in m.units if u.state != "off_duty"]
    assert [u["id"] for u in s["units"]] == [u.name for u in on_duty]
    h = m.district.side_km
    for rec, u in zip(s["units"], on_duty, strict=True):
        x, y = m.shown_xy(u)
        assert rec["x"] == pytest.approx(x, abs=1e-3) and rec["y"] == pytest.approx(h - y, abs=1e-3)
    open_ids = {i.incident_id for i in m.desk.incidents
                if math.isnan(i.t_cleared) and not i.overflow and not i.abandoned}
    assert {i["id"] for i in s["incidents"]} == open_ids
    n_open = sum(d.outcome == "open" for d in m.mediation.disputes)
    assert sum(b["n"] for b in s["badges"]) == n_open


def test_browser_pace_is_the_models(festival):
    """A point a fraction f along the road still ahead (what the browser draws between ticks)
    is where the model puts the unit at now + f * (t1 - now)."""
    m, _, _ = festival
    h = m.district.side_km
    driving = [u for u in map_state(m)["units"] if "path" in u]
    while not driving:
        m.step()
        driving = [u for u in map_state(m)["units"] if "path" in u]
    units = {u.name: u for u in m.units}
    for rec in driving:
        for f in (0.0, 0.3, 0.8, 1.0):
            at = m.now + f * (rec["t1"] - m.now)
            x, y = units[rec["id"]].trip.position(at)
            px, py = _along(rec["path"], f)
            assert (px, py) == pytest.approx((x, h - y), abs=2e-3), (rec["id"], f)


def _transform(page, selector):
    return page.evaluate("(s) => document.querySelector(s)?.getAttribute('transform')", selector)


def _open_map(p, url: str):
    """Chromium at 1366x768 on the page, once its map is drawn: (browser, page, the page's
    script errors so far and to come)."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded", timeout=30_000)
    page.wait_for_selector("[data-testid=map] svg .vm-community", timeout=40_000)
    return browser, page, errors


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_map_in_the_browser(server, festival):  # noqa: F811
    from playwright.sync_api import sync_playwright

    _, layers, _ = festival
    with sync_playwright() as p:
        browser, page, errors = _open_map(p, server[0])
        page.locator("[data-testid=step]").click()       # at 00:00 no shift has started yet
        page.wait_for_function("() => document.querySelectorAll('.vm-unit').length > 0",
                               timeout=20_000)
        count = page.evaluate("""() => Object.fromEntries(['vm-community', 'vm-grid', 'vm-road',
            'vm-clabel', 'vm-unit'].map(c => [c, document.querySelectorAll(
            '[data-testid=map] svg .' + c).length]))""")
        assert count["vm-community"] == count["vm-clabel"] == len(layers["communities"])
        assert count["vm-grid"] == len(layers["grids"])
        assert count["vm-road"] == len(layers["roads"]) > 0
        # One icon per unit on duty, as the clock card counts them.
        assert count["vm-unit"] == int(page.locator(".demo-units").inner_text().split()[0])
        assert page.locator(".vm-legend").inner_text().count("\n") >= 10

        # One-minute ticks; play until a unit drives, pause, then one Step moves it.
        page.locator("[data-testid=tick-minutes]").click()
        page.locator(".v-menu__content .v-list-item", has_text=re.compile(r"^\s*1 min\s*$")).click()
        frames0 = page.evaluate("() => window.__mapFrames")
        for _ in range(6):
            page.locator("[data-testid=play]").click()
            page.wait_for_selector(".vm-unit[data-state=dispatched]", timeout=40_000)
            page.locator("[data-testid=pause]").click()
            page.wait_for_function("() => document.querySelector('[data-testid=pause]')"
                                   ".disabled", timeout=10_000)
            page.wait_for_timeout(600)              # the glide after the last state ends
            if page.locator(".vm-unit[data-state=dispatched]").count():
                break
        assert page.evaluate("() => window.__mapFrames") > frames0 + 10
        driving = page.locator(".vm-unit[data-state=dispatched]").first.get_attribute("data-id")
        sel = f".vm-unit[data-id='{driving}']"
        before = _transform(page, sel)
        clock = page.locator("[data-testid=clock]").inner_text()
        page.locator("[data-testid=step]").click()
        page.wait_for_function("(c) => document.querySelector('[data-testid=clock]')"
                               ".innerText !== c", arg=clock, timeout=20_000)
        page.wait_for_timeout(600)
        after = _transform(page, sel)
        xy = [tuple(map(float, re.findall(r"-?\d+\.?\d*", s))) for s in (before, after)]
        assert math.dist(*xy) > 0.5, (before, after)

        # Zoom in: the map's scale grows; a click on an incident opens its case story.
        world = _transform(page, ".vm-world")
        page.locator(".vm-zoom-in").click()
        page.wait_for_function("(w) => document.querySelector('.vm-world')"
                               ".getAttribute('transform') !== w", arg=world, timeout=5_000)
        page.locator(".vm-zoom-fit").click()
        incident = page.locator(".vm-incident").first
        ident = incident.get_attribute("data-id")
        incident.dispatch_event("click")
        page.wait_for_function("(i) => document.querySelector('[data-testid=case-story]')"
                               ".innerText.includes('#' + i)", arg=ident, timeout=20_000)
        # The picked incident is ringed on the map.
        page.wait_for_selector(f".vm-incident.vm-selected[data-id='{ident}'] .vm-selring",
                               timeout=10_000)
        browser.close()
    assert not errors, errors


def test_export_draws_the_same_state(festival):
    """The slide export draws from map_state: one marker per unit, one ring per incident, one
    badge per community with open disputes."""
    from matplotlib.figure import Figure

    from experiments.demo.map import draw_map

    m, _, _ = festival
    s = map_state(m)
    ax = Figure().add_subplot()
    draw_map(ax, m, "en", state=s)
    by_z = {}
    for c in ax.collections:
        by_z[c.get_zorder()] = by_z.get(c.get_zorder(), 0) + len(c.get_offsets())
    assert by_z.get(9, 0) == len(s["units"]) > 0
    assert by_z.get(7, 0) == len(s["incidents"])
    assert by_z.get(5, 0) == len(s["badges"])


def test_a_click_on_a_unit_follows_its_job(festival):
    from experiments.demo.app import _picked_case

    m, _, _ = festival
    busy = next(u for u in m.units if u.incident is not None)
    idle = next(u for u in m.units if u.incident is None)
    assert _picked_case(m, "unit", busy.name) == ("incident", busy.incident.incident_id)
    assert _picked_case(m, "unit", idle.name) is None
    assert _picked_case(m, "incident", "7") == ("incident", 7)
    assert _picked_case(m, "dispute", 3) == ("dispute", 3)


def test_a_badge_follows_its_foremost_dispute(festival):
    m, _, _ = festival
    badges = map_state(m)["badges"]
    assert badges
    rank = {"community": 0, "street": 1, "district": 2}
    for b in badges:
        mine = [d for d in m.mediation.disputes if d.is_open and d.community + 1 == b["c"]]
        top = m.dispute(b["top"])
        assert top in mine
        assert rank[top.level] == max(rank[d.level] for d in mine)


def _road_nodes(m) -> set[tuple[float, float]]:
    h = m.district.side_km
    return {(round(x, 3), round(h - y, 3)) for x, y in zip(m.travel.nx, m.travel.ny, strict=True)}


def test_moving_units_carry_their_road(festival):
    """A driving unit's path runs from where it is drawn to its destination through road nodes;
    its trail from where the drive began to where it is; together they are the drive's route.
    A unit whose drive ended in the last step carries that drive as its trail, ending where it
    stands.  Other units on patrol carry neither (the model moves them by patrol steps, not
    drives)."""
    m, _, _ = festival
    h = m.district.side_km
    nodes = _road_nodes(m)
    units = {u.name: u for u in m.units}
    seen_driving = seen_ended = 0
    for _ in range(200):
        m.step()
        for rec in map_state(m)["units"]:
            u = units[rec["id"]]
            here = [rec["x"], rec["y"]]
            if rec["state"] == "patrolling":      # back on its beat, maybe from a drive
                assert "path" not in rec
                assert ("trail" in rec) == (u.name in m.ended_drives)
            if "path" in rec:
                seen_driving += 1
                trip = u.trip
                path, trail = rec["path"], rec["trail"]
                assert path[0] == here and trail[-1] == here
                assert path[-1] == pytest.approx([trip.x1, h - trip.y1], abs=1e-3)
                assert trail[0] == pytest.approx([trip.x0, h - trip.y0], abs=1e-3)
                assert all(tuple(p) in nodes for p in path[1:-1] + trail[1:-1]), rec["id"]
                xs, ys = trip.polyline()
                route = [[x, h - y] for x, y in zip(xs, ys, strict=True)]
                assert len(trail) + len(path) - 2 == len(route)
                assert all(a == pytest.approx(b, abs=1e-3)
                           for a, b in zip(trail[:-1] + path[1:], route, strict=True))
            elif "trail" in rec:
                seen_ended += 1
                assert rec["trail"][-1] == pytest.approx(here, abs=1e-3)
                assert all(tuple(p) in nodes for p in rec["trail"][1:-1])
        if seen_driving > 5 and seen_ended > 2:
            break
    assert seen_driving > 5 and seen_ended > 2, (seen_driving, seen_ended)


def test_a_drive_inside_one_step_is_drawn_along_its_road(festival):
    """A unit that set off and arrived within one step (no drive when the step began) carries
    that drive as its trail: from where the drive began, through road nodes, to where it
    stands; not a straight glide."""
    m, _, _ = festival
    h = m.district.side_km
    nodes = _road_nodes(m)
    seen = 0
    for _ in range(300):
        idle = {u.name for u in m.units if u.trip is None}
        m.step()
        for rec in map_state(m)["units"]:
            drive = m.ended_drives.get(rec["id"])
            if rec["id"] not in idle or drive is None or "trail" not in rec:
                continue
            seen += 1
            trail = rec["trail"]
            assert trail[0] == pytest.approx([drive.x0, h - drive.y0], abs=1e-3)
            assert trail[-1] == pytest.approx([rec["x"], rec["y"]], abs=1e-3)
            assert len(trail) > 2 and all(tuple(p) in nodes for p in trail[1:-1])
        if seen > 2:
            break
    assert seen > 2, seen


# At a moment between two states, while playing: every driving unit is drawn on its road still
# ahead, and the followed case's route starts at its unit (trimmed behind it).
MID_TICK = """() => {
  const vm = window.__vmap, P = window.__vmPath;
  if (!vm || !vm.state || performance.now() - vm.stateAt < 400) return null;
  const out = [];
  for (const id in vm.units) {
    const e = vm.units[id], u = e.rec, p = vm.shown[id];
    if (!u.path || !p) continue;
    const moved = Math.hypot(p[0] - u.path[0][0], p[1] - u.path[0][1]);
    const line = document.querySelector(`.vm-selpath[data-id='${id}']`);
    const first = line ? line.getAttribute('points').split(' ')[0].split(',').map(Number) : null;
    out.push({id, moved, off: P.onPath(u.path, p).d,
              route: first ? Math.hypot(first[0] - p[0], first[1] - p[1]) : null});
  }
  return out;
}"""


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_units_move_on_roads_between_ticks(server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page, errors = _open_map(p, server[0])
        # The shipped JS on a known polyline: the point half way along lies on it, and the
        # route ahead of it starts there and keeps the vertices not yet passed.
        check = page.evaluate("""() => { const P = window.__vmPath;
            const path = [[0, 0], [1, 0], [1, 2], [3, 2]];
            const mid = P.pathAt(path, 0.5), rest = P.ahead(path, 0.5);
            return {mid, rest, off: P.onPath(path, mid).d}; }""")
        assert check["mid"] == pytest.approx([1, 1.5]) and check["off"] < 1e-12
        assert check["rest"] == [check["mid"], [1, 2], [3, 2]]

        # Half a second between states, so there is a "between" after each glide.
        _slider_to(page, "Pause between steps", "End")
        page.wait_for_timeout(1000)
        page.locator("[data-testid=play]").click()
        page.wait_for_selector(".vm-unit[data-state=dispatched]", timeout=60_000)
        mid_tick, routes = [], []
        for _ in range(400):
            if not page.locator(".vm-selpath").count():     # follow a case on the road
                driving = page.locator(".vm-unit[data-state=dispatched]")
                if driving.count():
                    driving.first.dispatch_event("click")
            for s in page.evaluate(MID_TICK) or []:
                if s["moved"] > 1e-3:               # drawn past its last state's position
                    mid_tick.append(s)
                    if s["route"] is not None:
                        routes.append(s)
            if len(mid_tick) > 5 and routes:
                break
            page.wait_for_timeout(50)
        page.locator("[data-testid=pause]").click()
        browser.close()
    assert len(mid_tick) > 5 and routes, (mid_tick, routes)
    assert max(s["off"] for s in mid_tick) < 1e-6, mid_tick
    assert max(s["route"] for s in routes) < 2e-3, routes
    assert not errors, errors
