"""SageMaker's DescribeTrainingJob and DescribeProcessingJob answers as the descriptions every
backend reports (:class:`~mlopskit.backends.base.TrainingJobDescription`,
:class:`~mlopskit.backends.base.ProcessingJobDescription`). Pure functions; they stay in
this backend because the description classes live in the backend protocol."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ...sagemaker_api.responses import aware_time
from ...specs.training import decode_hyperparameter
from ..base import MetricValue, ProcessingJobDescription, TrainingJobDescription

__all__ = ["description_from_response", "processing_description_from_response"]


def _job_fields(response: dict[str, Any], kind: str, resources: dict[str, Any],
                tags: dict[str, str]) -> dict[str, Any]:
    """The fields a ``Describe<kind>Job`` answer gives the same way for every kind of job:
    name, ARN, status, failure, cluster, times, tags and the answer itself."""
    return {
        "name": str(response[f"{kind}JobName"]),
        "arn": str(response[f"{kind}JobArn"]),
        "status": str(response[f"{kind}JobStatus"]),
        "failure_reason": response.get("FailureReason") or None,
        "instance_type": str(resources.get("InstanceType", "")),
        "instance_count": int(resources.get("InstanceCount", 1)),
        "creation_time": (aware_time(response.get("CreationTime"))
                          or _dt.datetime.now(_dt.timezone.utc)),
        "start_time": aware_time(response.get(f"{kind}StartTime")),
        "end_time": aware_time(response.get(f"{kind}EndTime")),
        "tags": tags,
        "raw": response,
    }


def description_from_response(response: dict[str, Any],
                              tags: dict[str, str]) -> TrainingJobDescription:
    """A ``DescribeTrainingJob`` response in the shape every backend reports."""
    common = _job_fields(response, "Training", response.get("ResourceConfig", {}), tags)
    status, name = common["status"], common["name"]
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
    return TrainingJobDescription(
        **common,
        secondary_status=str(response.get("SecondaryStatus", status)),
        model_data=model_data,
        output_data=output_data,
        hyperparameters=hyperparameters,
        metrics=metrics,
        inputs={c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in response.get("InputDataConfig", [])
                if "S3DataSource" in c.get("DataSource", {})},
        image_uri=response.get("AlgorithmSpecification", {}).get("TrainingImage"),
        max_run=response.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
    )


def processing_description_from_response(response: dict[str, Any],
                                         tags: dict[str, str]) -> ProcessingJobDescription:
    """A ``DescribeProcessingJob`` response in the shape every backend reports."""
    app = response.get("AppSpecification", {})
    cluster = response.get("ProcessingResources", {}).get("ClusterConfig", {})
    outputs = response.get("ProcessingOutputConfig", {}).get("Outputs", [])
    return ProcessingJobDescription(
        **_job_fields(response, "Processing", cluster, tags),
        exit_message=response.get("ExitMessage") or None,
        outputs={o["OutputName"]: o["S3Output"]["S3Uri"] for o in outputs if "S3Output" in o},
        inputs={i["InputName"]: i["S3Input"]["S3Uri"]
                for i in response.get("ProcessingInputs", []) if "S3Input" in i},
        entrypoint=tuple(app.get("ContainerEntrypoint", ())),
        arguments=tuple(app.get("ContainerArguments", ())),
        environment=dict(response.get("Environment", {})),
        image_uri=app.get("ImageUri"),
        max_runtime=response.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
    )
