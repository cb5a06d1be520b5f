"""``python -m experiments.sensitivity``; the tool is :mod:`experiments.analysis.sensitivity`."""

import sys

from experiments.analysis.sensitivity import main

if __name__ == "__main__":
    sys.exit(main())
