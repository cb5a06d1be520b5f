"""``python -m experiments.advisor``; the tool is :mod:`experiments.analysis.advisor`."""

import sys

from experiments.analysis.advisor import main

if __name__ == "__main__":
    sys.exit(main())
