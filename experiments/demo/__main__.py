"""``python -m experiments.demo``: start the trainers' page; see :mod:`experiments.demo.server`."""

import sys

from experiments.demo.server import main

if __name__ == "__main__":
    sys.exit(main())
