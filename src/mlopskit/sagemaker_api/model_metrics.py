"""Model quality reports, the JSON files a model package's ``ModelMetrics`` points to.

SageMaker's evaluation reports (and the SDK examples' ``evaluation.json``) hold sections
whose names end in ``metrics`` (``binary_classification_metrics``,
``regression_metrics``, ``custom_metrics``...), each mapping a metric to
``{"value": ..., "standard_deviation": ...}``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["metrics_report", "read_metrics"]


def metrics_report(metrics: dict[str, float]) -> dict[str, Any]:
    """A model quality statistics report in the shape SageMaker's reports use.

    Example:
        >>> metrics_report({"auc": 0.91})["custom_metrics"]
        {'auc': {'value': 0.91, 'standard_deviation': 'NaN'}}
    """
    return {"version": 0.0,
            "custom_metrics": {k: {"value": v, "standard_deviation": "NaN"}
                               for k, v in sorted(metrics.items())}}


def read_metrics(report: dict[str, Any]) -> dict[str, float]:
    """Metric values from our report or a SageMaker ``*_metrics`` report.

    Example:
        >>> read_metrics({"binary_classification_metrics": {
        ...     "accuracy": {"value": 0.9, "standard_deviation": "NaN"}}})
        {'accuracy': 0.9}
    """
    found: dict[str, float] = {}
    for section, values in report.items():
        if not section.endswith("metrics") or not isinstance(values, dict):
            continue
        for name, value in values.items():
            if isinstance(value, dict) and isinstance(value.get("value"), (int, float)):
                found[name] = float(value["value"])
    return found
