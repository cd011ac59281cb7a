"""Objective values read from log lines with a SageMaker metric definition's regex.

SageMaker reads a training job's metrics from its logs: each ``MetricDefinitions`` entry
is a regex whose first capture group is the value (:func:`parse_metric`, the contract's one
reading, lives in ``mlopskit.sagemaker_api.metrics``). The same lines give a tuner the
intermediate values early stopping needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mlopskit.sagemaker_api.metrics import parse_metric

__all__ = ["parse_metric", "running_values"]


def running_values(lines: Iterable[str], regex: str | re.Pattern[str]) -> list[tuple[int, float]]:
    """The metric's values in log order as ``(step, value)``, steps counted from 1 (one per
    line that reports the metric): the intermediate values of one trial.

    Example:
        >>> lines = ["[0] val-rmse:0.50", "saving", "[1] val-rmse:0.42", "[2] val-rmse:0.40"]
        >>> running_values(lines, r"val-rmse:([0-9.]+)")
        [(1, 0.5), (2, 0.42), (3, 0.4)]
    """
    values: list[tuple[int, float]] = []
    for line in lines:
        value = parse_metric(line, regex)
        if value is not None:
            values.append((len(values) + 1, value))
    return values
