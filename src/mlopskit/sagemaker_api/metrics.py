"""SageMaker's metric contract: a training job's metrics are the first capture group of each
``MetricDefinitions`` regex, matched against every line of its log.

:func:`metric_values` reads a job's whole series from log events (CloudWatch's, each with
its timestamp), which is what experiment tracking records as a metric's history.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["metric_values"]


def metric_values(definitions: Sequence[Mapping[str, Any]],
                  events: Iterable[tuple[int, str]]) -> list[tuple[str, float, int]]:
    """``(metric name, value, timestamp ms)`` for every match of every definition
    (``{"Name": ..., "Regex": ...}``) in the events ``(timestamp ms, line)``, in log order;
    a match that is not a finite number is skipped, as SageMaker skips it.

    Example:
        >>> metric_values([{"Name": "auc", "Regex": r"auc=([0-9.]+)"}],
        ...               [(1000, "epoch 1 auc=0.81"), (2000, "saving"), (3000, "auc=0.9")])
        [('auc', 0.81, 1000), ('auc', 0.9, 3000)]
    """
    patterns = [(str(d["Name"]), re.compile(str(d["Regex"]))) for d in definitions]
    found: list[tuple[str, float, int]] = []
    for timestamp, line in events:
        for name, pattern in patterns:
            match = pattern.search(line)
            if match is None or pattern.groups < 1 or match.group(1) is None:
                continue
            try:
                value = float(match.group(1))
            except ValueError:
                continue
            if math.isfinite(value):
                found.append((name, value, timestamp))
    return found
