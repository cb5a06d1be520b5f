"""``python -m experiments.collect``; the tool is :mod:`experiments.analysis.collect`."""

import sys

from experiments.analysis.collect import main

if __name__ == "__main__":
    sys.exit(main())
