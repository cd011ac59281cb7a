"""Experiment tracking with MLflow (``pip install "mlopskit[tracking]"``).

Every job, tuning trial and pipeline execution can be an MLflow run; :class:`Experiment`
compares them (a DataFrame of runs, the best run, a chart of a metric by a param) and
:class:`Tracker` is the client that records them. Importing this package loads neither
MLflow nor pandas: they load when tracking is first used.

Example:
    >>> from mlopskit.tracking import MetricPoint
    >>> MetricPoint("auc", 0.91, step=3, timestamp_ms=1_700_000_000_000).value
    0.91
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = ["Comparison", "DatasetRef", "Experiment", "MetricPoint", "RunSummary", "Tracker"]

__getattr__ = lazy_exports(__name__, {
    "Comparison": ".chart",
    "DatasetRef": ".recorder",
    "Experiment": ".experiment",
    "MetricPoint": ".recorder",
    "RunSummary": ".experiment",
    "Tracker": ".recorder",
})

if TYPE_CHECKING:
    from .chart import Comparison as Comparison
    from .experiment import Experiment as Experiment
    from .experiment import RunSummary as RunSummary
    from .recorder import DatasetRef as DatasetRef
    from .recorder import MetricPoint as MetricPoint
    from .recorder import Tracker as Tracker
