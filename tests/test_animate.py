"""The slide export: a short GIF of a timeline, written atomically; bad input fails cleanly."""

from PIL import Image

from experiments.demo import animate


def test_gif_of_a_timeline(tmp_path):
    out = tmp_path / "fest.gif"
    code = animate.main(["small_district/festival_night", "--frames", "4",
                         "--hours-per-frame", "6", "--out", str(out)])
    assert code == 0 and out.is_file()
    with Image.open(out) as im:
        assert im.size[0] >= 800
        assert im.n_frames >= 2          # Pillow merges identical frames; the map moves
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


def test_scenario_and_override_forms(tmp_path):
    assert animate.to_overrides(["small_district/wage_dispute"]) == [
        "scenario=small_district", "timeline=wage_dispute"]
    assert animate.to_overrides(["festival_night", "seed=3"]) == [
        "timeline=festival_night", "seed=3"]
    assert animate.to_overrides(["seed=3"]) == ["scenario=small_district", "seed=3"]


def test_bad_input_exits_2(tmp_path, capsys):
    assert animate.main(["no_such_thing"]) == 2
    assert animate.main(["small_district", "--out", str(tmp_path / "x.avi")]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  - at: 1\n    kind: unit_absence\n    share: 2\n")
    assert animate.main([f"timeline={bad}"]) == 2
    assert "bad.yaml, line 4: events[0].share" in capsys.readouterr().err


def test_mp4_with_the_bundled_ffmpeg(tmp_path):
    import pytest

    if animate.ffmpeg() is None:
        pytest.skip("no ffmpeg (pip install imageio-ffmpeg)")
    out = tmp_path / "fest.mp4"
    code = animate.main(["small_district/festival_night", "--frames", "3",
                         "--hours-per-frame", "6", "--out", str(out)])
    assert code == 0
    head = out.read_bytes()[:12]
    assert head[4:8] == b"ftyp", head           # an MP4 container
    assert out.stat().st_size > 20_000
