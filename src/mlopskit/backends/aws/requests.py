"""Pure functions between specs and SageMaker's wire shapes; tests check them against
botocore's own request validator."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ...specs.training import TrainingJobSpec, decode_hyperparameter
from ..base import MetricValue, TrainingJobDescription

__all__ = ["aware_time", "create_training_job_request", "description_from_response"]


def create_training_job_request(spec: TrainingJobSpec, *, role_arn: str, region: str,
                                image_uri: str) -> dict[str, Any]:
    """The ``CreateTrainingJob`` request for ``spec``.

    Example:
        >>> from mlopskit.specs import build
        >>> spec = build(TrainingJobSpec, name="j", entry_point="train.py",
        ...              source_uri="s3://bkt/j/source/sourcedir.tar.gz",
        ...              instance_type="ml.m5.large", output_path="s3://bkt/")
        >>> request = create_training_job_request(spec, role_arn="arn:aws:iam::1:role/r",
        ...                                       region="us-east-1", image_uri="img:1")
        >>> request["HyperParameters"]["sagemaker_program"]
        '"train.py"'
    """
    algorithm: dict[str, Any] = {"TrainingImage": image_uri, "TrainingInputMode": "File"}
    if spec.metric_definitions:
        algorithm["MetricDefinitions"] = [{"Name": m.name, "Regex": m.regex}
                                          for m in spec.metric_definitions]
    request: dict[str, Any] = {
        "TrainingJobName": spec.name,
        "HyperParameters": spec.encoded_hyperparameters(region),
        "AlgorithmSpecification": algorithm,
        "RoleArn": role_arn,
        "OutputDataConfig": {"S3OutputPath": spec.output_path},
        "ResourceConfig": {"InstanceType": spec.instance_type,
                           "InstanceCount": spec.instance_count,
                           "VolumeSizeInGB": spec.volume_size_gb},
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_run},
    }
    if spec.channels:
        channels = []
        for channel in spec.channels:
            entry: dict[str, Any] = {
                "ChannelName": channel.name,
                "DataSource": {"S3DataSource": {
                    "S3DataType": channel.s3_data_type, "S3Uri": channel.s3_uri,
                    "S3DataDistributionType": channel.distribution}},
                "InputMode": channel.input_mode,
            }
            if channel.content_type:
                entry["ContentType"] = channel.content_type
            channels.append(entry)
        request["InputDataConfig"] = channels
    if spec.environment:
        request["Environment"] = dict(spec.environment)
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in spec.tags.items()]
    return request


def aware_time(value: Any) -> _dt.datetime | None:
    """A timestamp from a SageMaker response, timezone-aware (UTC when botocore gave none)."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    return _dt.datetime.fromisoformat(str(value))


def description_from_response(response: dict[str, Any],
                              tags: dict[str, str]) -> TrainingJobDescription:
    """A ``DescribeTrainingJob`` response in the shape every backend reports."""
    status = str(response["TrainingJobStatus"])
    name = str(response["TrainingJobName"])
    artifacts = response.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    model_data = artifacts if status in {"Completed", "Stopped"} else None
    output_path = str(response.get("OutputDataConfig", {}).get("S3OutputPath", ""))
    output_data = (f"{output_path.rstrip('/')}/{name}/output/output.tar.gz"
                   if status == "Completed" and output_path else None)
    hyperparameters = {k: decode_hyperparameter(v)
                       for k, v in response.get("HyperParameters", {}).items()
                       if not k.startswith("sagemaker_")}
    metrics = tuple(
        MetricValue(str(m["MetricName"]), float(m["Value"]),
                    aware_time(m.get("Timestamp")) or _dt.datetime.now(_dt.timezone.utc))
        for m in response.get("FinalMetricDataList", []))
    resources = response.get("ResourceConfig", {})
    created = aware_time(response.get("CreationTime")) or _dt.datetime.now(_dt.timezone.utc)
    return TrainingJobDescription(
        name=name,
        arn=str(response["TrainingJobArn"]),
        status=status,
        secondary_status=str(response.get("SecondaryStatus", status)),
        failure_reason=response.get("FailureReason") or None,
        model_data=model_data,
        output_data=output_data,
        hyperparameters=hyperparameters,
        metrics=metrics,
        instance_type=str(resources.get("InstanceType", "")),
        instance_count=int(resources.get("InstanceCount", 1)),
        creation_time=created,
        start_time=aware_time(response.get("TrainingStartTime")),
        end_time=aware_time(response.get("TrainingEndTime")),
        tags=tags,
        inputs={c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in response.get("InputDataConfig", [])
                if "S3DataSource" in c.get("DataSource", {})},
        image_uri=response.get("AlgorithmSpecification", {}).get("TrainingImage"),
        raw=response,
    )
