"""``python -m experiments.optimize``; the tool is :mod:`experiments.analysis.optimize`."""

import sys

# MinStaffingCallback: conf/experiment/min_staffing.yaml names it as experiments.optimize's.
from experiments.analysis.optimize import MinStaffingCallback, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
