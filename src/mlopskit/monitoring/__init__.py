"""Monitoring: captured traffic, baselines, drift and quality reports, schedules, triggers.

Names load on first use, so ``import mlopskit.monitoring`` stays light (pandas and numpy
load when a baseline or a report is computed).

Example:
    >>> import mlopskit.monitoring as monitoring
    >>> monitoring.Cadence.parse("1h").cron
    'cron(0 * ? * * *)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ..sagemaker_api.cadence import Cadence
    from .actions import CallFunction, LogViolations, StartPipeline
    from .baselines import Baseline, baseline
    from .capture import CapturedPayload, CaptureRecord, captures_to_frame, read_captures
    from .drift import DriftReport, DriftThresholds, compare
    from .monitor import (
        DataQualityMonitor,
        ModelQualityMonitor,
        MonitoringRun,
        MonitoringSchedule,
    )
    from .quality import QualityReport, put_ground_truth
    from .quality_metrics import model_quality_metrics
    from .scheduler import (
        ApprovalTrigger,
        Rollout,
        SchedulerPass,
        deploy_on_approval,
        run_due,
        run_forever,
    )

__all__ = [
    "ApprovalTrigger",
    "Baseline",
    "Cadence",
    "CallFunction",
    "CaptureRecord",
    "CapturedPayload",
    "DataQualityMonitor",
    "DriftReport",
    "DriftThresholds",
    "LogViolations",
    "ModelQualityMonitor",
    "MonitoringRun",
    "MonitoringSchedule",
    "QualityReport",
    "Rollout",
    "SchedulerPass",
    "StartPipeline",
    "baseline",
    "captures_to_frame",
    "compare",
    "deploy_on_approval",
    "model_quality_metrics",
    "put_ground_truth",
    "read_captures",
    "run_due",
    "run_forever",
]

__getattr__ = lazy_exports(__name__, {
    "CallFunction": ".actions", "LogViolations": ".actions", "StartPipeline": ".actions",
    "Cadence": "mlopskit.sagemaker_api.cadence",
    "CaptureRecord": ".capture", "CapturedPayload": ".capture",
    "captures_to_frame": ".capture", "read_captures": ".capture",
    "DataQualityMonitor": ".monitor", "ModelQualityMonitor": ".monitor",
    "MonitoringRun": ".monitor", "MonitoringSchedule": ".monitor",
    "QualityReport": ".quality", "put_ground_truth": ".quality",
    "ApprovalTrigger": ".scheduler", "Rollout": ".scheduler", "SchedulerPass": ".scheduler",
    "deploy_on_approval": ".scheduler", "run_due": ".scheduler", "run_forever": ".scheduler",
    "Baseline": ".baselines", "baseline": ".baselines",
    "DriftReport": ".drift", "DriftThresholds": ".drift", "compare": ".drift",
    "model_quality_metrics": ".quality_metrics",
})


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
