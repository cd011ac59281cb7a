"""Specs of monitoring schedules: what a backend needs to create one.

A schedule runs a monitor every so often. The local scheduler rebuilds the monitor from its
``definition`` and runs it in Python; SageMaker runs its own analyzer container on the
``job`` it describes (an endpoint's captures against a baseline, or against ground truth).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._common import InstanceType, ResourceName, S3Uri, Spec

__all__ = ["MONITOR_TYPES", "MonitoringJobSpec", "MonitoringScheduleSpec"]

MonitorType = Literal["DataQuality", "ModelQuality"]
MONITOR_TYPES: tuple[MonitorType, ...] = ("DataQuality", "ModelQuality")


class MonitoringJobSpec(Spec):
    """What SageMaker's analyzer job reads and where it writes (the AWS side of a schedule).

    Data quality reads ``statistics_uri`` and ``constraints_uri`` (a baseline); model
    quality reads ``ground_truth_uri`` with ``problem_type``. ``image_uri`` defaults to the
    Model Monitor image of the region.
    """

    endpoint_name: ResourceName | None = None
    output_uri: S3Uri
    statistics_uri: S3Uri | None = None
    constraints_uri: S3Uri | None = None
    ground_truth_uri: S3Uri | None = None
    problem_type: str | None = None
    probability_threshold: float | None = None
    image_uri: str | None = Field(default=None, max_length=255)
    instance_type: InstanceType = "ml.m5.xlarge"


class MonitoringScheduleSpec(Spec):
    """A schedule to create: its monitor's type, its cadence in hours, the ``definition``
    the local scheduler rebuilds the monitor from, and the analyzer ``job`` for SageMaker."""

    name: ResourceName
    monitor_type: MonitorType
    every_hours: int = Field(ge=1, le=24)
    definition: dict[str, Any] = Field(default_factory=dict)
    job: MonitoringJobSpec
