"""``python -m experiments.plot``; the tool is :mod:`experiments.analysis.plot`."""

import sys

from experiments.analysis.plot import main

if __name__ == "__main__":
    sys.exit(main())
