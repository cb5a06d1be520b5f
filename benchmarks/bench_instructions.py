"""Instructions the default scenario executes per simulated day, counted by valgrind.

    python -m benchmarks.bench_instructions [--days 2 12]

Wall and CPU time on a shared machine drift by 15 % or more from one run to the next, which
hides a 3 % change.  The count of machine instructions does not drift: this runs the default
scenario for two horizons under ``valgrind --tool=cachegrind`` and prints the difference per
simulated day, so start-up (imports, the district, the road tables) cancels out.  Run it on two
checkouts to compare them.  Needs valgrind (``apt-get install valgrind``); about 2 minutes for
the default horizons, most of it start-up under valgrind.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

RUN = ("from sim import Simulation; "
       "Simulation.from_overrides(['sim.days={days}', 'sim.progress=false']).run()")


def instructions(days: float) -> int:
    """Instructions executed by one run of `days` simulated days (start-up included)."""
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-c", RUN.format(days=days)],
        capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, nargs=2, default=(2.0, 12.0), metavar=("SHORT", "LONG"))
    args = ap.parse_args()
    short, long = sorted(args.days)
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions: valgrind is not installed (apt-get install valgrind)")
    if long <= short:
        sys.exit("bench_instructions: --days needs two different horizons, e.g. --days 2 12")
    n_short, n_long = instructions(short), instructions(long)
    per_day = (n_long - n_short) / (long - short)
    print(f"default scenario: {n_short:,} instructions for {short:g} days, {n_long:,} for "
          f"{long:g} days")
    print(f"  per simulated day: {per_day / 1e6:,.0f} M (start-up about "
          f"{(n_short - short * per_day) / 1e9:,.1f} G)")


if __name__ == "__main__":
    main()
