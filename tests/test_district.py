"""The district as data: a fixed map across seeds, bring-your-own district folders, travel on
the road network (bridges, congestion by hour) and the map written beside every run."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim import Simulation
from sim.config import ConfigError
from tests.conftest import run

ROOT = Path(__file__).resolve().parent.parent
RIVER_TOWN = "tests/data/river_town"


def centroids(result, n):
    inc = result.incidents
    cnt = np.bincount(inc.community, minlength=n)
    x = np.bincount(inc.community, weights=inc.x_km, minlength=n) / np.maximum(cnt, 1)
    y = np.bincount(inc.community, weights=inc.y_km, minlength=n) / np.maximum(cnt, 1)
    return x, y, cnt


def test_two_seeds_see_the_same_map(default_short):
    a = Simulation.from_overrides(["sim.days=1"]).build()
    b = Simulation.from_overrides(["sim.days=1", "seed=3"]).build()
    for attr in ("cell_community", "cell_street", "cell_grid", "cell_node", "hx", "hy"):
        np.testing.assert_array_equal(getattr(a.district, attr), getattr(b.district, attr))
    np.testing.assert_array_equal(a.residents.x, b.residents.x)
    # What happens differs; where it happens is the same place: per community, the incident
    # centroids of two seeds lie closer than the community's own size.
    other = run("sim.days=20", "seed=1")
    d = a.district
    xa, ya, na = centroids(default_short, d.n_communities)
    xb, yb, nb = centroids(other, d.n_communities)
    size = np.sqrt([g.area for g in d.community_shapes()])
    both = (na >= 20) & (nb >= 20)
    assert both.sum() >= 100
    gap = np.hypot(xa - xb, ya - yb)[both]
    assert (gap < size[both]).all(), (gap / size[both]).max()
    assert not np.array_equal(default_short.incidents.t_reported.values[:50],
                              other.incidents.t_reported.values[:50])


def test_synthetic_square_is_fixed_across_seeds():
    a = Simulation.from_overrides(["scenario=small_district", "sim.days=1"]).build()
    b = Simulation.from_overrides(["scenario=small_district", "sim.days=1", "seed=5"]).build()
    np.testing.assert_array_equal(a.district.cell_community, b.district.cell_community)
    np.testing.assert_array_equal(a.district.cell_grid, b.district.cell_grid)
    np.testing.assert_array_equal(a.district.community_pop, b.district.community_pop)
    assert a.district.community_street.tolist() == b.district.community_street.tolist()


def test_default_district_is_the_jiangbei_folder():
    d = Simulation.from_overrides(["sim.days=1"]).build().district
    assert d.street_names[:3] == ["Shimahe", "Dashiba", "Guanyinqiao"]
    assert set(d.street_names) == {
        "Guanyinqiao", "Huaxinjie", "Wulidian", "Jiangbeicheng", "Shimahe", "Dashiba",
        "Cuntan", "Tieshanping", "Guojiatuo", "Yuzui", "Fusheng", "Wubao"}
    assert d.n_communities == 126 and d.community_pop.sum() == 925_800
    cuntan = d.street_names.index("Cuntan")
    assert d.community_pop[d.community_street == cuntan].sum() == 67_186
    area = sum(g.area for g in d.community_shapes())
    assert area == pytest.approx(220.8, rel=0.01)
    assert d.roads.graph.bridge.sum() >= 2 * 9          # nine named bridges, both directions
    names = set(d.roads.graph.name[d.roads.graph.bridge].tolist())
    assert {"Chaotianmen Bridge", "Huanghuayuan Bridge", "Dafosi Bridge"} <= names


# --------------------------------------------------------------------------- bring your own


def test_bring_your_own_district_runs_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", f"scenario.district.path={RIVER_TOWN}",
         "sim.days=7", f"output.dir={out}", "sim.progress=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("incidents.parquet", "summary.json", "district.geojson", "DONE"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    s = summary["structure"]
    assert (s["streets"], s["communities"], s["grids"], s["residents"]) == (2, 4, 2, 7800)
    # Not Jiangbei, though the scenario keeps its name: no comparison with Jiangbei's figures,
    # and the printout names the folder and says where staffing comes from.
    assert summary["calibration"] is None
    assert f"district {RIVER_TOWN}" in proc.stdout and "reported" not in proc.stdout
    assert "staffing and rates come from scenario jiangbei" in proc.stdout
    # Strength as per shift times shifts; the grids' source, since the count is not used.
    assert "units: police (45 x 3 shifts)" in proc.stdout
    assert "patrol grids from the folder's grids.geojson" in proc.stdout
    assert s["grids_from_file"] is True
    feats = json.loads((out / "district.geojson").read_text())["features"]
    comms = [f for f in feats if f["properties"]["layer"] == "community"]
    assert [f["properties"]["name"] for f in comms] == ["Willow", "Mill", "Ferry", "Orchard"]
    # North-bank communities lie in the "North" grid (grid 1), as grids.geojson draws them.
    assert [f["properties"]["grid"] for f in comms] == [1, 1, 2, 2]
    lon, lat = np.array(comms[0]["geometry"]["coordinates"][0]).T
    assert 106.3 < lon.mean() < 106.5 and 29.4 < lat.mean() < 29.5


def test_bring_your_own_district_from_python():
    r = run(f"scenario.district.path={RIVER_TOWN}", "sim.days=5")
    assert r.summary["structure"]["communities"] == 4
    assert r.incidents.community.between(0, 3).all()
    assert r.incidents.grid.between(0, 1).all()
    assert r.district["features"][0]["properties"]["street"] == "North Bank"
    # Every call on a bank was answered by a unit that reached it: travel is finite.
    done = r.incidents.dropna(subset=["t_arrived"])
    assert len(done) > 20 and np.isfinite(done.t_arrived - done.t_dispatched).all()


def test_crossing_the_river_takes_the_bridge():
    model = Simulation.from_overrides([f"scenario.district.path={RIVER_TOWN}",
                                       "sim.days=1"]).build()
    d, travel = model.district, model.travel
    police = next(u for u in model.units if u.unit_type == "police")
    # tests/data/river_town in its authors' km: river along y = 1, communities from
    # (0, -0.1) to (3, 2.1), the only bridge at x = 2.75 from y = 0.8 to 1.2.
    origin = np.array([g.bounds[:2] for g in d.community_shapes()]).min(axis=0) + (0, 0.1)
    ax, ay = origin + (0.25, 1.3)          # north bank, west end
    bx, by = origin + (0.25, 0.7)          # straight across the river
    bridge_n, bridge_s = origin + (2.75, 1.2), origin + (2.75, 0.8)
    now = 3 * 60.0                        # 03:00, free-flowing roads
    road = travel.minutes(police.index, ax, ay, bx, by, now)
    top_speed = max(model.cfg.scenario.roads.speed_kmh.values())
    straight = math.hypot(bx - ax, by - ay) / top_speed * 60
    detour_km = (math.dist((ax, ay), bridge_n) + math.dist(bridge_n, bridge_s)
                 + math.dist(bridge_s, (bx, by)))
    assert road >= detour_km / top_speed * 60 * travel.hour_factor(now)
    assert road > 5 * straight
    # Same bank, same distance: no detour.
    same = travel.minutes(police.index, ax, ay, ax + 0.6, ay, now)
    assert same < road / 3
    # The route drawn for the map crosses on the bridge.
    xs, ys = travel.route(police.index, ax, ay, bx, by)
    river = origin[1] + 1.0
    crossings = [(xs[k], xs[k + 1]) for k in range(len(xs) - 1)
                 if (ys[k] - river) * (ys[k + 1] - river) < 0]
    assert len(crossings) == 1
    assert crossings[0] == pytest.approx((bridge_n[0], bridge_n[0]), abs=0.01)
    # A unit on that trip is on the road between its ends, at the start, midway and the end.
    police.x, police.y = ax, ay
    trip = travel.trip(police, bx, by, 0.0, road)
    assert trip.position(0.0) == (ax, ay) and trip.position(road) == (bx, by)
    mx, my = trip.position(road / 2)
    assert abs(mx - bridge_n[0]) < 0.5      # halfway along the detour is near the bridge


def _break(folder: Path, change: str) -> None:
    comm = folder / "communities.geojson"
    data = json.loads(comm.read_text())
    if change == "missing":
        comm.unlink()
    elif change == "bad_json":
        comm.write_text(comm.read_text()[:-20])
    elif change == "point":
        data["features"][2]["geometry"] = {"type": "Point", "coordinates": [106.4, 29.45]}
        comm.write_text(json.dumps(data))
    elif change == "negative_population":
        data["features"][1]["properties"]["population"] = -5
        comm.write_text(json.dumps(data))
    elif change == "no_population":
        del data["features"][3]["properties"]["population"]
        comm.write_text(json.dumps(data))
    elif change == "no_street":
        data["features"][0]["properties"]["street"] = ""
        comm.write_text(json.dumps(data))
    elif change == "hotspot_kind":
        spots = json.loads((folder / "hotspots.geojson").read_text())
        spots["features"][1]["properties"]["kind"] = "casino"
        (folder / "hotspots.geojson").write_text(json.dumps(spots))
    elif change == "grid_elsewhere":
        grids = json.loads((folder / "grids.geojson").read_text())
        ring = grids["features"][1]["geometry"]["coordinates"][0]
        grids["features"][1]["geometry"]["coordinates"][0] = [[x + 1.0, y] for x, y in ring]
        (folder / "grids.geojson").write_text(json.dumps(grids))
    elif change == "roads_xml":
        (folder / "roads.osm").write_text("<osm><node id='1' lat='29' lon='106'></osm>")
    elif change == "two_road_files":
        (folder / "roads.graphml").write_text("<graphml/>")
    elif change == "huge_population":           # ran out of memory mid-build
        data["features"][1]["properties"]["population"] = 10**12
        comm.write_text(json.dumps(data))
    elif change == "nan_coordinate":            # shapely warned before the one line
        comm.write_text(json.dumps(data).replace("106.415601", "NaN", 1))
    elif change == "hotspot_far":
        spots = json.loads((folder / "hotspots.geojson").read_text())
        lon, lat = spots["features"][1]["geometry"]["coordinates"]
        spots["features"][1]["geometry"]["coordinates"] = [lon, lat + 0.05]     # 5.5 km north
        (folder / "hotspots.geojson").write_text(json.dumps(spots))
    elif change == "community_in_paris":        # a 23 GB raster: killed for memory
        data["features"][3]["geometry"] = {"type": "Polygon", "coordinates": [[
            [2.35, 48.85], [2.36, 48.85], [2.36, 48.86], [2.35, 48.86], [2.35, 48.85]]]}
        comm.write_text(json.dumps(data))
    elif change == "community_100km_east":      # accepted, with 205-min responses
        ring = data["features"][3]["geometry"]["coordinates"][0]
        data["features"][3]["geometry"]["coordinates"][0] = [[x + 1.0, y] for x, y in ring]
        comm.write_text(json.dumps(data))
    elif change == "duplicate_community":       # one community took every resident
        data["features"][1]["geometry"] = data["features"][0]["geometry"]
        comm.write_text(json.dumps(data))
    elif change.startswith("grid_"):
        grids = json.loads((folder / "grids.geojson").read_text())
        feats = grids["features"]
        if change == "grid_overlap":                # failed mid-run with a traceback
            feats.append({"type": "Feature", "properties": {"name": "Everything"},
                          "geometry": {"type": "Polygon", "coordinates": [[
                              [106.39, 29.44], [106.44, 29.44], [106.44, 29.48],
                              [106.39, 29.48], [106.39, 29.44]]]}})
        elif change == "grid_missing":              # its banks went to the other grid
            del feats[1]
        elif change == "grid_thin_strip":           # failed mid-run with a traceback
            # A 100 m strip over Willow's west edge, between two cells' centres; the North
            # grid starts east of it.
            west, east = 106.4001363 - 0.0005, 106.4001363 + 0.0005
            ring = feats[0]["geometry"]["coordinates"][0]
            feats[0]["geometry"]["coordinates"][0] = [[max(x, east), y] for x, y in ring]
            feats.append({"type": "Feature", "properties": {"name": "Strip"},
                          "geometry": {"type": "Polygon", "coordinates": [[
                              [west, 29.4600], [east, 29.4600], [east, 29.4690],
                              [west, 29.4690], [west, 29.4600]]]}})
        (folder / "grids.geojson").write_text(json.dumps(grids))
    elif change == "no_bridge":                 # one bank was snapped across the river
        osm = folder / "roads.osm"
        osm.write_text(re.sub(r'  <way id="35" .*?</way>\n', "", osm.read_text(),
                              flags=re.S))
    elif change == "roads_50km_east":           # accepted, with 195-min P1 responses
        osm = folder / "roads.osm"
        osm.write_text(re.sub(r'lon="([-0-9.]+)"', lambda m: f'lon="{float(m[1]) + 0.5:.7f}"',
                              osm.read_text()))
    elif change == "river_lat_lon_swapped":      # shapely's buffer segfaulted on it
        osm = folder / "roads.osm"
        osm.write_text(re.sub(r'(<node id="100\d") lat="([-0-9.]+)" lon="([-0-9.]+)"',
                              r'\1 lat="\3" lon="\2"', osm.read_text()))


@pytest.mark.parametrize(("change", "expected"), [
    ("missing", ["communities.geojson", "missing"]),
    ("bad_json", ["communities.geojson", "not valid JSON", "line"]),
    ("point", ["communities.geojson", "feature 2 ('Ferry')", "geometry",
               "Polygon or MultiPolygon", "Point"]),
    ("negative_population", ["communities.geojson", "feature 1 ('Mill')",
                             "properties.population", "-5"]),
    ("no_population", ["communities.geojson", "feature 3 ('Orchard')", "properties.population",
                       "required"]),
    ("no_street", ["communities.geojson", "feature 0 ('Willow')", "properties.street"]),
    ("hotspot_kind", ["hotspots.geojson", "feature 1 ('South Station')", "properties.kind",
                      "casino", "school"]),
    ("grid_elsewhere", ["grids.geojson", "feature 1 ('South')", "geometry"]),
    ("roads_xml", ["roads.osm", "not valid OSM XML", "line"]),
    ("two_road_files", ["roads.osm or roads.graphml", "not both"]),
    ("huge_population", ["communities.geojson", "feature 1 ('Mill')", "properties.population",
                         "must be a whole number in [0, 50000000], got 1000000000000"]),
    ("nan_coordinate", ["communities.geojson", "feature 0 ('Willow')", "geometry",
                        "not finite"]),
    ("hotspot_far", ["hotspots.geojson", "feature 1 ('South Station')", "geometry",
                     "km outside every community; a hotspot may lie at most 1 km outside"]),
    ("community_in_paris", ["communities.geojson", "feature 3 ('Orchard')", "geometry",
                            "km from the median of the communities' centres; a district "
                            "spans at most 300 km"]),
    ("community_100km_east", ["communities.geojson", "feature 3 ('Orchard')", "geometry",
                              "km from the nearest other community; at most 25 km "
                              "(scenario.district.max_gap_km)"]),
    ("duplicate_community", ["communities.geojson", "feature 1 ('Mill')", "geometry",
                             "overlaps feature 0 ('Willow') by 100% of the smaller of the two; "
                             "communities may overlap by at most 5%"]),
    ("grid_overlap", ["grids.geojson", "feature 2 ('Everything')", "geometry",
                      "overlaps feature 0 ('North') by 100%", "grids may overlap by at most 5%"]),
    ("grid_missing", ["communities.geojson", "feature 2 ('Ferry')", "geometry",
                      "only 0% of its area lies in a patrol grid of grids.geojson; at least 50%"]),
    ("grid_thin_strip", ["grids.geojson", "feature 2 ('Strip')", "geometry",
                         "covers no cell of a community"]),
    ("no_bridge", ["communities.geojson", "feature 2 ('Ferry')", "geometry",
                   "no road of roads.osm (its largest connected part", "lies on its bank",
                   "add the bridge(s)"]),
    ("roads_50km_east", ["communities.geojson", "geometry", "km from the nearest road node of "
                         "roads.osm", "at most 5 km (scenario.roads.max_snap_km)"]),
    ("river_lat_lon_swapped", ["roads.osm", "node 1000", "lat: must be a WGS84 latitude in "
                               "[-90, 90], got 106.3"]),
])
def test_bad_district_files_name_the_file_feature_and_field(tmp_path, change, expected):
    folder = tmp_path / "district"
    shutil.copytree(ROOT / RIVER_TOWN, folder)
    _break(folder, change)
    with pytest.raises(ConfigError) as err, warnings.catch_warnings():
        warnings.simplefilter("error")      # only the one line: no warning printed before it
        Simulation.from_overrides([f"scenario.district.path={folder}", "sim.days=1"])
    message = str(err.value)
    assert "\n" not in message
    for part in expected:
        assert part in message, (part, message)


def test_a_far_community_is_allowed_when_asked_and_the_raster_stays_bounded(tmp_path):
    folder = tmp_path / "district"
    shutil.copytree(ROOT / RIVER_TOWN, folder)
    _break(folder, "community_100km_east")
    (folder / "roads.osm").unlink()          # its roads end 95 km short of the far community
    (folder / "grids.geojson").unlink()
    path = f"scenario.district.path={folder}"
    # The generated street grid keeps its largest part: the far community has no road.
    with pytest.raises(ConfigError, match="feature 3 .* km from the nearest road node of the "
                                          "generated street grid"):
        Simulation.from_overrides([path, "scenario.district.max_gap_km=200", "sim.days=1"])
    sim = Simulation.from_overrides([path, "scenario.district.max_gap_km=200", "sim.days=1",
                                     "scenario.roads.max_snap_km=200"])
    assert sim.config.scenario.district.max_gap_km == 200
    # A finer cell over that 100 km square would pass the synthetic map's 4,000,000 cells.
    with pytest.raises(ConfigError, match=r"^scenario.geography.cell_km: gives [0-9,]+ cells "
                                          r"over the district's 10[0-9] km square; must give "
                                          r"at most 4,000,000"):
        Simulation.from_overrides([path, "scenario.district.max_gap_km=200", "sim.days=1",
                                   "scenario.geography.cell_km=0.04"])


@pytest.mark.parametrize(("change", "field"), [
    ("negative_population", "properties.population"),
    ("grid_thin_strip", "covers no cell"),         # was a traceback after the run started
    ("no_bridge", "add the bridge(s)"),          # the road tables were cached before
])
def test_bad_district_folder_stops_the_cli_before_writing(tmp_path, change, field):
    folder = tmp_path / "district"
    shutil.copytree(ROOT / RIVER_TOWN, folder)
    _break(folder, change)
    out = tmp_path / "run"
    from sim.config import Roads
    from sim.district_files import content_key
    from sim.roads import CACHE_DIR, cache_key

    cache = CACHE_DIR / f"roads-{cache_key(content_key(folder), Roads())}.npz"
    cache.unlink(missing_ok=True)                 # left by an older build, say
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", f"scenario.district.path={folder}",
         f"output.dir={out}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and field in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: ")
    assert not out.exists()
    assert not cache.exists()                     # nor the folder's road tables
    if change != "negative_population":
        return
    missing = subprocess.run(
        [sys.executable, "-m", "experiments.run", "scenario.district.path=no/such/place"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "scenario.district.path" in missing.stderr


# --------------------------------------------------------------------------- travel


def test_road_distance_on_a_plain_street_grid_is_manhattan():
    d = Simulation.from_overrides(["scenario=small_district", "sim.days=1"]).build().district
    g, t = d.roads.graph, d.roads.tables
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, g.n, 200), rng.integers(0, g.n, 200)
    manhattan = np.abs(g.x[a] - g.x[b]) + np.abs(g.y[a] - g.y[b])
    np.testing.assert_allclose(t.walk_km[a, b], manhattan, atol=1e-4)
    speed = d.roads.graph.road_class[0]
    assert speed == "tertiary"
    np.testing.assert_allclose(t.drive_min[a, b], manhattan / 30.0 * 60.0, atol=1e-3)


def test_mean_road_distance_in_a_square_matches_the_closed_form():
    """Uniform points in a square of area A are (2/3) sqrt(A) apart on a street grid."""
    from sim.theory import manhattan_mean_distance_square

    d = Simulation.from_overrides(["scenario=small_district", "sim.days=1"]).build().district
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = rng.uniform(0, d.side_km, (4, 20_000))
    a, b = d.cell_node[d.cell_of(x0, y0)], d.cell_node[d.cell_of(x1, y1)]
    road = d.roads.tables.walk_km[a, b].mean()
    assert road == pytest.approx(manhattan_mean_distance_square(d.side_km**2), rel=0.03)


def test_congestion_scales_driving_by_the_hour_and_not_walking():
    model = Simulation.from_overrides(["sim.days=1"]).build()
    travel, profile = model.travel, model.cfg.scenario.roads.congestion_by_hour
    car = next(u for u in model.units if u.unit_type == "police")
    foot = next(u for u in model.units if u.unit_type == "guard")
    x0, y0, x1, y1 = 6.0, 5.0, 14.0, 8.0
    leave = {h: travel.minutes(car.index, x0, y0, x1, y1, h * 60.0 + 1) for h in range(24)}
    road = travel.drive[travel.snap(x0, y0)[0], travel.snap(x1, y1)[0]]   # free-flow minutes
    # Only the road part slows down (not turnout, not the legs to and from the road).
    for h in (3, 8, 13, 18):
        assert leave[h] - leave[3] == pytest.approx(road * (profile[h] - profile[3]), rel=1e-5)
    assert leave[8] > leave[3] + 0.5 * road
    walk = {h: travel.minutes(foot.index, x0, y0, x1, y1, h * 60.0) for h in (3, 8)}
    assert walk[3] == walk[8]


def test_dispatch_ranks_every_unit_by_the_same_minutes_as_one_unit_is_timed():
    # Dispatch times every unit at once (`minutes_all`, one gather from a row per destination);
    # the chosen unit's drive is timed alone (`minutes`).  Both must give the same minutes,
    # walkers and drivers, at every hour of the congestion profile.
    # (Units off duty are never candidates; their position arrays are not kept.)
    model = Simulation.from_overrides(["sim.days=1"]).build()
    travel, dispatcher = model.travel, model.dispatcher
    model.step()                                  # the first shift takes its beats
    free = [u for u in model.units if u.free]
    assert travel.any_walker and any(travel.walking[u.index] for u in free)
    for hour in (3, 8, 18):
        now = hour * 60.0 + 7
        for x, y in ((6.0, 5.0), (14.2, 8.9), (2.5, 12.0)):
            together = travel.minutes_all(dispatcher.node, dispatcher.leg, x, y, now)
            alone = [travel.minutes(u.index, u.x, u.y, x, y, now) for u in free]
            assert together[[u.index for u in free]] == pytest.approx(alone, rel=1e-9)


def test_snapping_remembers_points_without_changing_the_answer_or_growing():
    """`Travel.snap` keeps recent points (dispatch, the ETA and the arrival ask about the same
    spot): a remembered answer is the computed one, and the memory stays bounded."""
    from sim.roads import SNAP_MEMO

    travel = Simulation.from_overrides(["sim.days=1"]).build().travel
    rng = np.random.default_rng(3)
    points = rng.uniform(-1.0, travel.d.side_km + 1.0, (3 * SNAP_MEMO, 2)).tolist()
    first = [travel.snap(x, y) for x, y in points]
    again = [travel.snap(x, y) for x, y in points]
    fresh = [travel._snap(x, y) for x, y in points]
    assert first == again == fresh
    assert len({node for node, _ in fresh}) > 50          # the points reach many road nodes
    assert len(travel._snapped) <= SNAP_MEMO


def test_response_time_follows_the_hour_of_day():
    """Same demand, same district: with the congestion profile, dispatch-to-arrival is longer
    at rush hour than at night; with a flat profile it is not."""
    flat = "scenario.roads.congestion_by_hour=[" + ",".join(["1.0"] * 24) + "]"
    runs = {name: run("scenario=small_district", "sim.days=60", *extra)
            for name, extra in (("profile", []), ("flat", [flat]))}
    ratio = {}
    for name, r in runs.items():
        inc = r.incidents[(r.incidents.source == "call") & (r.incidents.unit_type == "police")]
        hour = (inc.t_dispatched // 60 % 24).astype(int)
        drive = inc.t_arrived - inc.t_dispatched
        ratio[name] = drive[hour.isin([8, 18])].median() / drive[hour.isin([2, 3, 4])].median()
    # Rush hour / night: about 1.27 with the profile (its road part is 1.86 / 1.02; turnout
    # and hand-off do not slow down), about 0.98 flat.
    assert ratio["profile"] > 1.15 * ratio["flat"]
    assert 0.85 < ratio["flat"] < 1.12


def test_travel_off_means_no_travel():
    r = run("scenario=small_district", "sim.days=3", "scenario.dispatch.travel=false")
    done = r.incidents.dropna(subset=["t_arrived"])
    assert len(done) > 50
    np.testing.assert_array_equal(done.t_arrived.values, done.t_dispatched.values)


# --------------------------------------------------------------------------- the map


def test_every_run_writes_the_map(default_short, tmp_path):
    default_short.write(tmp_path)
    feats = json.loads((tmp_path / "district.geojson").read_text())["features"]
    layers = [f["properties"]["layer"] for f in feats]
    assert layers.count("community") == 126 and layers.count("grid") == 33
    comms = [f["properties"] for f in feats if f["properties"]["layer"] == "community"]
    assert [c["community"] for c in comms] == list(range(1, 127))
    assert {c["street"] for c in comms} >= {"Cuntan", "Yuzui"}
    # The map's numbers are the tables' numbers + 1: an incident's community lies in it.
    inc = default_short.incidents
    grid_of = {c["community"]: c["grid"] for c in comms}
    agree = np.mean([grid_of[c + 1] == g + 1 for c, g in zip(inc.community, inc.grid,
                                                              strict=True)])
    assert agree > 0.7
    lon, lat = np.array(feats[0]["geometry"]["coordinates"][0]).T
    assert 106.4 < lon.mean() < 106.9 and 29.5 < lat.mean() < 29.75


def test_a_fine_raster_at_the_edge_of_its_plausible_range_still_writes_the_map():
    # cell_km=0.1 with uneven communities left slivers that shapely.set_precision could not
    # re-node (a Morris run over the plausible ranges crashed on it).
    result = Simulation.from_overrides([
        "scenario=small_district", "sim.days=0.25", "sim.progress=false",
        "scenario.geography.cell_km=0.1", "scenario.geography.community_pop_sigma=0.8"]).run()
    layers = [f["properties"]["layer"] for f in result.district["features"]]
    assert layers.count("community") == result.summary["structure"]["communities"]


_ROAD_DIGEST = """
import hashlib, numpy as np
from sim.config import Roads
from sim.district_files import read_district
from sim.roads import graph_from_file
import json
folder = "conf/districts/jiangbei"
kinds = tuple({f["properties"]["kind"]
               for f in json.load(open(f"{folder}/hotspots.geojson"))["features"]})
data = read_district(folder, kinds)
g = graph_from_file(data.road_file, data.frame, Roads())
h = hashlib.sha256()
for a in (g.u, g.v, g.length_km, g.road_class, g.bridge, g.name):
    h.update(np.ascontiguousarray(a).tobytes())
print(h.hexdigest())
"""


@pytest.mark.slow
def test_the_road_graph_does_not_depend_on_string_hashing():
    """Two processes with different hash seeds build the same graph from the same OSM file
    (osmnx keeps a merged edge's differing values in a set's order)."""
    root = Path(__file__).resolve().parent.parent
    digests = {subprocess.run([sys.executable, "-c", _ROAD_DIGEST], cwd=root, check=True,
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}
                              ).stdout.strip() for seed in ("1", "2", "3")}
    assert len(digests) == 1, digests
