"""Monitoring schedules on SageMaker: a job definition (CreateDataQualityJobDefinition or
CreateModelQualityJobDefinition) plus CreateMonitoringSchedule, and the verbs around them.

SageMaker runs the schedule with its own analyzer container (the Model Monitor image, looked
up through the ``sagemaker`` extra unless ``image_uri`` is given); it reads the baseline's
``statistics.json`` and ``constraints.json`` from S3 and writes its reports under the
output URI. Request builders are pure functions, so tests check them with botocore's own
validation.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any

from ...errors import ConflictError, MissingDependencyError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from ...monitoring.cadence import Cadence
    from ...session import Session

__all__ = ["create_schedule", "data_quality_job_definition", "delete_schedule",
           "describe_schedule", "list_schedules", "model_quality_job_definition",
           "schedule_request", "set_schedule_status"]

_INPUT_PATH = "/opt/ml/processing/input/endpoint"
_GROUND_TRUTH_PATH = "/opt/ml/processing/groundtruth"
_OUTPUT_PATH = "/opt/ml/processing/output"
_MAX_RUNTIME = 3600


def _analyzer_image(region: str) -> str:
    for module_name in ("sagemaker.image_uris", "sagemaker.core.image_uris"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        return str(module.retrieve("model-monitor", region=region))
    raise MissingDependencyError("the Model Monitor analyzer image is looked up with the "
                                 "optional 'sagemaker' package: pip install "
                                 "'mlopskit[sagemaker]', or pass image_uri= to schedule()",
                                 extra="sagemaker")


def _role(session: Session) -> str:
    if not session.role_arn:
        raise ValidationError("role_arn: SageMaker runs monitoring jobs as an execution role; "
                              "pass role_arn= to AwsSession or set MLOPSKIT_ROLE_ARN",
                              field="role_arn")
    return session.role_arn


def _common(session: Session, instance_type: str, output_uri: str) -> dict[str, Any]:
    return {
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": instance_type,
                                           "VolumeSizeInGB": 20}},
        "RoleArn": _role(session),
        "StoppingCondition": {"MaxRuntimeInSeconds": _MAX_RUNTIME},
        "_output": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": output_uri, "LocalPath": _OUTPUT_PATH, "S3UploadMode": "EndOfJob"}}]},
    }


def _endpoint_input(endpoint_name: str) -> dict[str, Any]:
    return {"EndpointName": endpoint_name, "LocalPath": _INPUT_PATH, "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated"}


def data_quality_job_definition(session: Session, *, endpoint_name: str, statistics_uri: str,
                                constraints_uri: str, output_uri: str,
                                image_uri: str | None, instance_type: str) -> dict[str, Any]:
    """The body of CreateDataQualityJobDefinition (without its name)."""
    common = _common(session, instance_type, output_uri)
    return {
        "DataQualityBaselineConfig": {"ConstraintsResource": {"S3Uri": constraints_uri},
                                      "StatisticsResource": {"S3Uri": statistics_uri}},
        "DataQualityAppSpecification": {"ImageUri": image_uri or
                                        _analyzer_image(session.region)},
        "DataQualityJobInput": {"EndpointInput": _endpoint_input(endpoint_name)},
        "DataQualityJobOutputConfig": common.pop("_output"),
        **common,
    }


def model_quality_job_definition(session: Session, *, endpoint_name: str,
                                 ground_truth_uri: str, problem_type: str, output_uri: str,
                                 image_uri: str | None, instance_type: str,
                                 probability_threshold: float | None) -> dict[str, Any]:
    """The body of CreateModelQualityJobDefinition (without its name)."""
    common = _common(session, instance_type, output_uri)
    endpoint_input = _endpoint_input(endpoint_name)
    if probability_threshold is not None:
        endpoint_input["ProbabilityThresholdAttribute"] = float(probability_threshold)
    return {
        "ModelQualityAppSpecification": {"ImageUri": image_uri or
                                         _analyzer_image(session.region),
                                         "ProblemType": problem_type},
        "ModelQualityJobInput": {"EndpointInput": endpoint_input,
                                 "GroundTruthS3Input": {"S3Uri": ground_truth_uri}},
        "ModelQualityJobOutputConfig": common.pop("_output"),
        **common,
    }


def schedule_request(name: str, monitor_type: str, cadence: Cadence) -> dict[str, Any]:
    """The body of CreateMonitoringSchedule for a job definition named like the schedule."""
    return {"MonitoringScheduleName": name, "MonitoringScheduleConfig": {
        "ScheduleConfig": {"ScheduleExpression": cadence.cron},
        "MonitoringJobDefinitionName": name, "MonitoringType": monitor_type}}


def _backend(session: Session) -> Any:
    return session.backend


def create_schedule(session: Session, job_definition: dict[str, Any], name: str,
                    monitor_type: str, cadence: Cadence) -> None:
    """Create the job definition, then the schedule; remove the definition if the schedule
    is refused, so nothing is left half made."""
    backend = _backend(session)
    sm = backend.clients.sagemaker
    if name in list_schedules(session):
        raise ConflictError(f"monitoring schedule {name!r} already exists; delete it first "
                            "or pick another name")
    create, delete = (
        (sm.create_data_quality_job_definition, sm.delete_data_quality_job_definition)
        if monitor_type == "DataQuality" else
        (sm.create_model_quality_job_definition, sm.delete_model_quality_job_definition))
    operation = f"Create{monitor_type}JobDefinition"
    backend.call(create, operation, name, JobDefinitionName=name, **job_definition)
    try:
        backend.call(sm.create_monitoring_schedule, "CreateMonitoringSchedule", name,
                     **schedule_request(name, monitor_type, cadence))
    except BaseException:
        backend.call(delete, f"Delete{monitor_type}JobDefinition", name,
                     JobDefinitionName=name)
        raise


def describe_schedule(session: Session, name: str) -> dict[str, Any]:
    backend = _backend(session)
    response = backend.call(backend.clients.sagemaker.describe_monitoring_schedule,
                            "DescribeMonitoringSchedule", name, MonitoringScheduleName=name)
    config = response.get("MonitoringScheduleConfig", {})
    summary = response.get("LastMonitoringExecutionSummary") or {}
    return {"name": response["MonitoringScheduleName"],
            "monitor_type": response.get("MonitoringType") or config.get("MonitoringType"),
            "status": response["MonitoringScheduleStatus"],
            "schedule_expression": config.get("ScheduleConfig", {}).get("ScheduleExpression"),
            "endpoint_name": response.get("EndpointName"),
            "last_status": summary.get("MonitoringExecutionStatus"),
            "failure_reason": response.get("FailureReason"),
            "created": response.get("CreationTime")}


def list_schedules(session: Session) -> list[str]:
    backend = _backend(session)
    paginator = backend.clients.sagemaker.get_paginator("list_monitoring_schedules")

    def pages() -> list[str]:
        return [s["MonitoringScheduleName"] for page in paginator.paginate()
                for s in page.get("MonitoringScheduleSummaries", [])]

    names: list[str] = backend.call(pages, "ListMonitoringSchedules", "*")
    return sorted(names)


def set_schedule_status(session: Session, name: str, status: str) -> None:
    backend = _backend(session)
    sm = backend.clients.sagemaker
    method, operation = ((sm.stop_monitoring_schedule, "StopMonitoringSchedule")
                         if status == "Stopped" else
                         (sm.start_monitoring_schedule, "StartMonitoringSchedule"))
    backend.call(method, operation, name, MonitoringScheduleName=name)


def delete_schedule(session: Session, name: str) -> None:
    """Delete the schedule and the job definition made with it."""
    backend = _backend(session)
    sm = backend.clients.sagemaker
    described = describe_schedule(session, name)
    backend.call(sm.delete_monitoring_schedule, "DeleteMonitoringSchedule", name,
                 MonitoringScheduleName=name)
    delete = (sm.delete_data_quality_job_definition
              if described["monitor_type"] == "DataQuality"
              else sm.delete_model_quality_job_definition)
    with contextlib.suppress(NotFoundError):  # made by someone else, under another name
        backend.call(delete, f"Delete{described['monitor_type']}JobDefinition", name,
                     JobDefinitionName=name)
