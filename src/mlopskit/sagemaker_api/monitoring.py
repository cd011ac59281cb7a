"""Model Monitor schedules as SageMaker's API takes them: the job definition of a data
quality or model quality analyzer (CreateDataQualityJobDefinition /
CreateModelQualityJobDefinition) and CreateMonitoringSchedule. Pure functions of the spec,
so tests check them with botocore's own validation.

Example:
    >>> from mlopskit.specs.monitoring import MonitoringJobSpec
    >>> job = MonitoringJobSpec(endpoint_name="churn", output_uri="s3://bkt/monitor",
    ...                         statistics_uri="s3://bkt/b/statistics.json",
    ...                         constraints_uri="s3://bkt/b/constraints.json")
    >>> body = job_definition("DataQuality", job, role_arn="arn:aws:iam::1:role/r",
    ...                       image_uri="img:1")
    >>> body["DataQualityJobInput"]["EndpointInput"]["EndpointName"]
    'churn'
"""

from __future__ import annotations

from typing import Any

from ..errors import ValidationError
from ..specs.monitoring import MonitoringJobSpec
from .cadence import Cadence

__all__ = ["job_definition", "schedule_request"]

_INPUT_PATH = "/opt/ml/processing/input/endpoint"
_OUTPUT_PATH = "/opt/ml/processing/output"
_MAX_RUNTIME = 3600


def _common(job: MonitoringJobSpec, role_arn: str) -> dict[str, Any]:
    return {
        "JobResources": {"ClusterConfig": {"InstanceCount": 1,
                                           "InstanceType": job.instance_type,
                                           "VolumeSizeInGB": 20}},
        "RoleArn": role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": _MAX_RUNTIME},
    }


def _output(job: MonitoringJobSpec) -> dict[str, Any]:
    return {"MonitoringOutputs": [{"S3Output": {
        "S3Uri": job.output_uri, "LocalPath": _OUTPUT_PATH, "S3UploadMode": "EndOfJob"}}]}


def _endpoint_input(endpoint_name: str) -> dict[str, Any]:
    return {"EndpointName": endpoint_name, "LocalPath": _INPUT_PATH, "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated"}


def job_definition(monitor_type: str, job: MonitoringJobSpec, *, role_arn: str,
                   image_uri: str) -> dict[str, Any]:
    """The body of Create{DataQuality,ModelQuality}JobDefinition (without its name).

    SageMaker's analyzer reads an endpoint's captures: a job without ``endpoint_name`` (or,
    for model quality, without ``ground_truth_uri``) is a ValidationError naming the source.
    """
    if monitor_type == "DataQuality":
        if job.endpoint_name is None or job.statistics_uri is None or \
                job.constraints_uri is None:
            raise ValidationError("source: a SageMaker monitoring schedule reads an endpoint's "
                                  "captures; pass the Endpoint", field="source")
        return {
            "DataQualityBaselineConfig": {
                "ConstraintsResource": {"S3Uri": job.constraints_uri},
                "StatisticsResource": {"S3Uri": job.statistics_uri}},
            "DataQualityAppSpecification": {"ImageUri": image_uri},
            "DataQualityJobInput": {"EndpointInput": _endpoint_input(job.endpoint_name)},
            "DataQualityJobOutputConfig": _output(job),
            **_common(job, role_arn),
        }
    if job.endpoint_name is None or job.ground_truth_uri is None:
        raise ValidationError("source: a SageMaker model quality schedule reads an "
                              "endpoint's captures and ground_truth_uri; pass both",
                              field="source")
    endpoint_input = _endpoint_input(job.endpoint_name)
    if job.probability_threshold is not None:
        endpoint_input["ProbabilityThresholdAttribute"] = float(job.probability_threshold)
    return {
        "ModelQualityAppSpecification": {"ImageUri": image_uri,
                                         "ProblemType": job.problem_type},
        "ModelQualityJobInput": {"EndpointInput": endpoint_input,
                                 "GroundTruthS3Input": {"S3Uri": job.ground_truth_uri}},
        "ModelQualityJobOutputConfig": _output(job),
        **_common(job, role_arn),
    }


def schedule_request(name: str, monitor_type: str, cadence: Cadence) -> dict[str, Any]:
    """The body of CreateMonitoringSchedule for a job definition named like the schedule.

    Example:
        >>> schedule_request("churn", "DataQuality", Cadence(hours=6))["MonitoringScheduleConfig"][
        ...     "ScheduleConfig"]
        {'ScheduleExpression': 'cron(0 */6 ? * * *)'}
    """
    return {"MonitoringScheduleName": name, "MonitoringScheduleConfig": {
        "ScheduleConfig": {"ScheduleExpression": cadence.cron},
        "MonitoringJobDefinitionName": name, "MonitoringType": monitor_type}}
