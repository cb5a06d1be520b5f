"""Wall time of one trainers'-page tick and of one map frame on the default district.

    python -m benchmarks.bench_demo_tick [--until-day 2.75]

Steps the page's model (5-minute ticks, the page's default) from the start to `--until-day`,
reporting the median and 95th percentile of a tick, then draws three map frames (matplotlib,
as the page does before PNG encoding).  Issue 11 asks for the tick at 5 minutes.
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

    os.environ[ENV_OVERRIDES] = '["scenario=jiangbei"]'

    t0 = time.perf_counter()
    model = DemoModel()
    build = time.perf_counter() - t0
    ticks = []
    while model.now < args.until_day * 1440:
        t = time.perf_counter()
        model.step()
        ticks.append(time.perf_counter() - t)
    ticks.sort()
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
    print(f"  map frame      : {', '.join(f'{f:.2f}' for f in frames)} s (matplotlib draw)")


if __name__ == "__main__":
    main()
