"""Pure functions between specs and SageMaker's wire shapes; tests check them against
botocore's own request validator."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ...specs.processing import CODE_DIR, CODE_INPUT_NAME, ProcessingJobSpec
from ...specs.training import TrainingJobSpec, decode_hyperparameter
from ..base import MetricValue, ProcessingJobDescription, TrainingJobDescription

__all__ = [
    "aware_time",
    "create_processing_job_request",
    "create_training_job_request",
    "description_from_response",
    "processing_description_from_response",
]


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
        max_run=response.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
        raw=response,
    )


def create_processing_job_request(spec: ProcessingJobSpec, *, role_arn: str,
                                  image_uri: str | None = None) -> dict[str, Any]:
    """The ``CreateProcessingJob`` request for ``spec``, shaped as the SageMaker SDK sends it.

    The script is the input ``code`` (last, at ``/opt/ml/processing/input/code``);
    ``ContainerEntrypoint`` is the command plus the script's container path, and
    ``ContainerArguments`` the arguments, verbatim. ``image_uri`` overrides the spec's own
    (the AWS backend passes the image it resolved from ``framework``).

    Example:
        >>> from mlopskit.specs import build
        >>> spec = build(ProcessingJobSpec, name="prep-1", code_uri="s3://bkt/prep-1/p.py",
        ...              script="p.py", instance_type="ml.m5.large", image_uri="img:1",
        ...              arguments=("--rows", "10"))
        >>> request = create_processing_job_request(spec, role_arn="arn:aws:iam::1:role/r")
        >>> request["AppSpecification"]["ContainerEntrypoint"]
        ['python3', '/opt/ml/processing/input/code/p.py']
        >>> request["AppSpecification"]["ContainerArguments"]
        ['--rows', '10']
    """
    image = image_uri or spec.image_uri
    if not image:
        raise ValueError("create_processing_job_request: the spec has no image_uri; pass the "
                         "resolved image as image_uri=")
    app: dict[str, Any] = {"ImageUri": image, "ContainerEntrypoint": spec.entrypoint}
    if spec.arguments:
        app["ContainerArguments"] = list(spec.arguments)
    inputs: list[dict[str, Any]] = [
        _processing_input(i.name, i.s3_uri, i.local_path, i.distribution, i.s3_data_type,
                          i.input_mode)
        for i in spec.inputs]
    inputs.append(_processing_input(CODE_INPUT_NAME, spec.code_uri, CODE_DIR,
                                    "FullyReplicated", "S3Prefix", "File"))
    request: dict[str, Any] = {
        "ProcessingJobName": spec.name,
        "ProcessingResources": {"ClusterConfig": {
            "InstanceType": spec.instance_type, "InstanceCount": spec.instance_count,
            "VolumeSizeInGB": spec.volume_size_gb}},
        "AppSpecification": app,
        "RoleArn": role_arn,
        "ProcessingInputs": inputs,
    }
    if spec.outputs:
        request["ProcessingOutputConfig"] = {"Outputs": [
            {"OutputName": o.name, "AppManaged": False,
             "S3Output": {"S3Uri": o.s3_uri, "LocalPath": o.local_path,
                          "S3UploadMode": o.upload_mode}}
            for o in spec.outputs]}
    if spec.max_runtime is not None:
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": spec.max_runtime}
    if spec.environment:
        request["Environment"] = dict(spec.environment)
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in spec.tags.items()]
    return request


def _processing_input(name: str, uri: str, local_path: str, distribution: str,
                      data_type: str, mode: str) -> dict[str, Any]:
    return {"InputName": name, "AppManaged": False,
            "S3Input": {"S3Uri": uri, "LocalPath": local_path, "S3DataType": data_type,
                        "S3InputMode": mode, "S3DataDistributionType": distribution,
                        "S3CompressionType": "None"}}


def processing_description_from_response(response: dict[str, Any],
                                         tags: dict[str, str]) -> ProcessingJobDescription:
    """A ``DescribeProcessingJob`` response in the shape every backend reports."""
    app = response.get("AppSpecification", {})
    cluster = response.get("ProcessingResources", {}).get("ClusterConfig", {})
    outputs = response.get("ProcessingOutputConfig", {}).get("Outputs", [])
    created = aware_time(response.get("CreationTime")) or _dt.datetime.now(_dt.timezone.utc)
    return ProcessingJobDescription(
        name=str(response["ProcessingJobName"]),
        arn=str(response["ProcessingJobArn"]),
        status=str(response["ProcessingJobStatus"]),
        failure_reason=response.get("FailureReason") or None,
        exit_message=response.get("ExitMessage") or None,
        outputs={o["OutputName"]: o["S3Output"]["S3Uri"] for o in outputs if "S3Output" in o},
        inputs={i["InputName"]: i["S3Input"]["S3Uri"]
                for i in response.get("ProcessingInputs", []) if "S3Input" in i},
        entrypoint=tuple(app.get("ContainerEntrypoint", ())),
        arguments=tuple(app.get("ContainerArguments", ())),
        instance_type=str(cluster.get("InstanceType", "")),
        instance_count=int(cluster.get("InstanceCount", 1)),
        creation_time=created,
        start_time=aware_time(response.get("ProcessingStartTime")),
        end_time=aware_time(response.get("ProcessingEndTime")),
        tags=tags,
        environment=dict(response.get("Environment", {})),
        image_uri=app.get("ImageUri"),
        max_runtime=response.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
        raw=response,
    )
