"""Times to an event when some events have not happened yet: Kaplan–Meier quantiles.

A run stops while some disputes are still open and some incidents still wait for a unit.
Leaving them out makes slow cases look rarer than they are (the open disputes are the slow
ones); counting their age so far as if they had closed does the same more mildly. Both bias
quantiles low. Kaplan–Meier treats them as right-censored: each is known to take *at least*
its age at the end of the run. Its quantile is never below the closed-only one (censored mass
only moves to later times) and equals the plain empirical quantile when nothing is censored.

``scipy.stats.ecdf`` on ``scipy.stats.CensoredData`` does the estimation; this module says
what counts as an event and what is censored, for the run's metrics and the analysis tools:

- time to settle (days): settled disputes are events at raised → closed; disputes still open
  are censored at their age; disputes closed any other way (court, violence) are left out, so
  the estimate is the time to settle of disputes that settle (nearly all of them here);
- response (minutes): reported incidents reached by a unit are events at reported → arrived;
  those still waiting at the end are censored at their wait so far, and calls given up by their
  callers at their wait until then (a unit would have come later, if at all); incidents handed
  to the backup force and incidents a patrol came upon (no response to measure) are left out
  (sim/metrics.py's `IncidentStats` does the same batch by batch).

A quantile the estimate never reaches (too much censoring: an overloaded variant whose backlog
keeps growing, or a p90 in a very short run) is known only to be later than the longest time
observed. ``km_quantile`` returns NaN then; the run's metrics use that longest time, a lower
bound, so a variant cannot look fast by leaving its backlog unserved.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from sim.clock import DAY

# Cumulative probabilities are sums of floats: 0.9 may come out as 0.8999999999999999.
_TOL = 1e-9


def km_quantile(events, censored=(), q: float = 0.5, at_least: bool = False) -> float:
    """The q-quantile of a duration from observed ``events`` and right-``censored`` times.

    The smallest t with F(t) >= q, F the Kaplan–Meier estimate of the distribution function
    (with nothing censored: the empirical quantile, numpy's ``inverted_cdf``). When F never
    reaches q: NaN, or with ``at_least`` the longest time observed (a lower bound). NaN when
    there is no case at all.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    events = np.asarray(events, dtype=float)
    censored = np.asarray(censored, dtype=float)
    events = events[~np.isnan(events)]
    censored = censored[~np.isnan(censored)]
    if len(censored) == 0:
        return float(np.quantile(events, q, method="inverted_cdf")) if len(events) else math.nan
    longest = float(max(censored.max(), events.max() if len(events) else -math.inf))
    if len(events) == 0:
        return longest if at_least else math.nan
    cdf = stats.ecdf(stats.CensoredData(uncensored=events, right=censored)).cdf
    reached = np.flatnonzero(cdf.probabilities >= q - _TOL)
    if len(reached):
        return float(cdf.quantiles[reached[0]])
    return longest if at_least else math.nan


def km_share_by(events, censored=(), t: float = 0.0) -> float:
    """F(t): the share of cases whose event comes by ``t``, Kaplan–Meier with the
    right-``censored`` times (with nothing censored: the plain share).  When every case was
    followed for less than ``t``, the share by the longest time followed (a lower bound).  NaN
    when there is no case at all."""
    events = np.asarray(events, dtype=float)
    censored = np.asarray(censored, dtype=float)
    if len(events) + len(censored) == 0:
        return math.nan
    if len(censored) == 0:
        return float(np.mean(events <= t))
    if len(events) == 0:
        return 0.0
    cdf = stats.ecdf(stats.CensoredData(uncensored=events, right=censored)).cdf
    return float(cdf.evaluate(t))


def settle_days(disputes, now: float) -> tuple[np.ndarray, np.ndarray]:
    """(events, censored) in days for time to settle; ``now`` is the run's end in minutes.

    ``disputes``: a table (or a mapping of arrays) with outcome, t_raised and t_closed.
    """
    outcome = np.asarray(disputes["outcome"]).astype(str)
    raised = np.asarray(disputes["t_raised"], dtype=float)
    closed = np.asarray(disputes["t_closed"], dtype=float)
    events = (closed - raised)[outcome == "settled"] / DAY
    censored = (now - raised)[outcome == "open"] / DAY
    return events, censored


def response_minutes(incidents, now: float) -> tuple[np.ndarray, np.ndarray]:
    """(events, censored) in minutes for response time (report to arrival).

    ``incidents``: a table (or a mapping of arrays) with source, overflow, t_reported and
    t_arrived, and abandoned and t_abandoned if callers can give up.  Patrol finds and calls
    handed to the backup force are left out.  A call still waiting at `now` is censored at its
    wait so far; one whose caller gave up, at the wait until then (a unit would have come
    later, if at all), so a variant cannot look fast by losing its slowest calls.
    """
    kept = ((np.asarray(incidents["source"]).astype(str) != "patrol")
            & ~np.asarray(incidents["overflow"], dtype=bool))
    reported = np.asarray(incidents["t_reported"], dtype=float)
    arrived = np.asarray(incidents["t_arrived"], dtype=float)
    reached = ~np.isnan(arrived)
    waited = now - reported
    if "abandoned" in incidents:
        gave_up = np.asarray(incidents["abandoned"], dtype=bool)
        waited = np.where(gave_up, np.asarray(incidents["t_abandoned"], dtype=float) - reported,
                          waited)
    events = (arrived - reported)[kept & reached]
    censored = waited[kept & ~reached]
    return events, censored
