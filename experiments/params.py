"""``python -m experiments.params``; the tool is :mod:`experiments.analysis.params`."""

import sys

from experiments.analysis.params import main

if __name__ == "__main__":
    sys.exit(main())
