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


def test_gif_when_no_ffmpeg_is_found(tmp_path, monkeypatch, capsys):
    """Without imageio-ffmpeg and without an ffmpeg on the PATH, the default output is a GIF:
    several frames, each titled with the clock, the teaching note below, the map's legend, and
    a progress bar on stderr; asking for an MP4 then says how to get one (exit 3)."""
    import sys

    import numpy as np
    from matplotlib.animation import PillowWriter

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)     # import fails
    monkeypatch.setattr(animate.shutil, "which", lambda name: None)
    monkeypatch.setattr(animate, "ROOT", tmp_path)                # default output goes here
    assert animate.ffmpeg() is None

    texts = []
    grab = PillowWriter.grab_frame

    def recording_grab(self, **kw):
        texts.append([t.get_text() for t in self.fig.texts])
        assert self.fig.axes[0].get_legend() is not None          # the map's legend
        return grab(self, **kw)

    monkeypatch.setattr(PillowWriter, "grab_frame", recording_grab)
    code = animate.main(["small_district/festival_night", "--frames", "3",
                         "--hours-per-frame", "6"])
    assert code == 0
    out = tmp_path / "results" / "animations" / "small_district_festival_night.gif"
    assert out.is_file()
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames >= 2 and im.size == (1280, 720)
        title = np.asarray(im.convert("L"))[:30, :640]
        assert title.min() < 80                                   # dark title text drawn
    titles = [t[0] for t in texts]
    assert [s.rsplit("· ", 1)[-1] for s in titles] == ["Day 1, 00:00", "Day 1, 06:00",
                                                      "Day 1, 12:00"], titles
    assert all("festival" in s.lower() for s in titles)
    assert all(len(t[1]) > 40 for t in texts)                     # the teaching note
    err = capsys.readouterr().err
    assert "small_district_festival_night.gif" in err and "3/3" in err   # the progress bar

    assert animate.main(["small_district", "--out", str(tmp_path / "x.mp4")]) == 3
    assert "MP4 needs ffmpeg" in capsys.readouterr().err
