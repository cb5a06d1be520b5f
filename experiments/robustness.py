"""``python -m experiments.robustness``; the tool is :mod:`experiments.analysis.robustness`."""

import sys

from experiments.analysis.robustness import main

if __name__ == "__main__":
    sys.exit(main())
