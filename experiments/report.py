"""``python -m experiments.report``; the tool is :mod:`experiments.analysis.report`."""

import sys

from experiments.analysis.report import main

if __name__ == "__main__":
    sys.exit(main())
