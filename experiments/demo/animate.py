"""Render a scenario (and timeline) to an animated GIF or MP4 for slides, without a browser.

    python -m experiments.animate small_district/festival_night          # scenario/timeline
    python -m experiments.animate festival_night --lang zh --fps 4      # a timeline's scenario
    python -m experiments.animate scenario=small_district seed=3 --out slides/week.mp4

Each frame, after ``--hours-per-frame`` simulated hours, is the trainers' map (drawn by the same
rules and from the same ``map_state`` as the browser page, with its legend) beside the page's
three charts, under a title with the clock and the timeline's teaching note.  Output defaults to
``results/animations/<scenario>[_<timeline>].mp4`` when an ffmpeg is at hand (the one bundled
by ``imageio-ffmpeg``, or one on the PATH), ``.gif`` otherwise; it is written to a temporary
name and renamed, so a half-written file never sits under the final name.  A progress bar on
stderr counts the frames.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from pathlib import Path

from sim.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXIT_BAD_CONFIG = 2
EXIT_NO_FFMPEG = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.animate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", nargs="*", help="scenario/timeline, a timeline or scenario name, "
                                           "and/or Hydra-style overrides (key=value)")
    p.add_argument("--out", type=Path, help="output .gif or .mp4")
    p.add_argument("--frames", type=int, default=None,
                   help="number of frames (default: the whole horizon)")
    p.add_argument("--fps", type=float, default=4.0, help="frames per second (default 4)")
    p.add_argument("--hours-per-frame", type=float, default=1.0,
                   help="simulated hours between frames (default 1)")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="label language")
    return p.parse_args(argv)


def to_overrides(items: list[str]) -> list[str]:
    """``small_district/festival_night``, ``festival_night`` or ``small_district`` become
    ``scenario=...``/``timeline=...`` overrides; ``key=value`` items pass through."""
    from sim.compose import CONF_DIR
    from sim.timeline_file import resolve_path

    out = []
    for item in items:
        if "=" in item:
            out.append(item)
        elif "/" in item and not item.endswith((".yaml", ".yml")):
            scenario, timeline = item.split("/", 1)
            out += [f"scenario={scenario}", f"timeline={timeline}"]
        elif _is_file(lambda item=item: CONF_DIR / "scenario" / f"{item}.yaml"):
            out.append(f"scenario={item}")
        elif _is_file(lambda item=item: resolve_path(item)):
            out.append(f"timeline={item}")
        else:
            raise ConfigError(f"{item}: neither a scenario in conf/scenario/ nor a timeline "
                              f"(conf/timeline/ or a .yaml path)")
    if not any(o.startswith(("scenario=", "timeline=")) for o in out):
        out.insert(0, "scenario=small_district")
    return out


def _is_file(path) -> bool:
    """Whether `path()` names a file; a name the file system cannot hold (too long, a NUL)
    is simply not one, so the caller's one-line error names it."""
    try:
        return path().is_file()
    except (OSError, ValueError):
        return False


def ffmpeg() -> str | None:
    """An ffmpeg executable: imageio-ffmpeg's bundled one, else one on the PATH, else None."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def default_out(cfg: dict, timeline) -> Path:
    name = cfg["scenario"]["name"] + (f"_{timeline.name}" if timeline else "")
    return ROOT / "results" / "animations" / f"{name}{'.mp4' if ffmpeg() else '.gif'}"


def render(cfg: dict, out: Path, frames: int | None, fps: float, hours_per_frame: float,
           lang: str = "en", timeline=None) -> Path:
    """Step the model and write one frame per `hours_per_frame`; returns the written path."""
    import matplotlib
    from matplotlib.animation import FFMpegWriter, PillowWriter
    from matplotlib.figure import Figure
    from tqdm import tqdm

    from experiments.demo.charts import draw_busy, draw_disputes, draw_response
    from experiments.demo.map import draw_map
    from experiments.demo.text import clock, t
    from sim import Simulation
    from sim.config import parse_config

    run = parse_config(cfg)
    model = Simulation(cfg).build(narrative=True)
    ticks_per_frame = max(1, round(hours_per_frame * 60.0 / run.sim.tick_minutes))
    total = int(-(-model.end_minutes // (run.sim.tick_minutes * ticks_per_frame))) + 1
    n = total if frames is None else max(1, min(frames, total))

    fig = Figure(figsize=(16.0, 9.0), dpi=80)
    ax_map = fig.add_axes((0.01, 0.13, 0.50, 0.78))
    chart_axes = [fig.add_axes((0.77, y, 0.21, 0.22)) for y in (0.69, 0.39, 0.09)]
    charts = (draw_disputes, draw_response, draw_busy)
    name = run.scenario.name
    if timeline is not None:
        name = f"{timeline.title.get(lang) or timeline.name} · {name}"
    title = fig.text(0.01, 0.975, "", fontsize=16, weight="bold", va="top")
    note = ""
    if timeline is not None and timeline.teaching_note.get(lang):
        note = textwrap.fill(" ".join(timeline.teaching_note[lang].split()),
                             width=150 if lang == "en" else 75)
    fig.text(0.01, 0.01, note, fontsize=10, va="bottom", wrap=True)

    def draw():
        ax_map.clear()
        draw_map(ax_map, model, lang)
        title.set_text(f"{t('title', lang)}: {name} · {clock(model.now, lang)}")
        for ax, chart in zip(chart_axes, charts, strict=True):
            ax.clear()
            chart(ax, model, lang)

    if out.suffix.lower() == ".gif":
        writer = PillowWriter(fps=fps)
    else:
        matplotlib.rcParams["animation.ffmpeg_path"] = ffmpeg()
        writer = FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    try:
        with writer.saving(fig, str(tmp), dpi=80):
            for i in tqdm(range(n), desc=out.name, unit="frame", file=sys.stderr):
                if i:
                    for _ in range(ticks_per_frame):
                        if model.running:
                            model.step()
                draw()
                writer.grab_frame()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from hydra.errors import HydraException

    from sim.timeline_file import config_with_timeline

    try:
        cfg, timeline = config_with_timeline(to_overrides(args.what) + ["sim.progress=false"],
                                             default_days=3.0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except HydraException as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    out = args.out or default_out(cfg, timeline)
    if out.suffix.lower() not in (".gif", ".mp4"):
        print(f"error: --out: must end in .gif or .mp4, got {out}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if out.suffix.lower() == ".mp4" and ffmpeg() is None:
        print("error: MP4 needs ffmpeg (pip install imageio-ffmpeg, or apt-get install ffmpeg); "
              "use --out <name>.gif instead", file=sys.stderr)
        return EXIT_NO_FFMPEG
    path = render(cfg, out, args.frames, args.fps, args.hours_per_frame, args.lang, timeline)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
