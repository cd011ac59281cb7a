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
