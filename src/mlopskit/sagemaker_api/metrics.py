"""SageMaker's metric contract: a training job's metrics are the first capture group of each
``MetricDefinitions`` regex, matched against every line of its log.

:func:`metric_values` reads a job's whole series from log events (CloudWatch's, each with
its timestamp), which is what experiment tracking records as a metric's history.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["metric_values", "parse_metric"]


@functools.lru_cache(maxsize=256)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def parse_metric(log_line: str, regex: str | re.Pattern[str]) -> float | None:
    """The value the regex's first capture group finds in ``log_line`` (its first match),
    or None when there is no match, no group, or the group is not a finite number (which
    SageMaker does not record).

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


def metric_values(definitions: Sequence[Mapping[str, Any]],
                  events: Iterable[tuple[int, str]]) -> list[tuple[str, float, int]]:
    """``(metric name, value, timestamp ms)`` for every match of every definition
    (``{"Name": ..., "Regex": ...}``) in the events ``(timestamp ms, line)``, in log order
    (see :func:`parse_metric`).

    Example:
        >>> metric_values([{"Name": "auc", "Regex": r"auc=([0-9.]+)"}],
        ...               [(1000, "epoch 1 auc=0.81"), (2000, "saving"), (3000, "auc=0.9")])
        [('auc', 0.81, 1000), ('auc', 0.9, 3000)]
    """
    patterns = [(str(d["Name"]), _compiled(str(d["Regex"]))) for d in definitions]
    found: list[tuple[str, float, int]] = []
    for timestamp, line in events:
        for name, pattern in patterns:
            value = parse_metric(line, pattern)
            if value is not None:
                found.append((name, value, timestamp))
    return found
