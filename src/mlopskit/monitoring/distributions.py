"""The statistics drift tests use: PSI, the two-sample Kolmogorov-Smirnov test against a
weighted baseline, and the tail probabilities of the Kolmogorov and chi-squared
distributions (in pure Python, so scipy is not needed).

Example:
    >>> round(psi([0.5, 0.5], [0.9, 0.1]), 4)
    0.8789
    >>> round(kolmogorov_sf(1.36), 3), round(chi2_sf(3.841, 1), 3)
    (0.049, 0.05)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PSI_BINS", "PSI_EPSILON", "chi2_sf", "kolmogorov_sf", "ks_two_sample", "psi",
           "sorted_counts", "weighted_quantile_edges"]

PSI_EPSILON = 1e-4
"""Bin proportions are clipped to at least this before PSI takes their logarithm."""

PSI_BINS = 10
"""Numeric PSI compares the shares of the baseline's deciles."""


def weighted_quantile_edges(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Inner bin edges at the baseline's deciles (duplicates dropped)."""
    import numpy as np

    cumulative = np.cumsum(weights) / weights.sum()
    targets = np.arange(1, PSI_BINS) / PSI_BINS
    index = np.searchsorted(cumulative, targets, side="left")
    edges: np.ndarray = np.unique(values[np.minimum(index, values.size - 1)])
    return edges


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two proportion vectors (zeros clipped to
    :data:`PSI_EPSILON`): ``sum((a - e) * ln(a / e))``."""
    import numpy as np

    e = np.clip(np.asarray(expected, dtype=float), PSI_EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), PSI_EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the two-sample KS test's asymptotic
    p-value at ``x = D * sqrt(n*m/(n+m))``); equals ``scipy.stats.kstwobign.sf``."""
    if x <= 0:
        return 1.0
    if x < 1.0:
        # Small x: the theta-function form converges fast here.
        factor = math.sqrt(2 * math.pi) / x
        total = sum(math.exp(-((2 * k - 1) ** 2) * math.pi ** 2 / (8 * x * x))
                    for k in range(1, 8))
        return max(0.0, min(1.0, 1.0 - factor * total))
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * x * x)
        total += term
        if abs(term) < 1e-18:
            break
    return max(0.0, min(1.0, total))


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X > statistic) for chi-squared with ``dof`` degrees of freedom (the regularised
    upper incomplete gamma function Q(dof/2, statistic/2)); equals ``scipy.stats.chi2.sf``."""
    if dof <= 0:
        return float("nan")
    if statistic <= 0:
        return 1.0
    a, x = dof / 2.0, statistic / 2.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series for P, then Q = 1 - P
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    # Lentz's continued fraction for Q
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return min(1.0, math.exp(log_prefix) * h)


def ks_two_sample(base_values: np.ndarray, base_weights: np.ndarray, current: np.ndarray
                  ) -> tuple[float, float]:
    """Two-sample KS distance of a weighted baseline (sorted) and a sample (``current``,
    sorted), and its asymptotic p-value (effective baseline size: the total weight).

    Both CDFs are right-continuous steps, so the largest gap is found at a jump of either:
    the baseline's points and the last copy of each distinct current value (whose CDF is
    its 1-based position). Only the baseline's points are looked up in the current
    sample, which keeps a million-row window to one pass.
    """
    import numpy as np

    total = float(base_weights.sum())
    cumulative = np.concatenate([[0.0], np.cumsum(base_weights)])
    size = current.size
    last = np.flatnonzero(np.append(current[1:] != current[:-1], True))
    at_current = np.abs(
        cumulative[np.searchsorted(base_values, current[last], side="right")] / total
        - (last + 1) / size)
    at_base = np.abs(
        cumulative[np.searchsorted(base_values, base_values, side="right")] / total
        - np.searchsorted(current, base_values, side="right") / size)
    distance = float(max(at_current.max(), at_base.max()))
    n, m = total, float(size)
    return distance, kolmogorov_sf(distance * math.sqrt(n * m / (n + m)))


def sorted_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of ``sorted_values`` in the bins ``np.histogram`` would use for ``edges``
    (half-open, the last bin closed)."""
    import numpy as np

    cuts = np.searchsorted(sorted_values, edges[:-1], side="left")
    cuts = np.append(cuts, np.searchsorted(sorted_values, edges[-1], side="right"))
    return np.diff(cuts)
