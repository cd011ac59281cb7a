"""Monitoring: captured traffic, baselines, drift and quality reports.

Names load on first use, so ``import mlopskit.monitoring`` stays light (pandas and numpy
load when a baseline or a report is computed).

Example:
    >>> import mlopskit.monitoring as monitoring
    >>> monitoring.DriftThresholds().psi
    0.2
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .capture import CapturedPayload, CaptureRecord, captures_to_frame, read_captures
    from .statistics import (
        Baseline,
        DriftReport,
        DriftThresholds,
        baseline,
        compare,
        model_quality_metrics,
    )

__all__ = [
    "Baseline",
    "CaptureRecord",
    "CapturedPayload",
    "DriftReport",
    "DriftThresholds",
    "baseline",
    "captures_to_frame",
    "compare",
    "model_quality_metrics",
    "read_captures",
]

_WHERE = {
    "CaptureRecord": "capture", "CapturedPayload": "capture",
    "captures_to_frame": "capture", "read_captures": "capture",
    "Baseline": "statistics", "DriftReport": "statistics", "DriftThresholds": "statistics",
    "baseline": "statistics", "compare": "statistics",
    "model_quality_metrics": "statistics",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mlopskit.monitoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
