"""Monitoring schedules on SageMaker: a job definition (CreateDataQualityJobDefinition or
CreateModelQualityJobDefinition) plus CreateMonitoringSchedule, and the verbs around them.

SageMaker runs the schedule with its own analyzer container (the Model Monitor image, looked
up through the ``sagemaker`` extra unless the job names ``image_uri``); it reads the
baseline's ``statistics.json`` and ``constraints.json`` from S3 and writes its reports under
the output URI. The request bodies come from :mod:`mlopskit.sagemaker_api.monitoring`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ...errors import ConflictError, MissingDependencyError, NotFoundError
from ...sagemaker_api.cadence import Cadence
from ...sagemaker_api.monitoring import job_definition, schedule_request
from ...specs.monitoring import MonitoringScheduleSpec
from .family import SageMakerFamily

__all__ = ["AwsMonitoring"]


def _analyzer_image(region: str) -> str:
    from ...sagemaker_api.images import _import_quietly  # the SDK's tables, no v2 notice

    for module_name in ("sagemaker.image_uris", "sagemaker.core.image_uris"):
        try:
            module = _import_quietly(module_name)
        except ImportError:
            continue
        return str(module.retrieve("model-monitor", region=region))
    raise MissingDependencyError("the Model Monitor analyzer image is looked up with the "
                                 "optional 'sagemaker' package: pip install "
                                 "'mlopskit[sagemaker]', or pass image_uri= to schedule()",
                                 extra="sagemaker")


class AwsMonitoring(SageMakerFamily):
    """The monitoring verbs of an :class:`~mlopskit.backends.aws.backend.AwsBackend`."""

    def _definition_verbs(self, monitor_type: str) -> tuple[Any, Any]:
        sm = self._sm
        if monitor_type == "DataQuality":
            return sm.create_data_quality_job_definition, sm.delete_data_quality_job_definition
        return sm.create_model_quality_job_definition, sm.delete_model_quality_job_definition

    def create_schedule(self, spec: MonitoringScheduleSpec) -> None:
        """Create the job definition, then the schedule; remove the definition if the
        schedule is refused, so nothing is left half made."""
        body = job_definition(spec.monitor_type, spec.job,
                              role_arn=self.backend._role_arn(),
                              image_uri=spec.job.image_uri or
                              _analyzer_image(self.backend.region))
        name = spec.name
        if name in self.list_schedules():
            raise ConflictError(f"monitoring schedule {name!r} already exists; delete it first "
                                "or pick another name")
        create, delete = self._definition_verbs(spec.monitor_type)
        self.backend.call(create, f"Create{spec.monitor_type}JobDefinition", name,
                          JobDefinitionName=name, **body)
        try:
            self.backend.call(self._sm.create_monitoring_schedule, "CreateMonitoringSchedule",
                              name, **schedule_request(name, spec.monitor_type,
                                                       Cadence(hours=spec.every_hours)))
        except BaseException:
            self.backend.call(delete, f"Delete{spec.monitor_type}JobDefinition", name,
                              JobDefinitionName=name)
            raise

    def describe_schedule(self, name: str) -> dict[str, Any]:
        response = self.backend.call(self._sm.describe_monitoring_schedule,
                                     "DescribeMonitoringSchedule", name,
                                     MonitoringScheduleName=name)
        config = response.get("MonitoringScheduleConfig", {})
        summary = response.get("LastMonitoringExecutionSummary") or {}
        return {"name": response["MonitoringScheduleName"],
                "monitor_type": response.get("MonitoringType") or config.get("MonitoringType"),
                "status": response["MonitoringScheduleStatus"],
                "schedule_expression": config.get("ScheduleConfig", {}).get(
                    "ScheduleExpression"),
                "endpoint_name": response.get("EndpointName"),
                "last_status": summary.get("MonitoringExecutionStatus"),
                "failure_reason": response.get("FailureReason"),
                "created": response.get("CreationTime")}

    def list_schedules(self) -> list[str]:
        summaries: list[dict[str, Any]] = self.backend.call.collect(
            self._sm, "list_monitoring_schedules", "ListMonitoringSchedules", "*",
            "MonitoringScheduleSummaries")
        return sorted(str(summary["MonitoringScheduleName"]) for summary in summaries)

    def set_schedule_status(self, name: str, status: str) -> None:
        method, operation = ((self._sm.stop_monitoring_schedule, "StopMonitoringSchedule")
                             if status == "Stopped" else
                             (self._sm.start_monitoring_schedule, "StartMonitoringSchedule"))
        self.backend.call(method, operation, name, MonitoringScheduleName=name)

    def delete_schedule(self, name: str) -> None:
        """Delete the schedule and the job definition made with it."""
        described = self.describe_schedule(name)
        self.backend.call(self._sm.delete_monitoring_schedule, "DeleteMonitoringSchedule", name,
                          MonitoringScheduleName=name)
        _, delete = self._definition_verbs(str(described["monitor_type"]))
        with contextlib.suppress(NotFoundError):  # made by someone else, under another name
            self.backend.call(delete, f"Delete{described['monitor_type']}JobDefinition", name,
                              JobDefinitionName=name)
