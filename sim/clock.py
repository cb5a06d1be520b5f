"""The simulation clock's units: SimPy's `env.now` counts minutes from the start of a run."""

DAY = 1440.0
WEEK = 7 * DAY
YEAR = 365.0 * DAY
