"""``python -m experiments.animate``; the tool is :mod:`experiments.demo.animate`."""

import sys

from experiments.demo.animate import main

if __name__ == "__main__":
    sys.exit(main())
