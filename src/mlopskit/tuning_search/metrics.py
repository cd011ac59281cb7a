"""Objective values read from log lines with a SageMaker metric definition's regex.

SageMaker reads a training job's metrics from its logs: each ``MetricDefinitions`` entry
is a regex whose first capture group is the value. The same lines give a tuner the
intermediate values early stopping needs.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable

__all__ = ["parse_metric", "running_values"]


@functools.lru_cache(maxsize=256)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def parse_metric(log_line: str, regex: str | re.Pattern[str]) -> float | None:
    """The value the regex's first capture group finds in ``log_line`` (its first match),
    or None when there is no match, no group, or the group is not a finite number.

    Example:
        >>> parse_metric("epoch 3 validation:auc=0.8125", r"validation:auc=([0-9.]+)")
        0.8125
        >>> parse_metric("epoch 3 train:loss=0.3", r"validation:auc=([0-9.]+)") is None
        True
        >>> parse_metric("loss: nan", r"loss: (\\S+)") is None
        True
    """
    pattern = regex if isinstance(regex, re.Pattern) else _compiled(regex)
    match = pattern.search(log_line)
    if match is None or pattern.groups < 1 or match.group(1) is None:
        return None
    try:
        value = float(match.group(1).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def running_values(lines: Iterable[str], regex: str | re.Pattern[str]) -> list[tuple[int, float]]:
    """The metric's values in log order as ``(step, value)``, steps counted from 1 (one per
    line that reports the metric): the intermediate values of one trial.

    Example:
        >>> lines = ["[0] val-rmse:0.50", "saving", "[1] val-rmse:0.42", "[2] val-rmse:0.40"]
        >>> running_values(lines, r"val-rmse:([0-9.]+)")
        [(1, 0.5), (2, 0.42), (3, 0.4)]
    """
    pattern = regex if isinstance(regex, re.Pattern) else _compiled(regex)
    values: list[tuple[int, float]] = []
    for line in lines:
        value = parse_metric(line, pattern)
        if value is not None:
            values.append((len(values) + 1, value))
    return values
