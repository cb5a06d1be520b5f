"""Wall time of one trainers'-page tick, its map state, and one exported map frame (Jiangbei).

    python -m benchmarks.bench_demo_tick [--until-day 2.75]

Steps the page's model (5-minute ticks, the page's default) from the start to `--until-day`,
reporting the median and 95th percentile of a tick and of ``map_state`` (the JSON the browser
map is sent after each tick), then draws three map frames as the slide export does (matplotlib,
``experiments.animate``).  Issue 11 asks for the tick at 5 minutes; the browser's frame rate is
``benchmarks.bench_map_fps``.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until-day", type=float, default=1.75,
                    help="simulated days to step through (default: to day 2, 18:00)")
    args = ap.parse_args()
    import matplotlib.pyplot as plt

    from experiments.demo.map import map_figure
    from experiments.demo.model import ENV_OVERRIDES, DemoModel
    from experiments.demo.vector_map import map_state

    os.environ[ENV_OVERRIDES] = '["scenario=jiangbei"]'

    t0 = time.perf_counter()
    model = DemoModel()
    build = time.perf_counter() - t0
    ticks, states = [], []
    while model.now < args.until_day * 1440:
        t = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        map_state(model)
        ticks.append(t1 - t)
        states.append(time.perf_counter() - t1)
    ticks.sort()
    states.sort()
    frames = []
    for _ in range(3):
        model.step()
        t = time.perf_counter()
        fig = map_figure(model, "en")
        fig.canvas.draw()
        frames.append(time.perf_counter() - t)
        plt.close(fig)
    print(f"trainers' page, jiangbei: model built in {build:.2f} s")
    print(f"  tick           : median {1000 * ticks[len(ticks) // 2]:.2f} ms, p95 "
          f"{1000 * ticks[int(0.95 * len(ticks))]:.2f} ms over {len(ticks)} ticks")
    print(f"  map state      : median {1000 * states[len(states) // 2]:.2f} ms, p95 "
          f"{1000 * states[int(0.95 * len(states))]:.2f} ms (what the browser map is sent)")
    print(f"  export frame   : {', '.join(f'{f:.2f}' for f in frames)} s (matplotlib draw, "
          f"experiments.animate)")


if __name__ == "__main__":
    main()
