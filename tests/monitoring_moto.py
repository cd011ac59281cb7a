"""moto with monitoring schedules. Tests patch moto, never mlopskit.

moto 5 keeps data and model quality job definitions but has no monitoring schedules at
all. ``patch`` adds Create/Describe/List/Stop/Start/DeleteMonitoringSchedule for one test,
keeping the requests as received (boto3 has already checked them against SageMaker's
service model before they reach moto), and refusing a schedule whose job definition does
not exist, as SageMaker does.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError


class MonitoringSchedules:
    """What the patched moto holds: schedule name -> (request, status)."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}
        self.status: dict[str, str] = {}


def patch(monkeypatch: pytest.MonkeyPatch) -> MonitoringSchedules:
    held = MonitoringSchedules()

    def _definition_exists(backend: Any, kind: str, name: str) -> bool:
        try:
            if kind == "DataQuality":
                backend.describe_data_quality_job_definition(name)
            else:
                backend.describe_model_quality_job_definition(name)
        except Exception:
            return False
        return True

    def create(self: Any) -> ActionResult:
        name = self._get_param("MonitoringScheduleName")
        config = self._get_param("MonitoringScheduleConfig")
        if name in held.requests:
            raise ResourceInUseException(f"Monitoring schedule {name} already exists")
        kind = config.get("MonitoringType")
        if not _definition_exists(self.sagemaker_backend, kind,
                                  config.get("MonitoringJobDefinitionName")):
            raise ValidationError(f"Job definition {config.get('MonitoringJobDefinitionName')} "
                                  "does not exist")
        held.requests[name] = {"MonitoringScheduleName": name,
                               "MonitoringScheduleConfig": config}
        held.status[name] = "Scheduled"
        arn = f"arn:aws:sagemaker:{self.region}:{self.current_account}:monitoring-schedule/{name}"
        return ActionResult({"MonitoringScheduleArn": arn})

    def _get(name: str) -> dict[str, Any]:
        if name not in held.requests:
            raise ResourceNotFound(f"Monitoring schedule {name} does not exist")
        return held.requests[name]

    def describe(self: Any) -> ActionResult:
        name = self._get_param("MonitoringScheduleName")
        request = _get(name)
        config = request["MonitoringScheduleConfig"]
        return ActionResult({
            "MonitoringScheduleArn": f"arn:aws:sagemaker:{self.region}:{self.current_account}"
                                     f":monitoring-schedule/{name}",
            "MonitoringScheduleName": name, "MonitoringScheduleStatus": held.status[name],
            "MonitoringType": config.get("MonitoringType"),
            "CreationTime": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc).isoformat(),
            "LastModifiedTime": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc).isoformat(),
            "MonitoringScheduleConfig": config})

    def list_schedules(self: Any) -> ActionResult:
        return ActionResult({"MonitoringScheduleSummaries": [
            {"MonitoringScheduleName": name,
             "MonitoringScheduleArn": f"arn:aws:sagemaker:{self.region}:"
                                      f"{self.current_account}:monitoring-schedule/{name}",
             "CreationTime": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc).isoformat(),
             "LastModifiedTime": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc).isoformat(),
             "MonitoringScheduleStatus": held.status[name]} for name in sorted(held.requests)]})

    def status_setter(status: str) -> Any:
        def set_status(self: Any) -> EmptyResult:
            name = self._get_param("MonitoringScheduleName")
            _get(name)
            held.status[name] = status
            return EmptyResult()
        return set_status

    def delete(self: Any) -> EmptyResult:
        name = self._get_param("MonitoringScheduleName")
        _get(name)
        del held.requests[name]
        del held.status[name]
        return EmptyResult()

    for attribute, function in (
            ("create_monitoring_schedule", create),
            ("describe_monitoring_schedule", describe),
            ("list_monitoring_schedules", list_schedules),
            ("stop_monitoring_schedule", status_setter("Stopped")),
            ("start_monitoring_schedule", status_setter("Scheduled")),
            ("delete_monitoring_schedule", delete)):
        monkeypatch.setattr(sm_responses.SageMakerResponse, attribute, function,
                            raising=False)
    return held
