"""Intervals, paired tests and verdicts for comparing policy variants over seeds.

Every number here is a mean over replications (seeds) of a run-level metric. Runs are paired
by seed: the simulator's common random numbers give every variant the same demand and luck,
so the paired difference removes most seed-to-seed noise.

**Intervals stay in range.** A mean's interval is Student's t, intersected with the range the
metric's kind allows ([0, 1] for a share, [0, inf) for a time, count, rate or cost; see
``metrics_meta``). Intersecting a confidence set with the parameter space keeps its coverage:
the true mean lies in the range, so whenever the t interval covers it the cut one does too.
A difference of shares is kept in [-1, 1]. ``ci="bca"`` uses ``scipy.stats.bootstrap`` (BCa,
9,999 resamples, fixed random state) instead, which stays in range by construction. We keep t
as the default because at the replication counts sweeps use it covers better: in a check over
400 samples each (lognormal, Poisson(0.5) and near-1 share data), t reached 0.82-0.96 at 5
seeds where BCa reached 0.72-0.90, and the two met only around 20 seeds.  ``compare`` and
``report`` refuse ``--ci bca`` below 10 paired seeds (``compare.check_bca_seeds``): on null
paired differences (300 trials each, ``python -m benchmarks.analysis_nulls``) BCa called
better/worse in 52 % of trials at 2 seeds (the interval is then [min, max]), 26 % at 3, 18 %
at 5, 13 % at 8, 9 % at 10 and 7 % at 20, t in 3-7 %.

**Margins and verdicts.** Each metric has a margin δ (the smallest change that matters, see
``metrics_meta``). One two-sided interval at the chosen level is read against 0 and ±δ:

- ``identical in every pair``: every paired difference is exactly 0 (the variant cannot
  affect this metric in this sweep);
- ``better`` / ``worse``: the interval excludes 0 (``higher`` / ``lower`` for neutral
  metrics); ``within_margin`` says whether it also lies inside ±δ (a real but small change);
- ``equivalent``: the interval contains 0 and lies inside (-δ, δ);
- ``non-inferior``: the interval contains 0 and rules out harm of δ or more (but not a gain
  of δ or more);
- ``inconclusive``: none of these: more seeds are needed to say anything.

Reading one 95 % interval this way is the same as one-sided tests at 2.5 % for the margins
(a conservative TOST). The p values (``p_diff`` two-sided; ``p_noninferior`` and
``p_equivalent`` one-sided, compare with half of 1 - level) come from the same t tests. With
``holm=True`` the verdicts are read from Holm-adjusted p values, per variant across the
metrics compared (three families: difference, non-inferiority, equivalence); the intervals
shown stay unadjusted.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from experiments.analysis import metrics_meta

BETTER, WORSE = "better", "worse"
HIGHER, LOWER = "higher", "lower"
EQUIVALENT = "equivalent"
NON_INFERIOR = "non-inferior"
INCONCLUSIVE = "inconclusive"
IDENTICAL = "identical in every pair"
INSUFFICIENT = "insufficient data"
BASELINE = "baseline"
VERDICTS = (BETTER, WORSE, HIGHER, LOWER, EQUIVALENT, NON_INFERIOR, INCONCLUSIVE, IDENTICAL,
            INSUFFICIENT, BASELINE)
CI_METHODS = ("t", "bca")
BOOTSTRAP_RESAMPLES = 9_999


@contextmanager
def _quiet():
    # scipy warns about "catastrophic cancellation" on identical values and about degenerate
    # bootstrap distributions; the zero-width interval is what we report, so both are noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        yield


def _clip(lo: float, hi: float, bounds: tuple[float, float]) -> tuple[float, float]:
    if math.isnan(lo) or math.isnan(hi):
        return lo, hi
    return min(max(lo, bounds[0]), bounds[1]), max(min(hi, bounds[1]), bounds[0])


def _bca(x: np.ndarray, level: float) -> tuple[float, float] | None:
    """BCa interval of the mean of x, or None when the bootstrap is degenerate."""
    if np.ptp(x) == 0:
        return float(x[0]), float(x[0])
    with _quiet():
        res = stats.bootstrap((x,), np.mean, confidence_level=level, method="BCa",
                              n_resamples=BOOTSTRAP_RESAMPLES, vectorized=True,
                              rng=np.random.default_rng(20240613))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return None if math.isnan(lo) or math.isnan(hi) else (lo, hi)


def _t(x: np.ndarray, level: float) -> tuple[float, float]:
    # Student's t by its formula: the same numbers as scipy.stats.ttest_1samp(...)
    # .confidence_interval (a test pins it), at a fraction of the cost over thousands of groups.
    mean = float(np.mean(x))
    if np.ptp(x) == 0:
        return mean, mean
    half = float(stats.t.ppf(0.5 + level / 2.0, len(x) - 1) * np.std(x, ddof=1)
                 / math.sqrt(len(x)))
    return mean - half, mean + half


def interval(x: np.ndarray, level: float = 0.95, ci: str = "t") -> tuple[float, float, str]:
    """(low, high, method used) for the mean of x (at least two values)."""
    if ci == "bca":
        found = _bca(x, level)
        if found is not None:
            return *found, "BCa"
    return *_t(x, level), "t"


def mean_ci(values: Sequence[float] | pd.Series, level: float = 0.95,
            bounds: tuple[float, float] = (-math.inf, math.inf), ci: str = "t"
            ) -> tuple[int, float, float, float]:
    """Return (n, mean, ci_low, ci_high) of the non-NaN values, the interval kept in ``bounds``.

    With fewer than two values the interval is undefined and returned as NaN.
    """
    x = pd.Series(values, dtype="float64").dropna().to_numpy()
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    mean = float(np.mean(x))
    if n < 2:
        return n, mean, math.nan, math.nan
    lo, hi, _ = interval(x, level, ci)
    lo, hi = _clip(lo, hi, bounds)
    return n, mean, lo, hi


@dataclass
class Difference:
    """Variant minus baseline for one metric: estimate, interval and tests."""

    n_pairs: int
    diff: float
    low: float
    high: float
    method: str           # paired, welch or none
    ci: str = "t"         # t or BCa
    identical: bool = False
    p_diff: float = math.nan         # two-sided, H0: no difference
    p_noninferior: float = math.nan  # one-sided, H0: harm >= margin
    p_equivalent: float = math.nan   # TOST, H0: |difference| >= margin


def _one_sided_p(d: np.ndarray, popmean: float, alternative: str) -> float:
    """p of a one-sample t test (as scipy.stats.ttest_1samp) that also handles zero spread
    (then p is 0 or 1)."""
    if len(d) < 2:
        return math.nan
    if np.ptp(d) == 0:
        holds = d[0] > popmean if alternative == "greater" else d[0] < popmean
        if alternative == "two-sided":
            holds = d[0] != popmean
        return 0.0 if holds else 1.0
    t = (float(np.mean(d)) - popmean) / (float(np.std(d, ddof=1)) / math.sqrt(len(d)))
    df = len(d) - 1
    if alternative == "greater":
        return float(stats.t.sf(t, df))
    if alternative == "less":
        return float(stats.t.cdf(t, df))
    return float(2.0 * stats.t.sf(abs(t), df))


def _welch_p(a: np.ndarray, b: np.ndarray, shift: float, alternative: str) -> float:
    with _quiet():
        return float(stats.ttest_ind(a + shift, b, equal_var=False,
                                     alternative=alternative).pvalue)


def paired_test(treatment: pd.Series, baseline: pd.Series, level: float = 0.95,
                margin: float = math.nan, direction: int = 0, ci: str = "t",
                span: float = math.inf) -> Difference:
    """Treatment - baseline, both indexed by seed: paired when two or more seeds are shared,
    Welch (unpaired, unequal variances) when not. ``span`` bounds |difference| (1 for shares).
    """
    treatment, baseline = treatment.dropna(), baseline.dropna()
    common = treatment.index.intersection(baseline.index)
    s = direction
    if len(common) >= 2:
        a = treatment.loc[common].to_numpy(float)
        b = baseline.loc[common].to_numpy(float)
        d = a - b
        lo, hi, used = interval(d, level, ci)
        lo, hi = _clip(lo, hi, (-span, span))
        out = Difference(len(common), float(np.mean(d)), lo, hi, "paired", used,
                         identical=bool(np.all(d == 0)),
                         p_diff=_one_sided_p(d, 0.0, "two-sided"))
        if not math.isnan(margin):
            out.p_equivalent = max(_one_sided_p(d, -margin, "greater"),
                                   _one_sided_p(d, margin, "less"))
            if s:
                out.p_noninferior = _one_sided_p(s * d, -margin, "greater")
        return out
    if len(treatment) >= 2 and len(baseline) >= 2:
        a, b = treatment.to_numpy(float), baseline.to_numpy(float)
        with _quiet():
            test = stats.ttest_ind(a, b, equal_var=False)
            c = test.confidence_interval(confidence_level=level)
        lo, hi = _clip(float(c.low), float(c.high), (-span, span))
        out = Difference(0, float(np.mean(a) - np.mean(b)), lo, hi, "welch", "t",
                         p_diff=float(test.pvalue))
        if not math.isnan(margin):
            out.p_equivalent = max(_welch_p(a, b, margin, "greater"),
                                   _welch_p(a, b, -margin, "less"))
            if s:
                out.p_noninferior = _welch_p(s * a, s * b, margin, "greater")
        return out
    diff = float(treatment.mean() - baseline.mean()) if len(treatment) and len(baseline) \
        else math.nan
    return Difference(len(common), diff, math.nan, math.nan, "none")


def paired_difference(treatment: pd.Series, baseline: pd.Series, level: float = 0.95
                      ) -> tuple[int, float, float, float, str]:
    """(n_pairs, diff, ci_low, ci_high, method) of :func:`paired_test`, t intervals."""
    d = paired_test(treatment, baseline, level)
    return d.n_pairs, d.diff, d.low, d.high, d.method


def verdict_from(direction: int, shifted: bool, went_up: bool, equivalent: bool,
                 noninferior: bool) -> str:
    """The verdict from what the evidence shows (see the module docstring)."""
    if shifted:
        if direction == 0:
            return HIGHER if went_up else LOWER
        return BETTER if went_up == (direction > 0) else WORSE
    if equivalent:
        return EQUIVALENT
    if noninferior:
        return NON_INFERIOR
    return INCONCLUSIVE


def verdict(metric: str, ci_low: float, ci_high: float, margin: float = math.nan,
            identical: bool = False) -> str:
    """Read a difference interval against 0 and ±margin (NaN: no margin)."""
    if identical:
        return IDENTICAL
    if math.isnan(ci_low) or math.isnan(ci_high):
        return INSUFFICIENT
    sign = metrics_meta.direction(metric)
    shifted = not ci_low <= 0.0 <= ci_high
    has_margin = not math.isnan(margin)
    equivalent = has_margin and -margin < ci_low and ci_high < margin
    # Harm is a fall for higher-is-better metrics and a rise for lower-is-better ones.
    worst = ci_low if sign > 0 else ci_high
    noninferior = has_margin and sign != 0 and sign * worst > -margin
    return verdict_from(sign, shifted, ci_low > 0.0, equivalent, noninferior)


def verdict_from_p(metric: str, diff: float, p_diff: float, p_noninferior: float,
                   p_equivalent: float, level: float = 0.95, identical: bool = False) -> str:
    """The verdict from (possibly adjusted) p values at the interval's level."""
    if identical:
        return IDENTICAL
    if math.isnan(p_diff):
        return INSUFFICIENT
    alpha = 1.0 - level
    sign = metrics_meta.direction(metric)
    return verdict_from(sign, p_diff < alpha, diff > 0,
                        p_equivalent < alpha / 2, sign != 0 and p_noninferior < alpha / 2)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment; NaN entries stay NaN and do not count."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out
