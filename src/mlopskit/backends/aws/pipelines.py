"""Pipelines on SageMaker: CreatePipeline/UpdatePipeline, StartPipelineExecution,
DescribePipelineExecution, ListPipelineExecutionSteps, StopPipelineExecution.

Every call goes through the backend's retry policy; waits poll on the session clock. The
records returned have the same shape as the local engine's.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from typing import Any

from ...errors import NotFoundError
from ...sagemaker_api.pipeline.records import TERMINAL, ExecutionRecord, StepRecord
from ...sagemaker_api.responses import aware_time
from .family import SageMakerFamily

__all__ = ["AwsPipelines", "parameter_text"]

# ListPipelineExecutionSteps says what ran through the key of its Metadata.
_METADATA_TYPES = {"TrainingJob": "Training", "ProcessingJob": "Processing",
                   "TransformJob": "Transform", "Model": "Model",
                   "RegisterModel": "RegisterModel", "Condition": "Condition", "Fail": "Fail",
                   "TuningJob": "Tuning", "Lambda": "Lambda", "Callback": "Callback",
                   "QualityCheck": "QualityCheck", "ClarifyCheck": "ClarifyCheck",
                   "EMR": "EMR", "AutoMLJob": "AutoML"}


def _resource_name(arn: str) -> str:
    """What a step ran, by name as the local backend gives it (``TrainingJob.attach`` takes
    it): ``<name>`` of ``arn:aws:sagemaker:...:training-job/<name>``; an ARN of another
    form (a Lambda function's) as it is.

    Example:
        >>> _resource_name("arn:aws:sagemaker:us-east-1:111122223333:training-job/t-1")
        't-1'
        >>> _resource_name("arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3")
        'g/3'
    """
    resource = arn.split(":", 5)[-1]
    return resource.split("/", 1)[1] if arn.startswith("arn:") and "/" in resource else arn


def parameter_text(value: Any) -> str:
    """A parameter value as StartPipelineExecution takes it (always a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class AwsPipelines(SageMakerFamily):
    """The pipeline verbs of an :class:`~mlopskit.backends.aws.backend.AwsBackend`."""

    def _call(self, method: Any, operation: str, resource: str, **kwargs: Any) -> Any:
        return self.backend.call(method, operation, resource, **kwargs)

    def upsert_pipeline(self, name: str, definition: str, *, role_arn: str | None,
                        description: str | None = None,
                        tags: dict[str, str] | None = None) -> str:
        role = role_arn or self.backend._role_arn()
        request: dict[str, Any] = {"PipelineName": name, "PipelineDefinition": definition,
                                   "RoleArn": role}
        if description:
            request["PipelineDescription"] = description
        tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        try:
            self.describe_pipeline(name)
        except NotFoundError:
            response = self._call(self._sm.create_pipeline, "CreatePipeline", name,
                                  ClientRequestToken=str(uuid.uuid4()),
                                  **request, **({"Tags": tag_list} if tag_list else {}))
        else:
            response = self._call(self._sm.update_pipeline, "UpdatePipeline", name, **request)
            if tag_list:  # UpdatePipeline takes no tags: add (or overwrite) them, as the SDK
                self._call(self._sm.add_tags, "AddTags", name,
                           ResourceArn=response["PipelineArn"], Tags=tag_list)
        return str(response["PipelineArn"])

    def check_runnable(self, definition: dict[str, Any]) -> None:
        """SageMaker runs every step type it accepts: nothing to refuse here."""

    def describe_pipeline(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self._call(self._sm.describe_pipeline, "DescribePipeline",
                                           name, PipelineName=name)
        return found

    def start_execution(self, name: str, parameters: dict[str, Any], *,
                        display_name: str | None = None, workers: int | None = None
                        ) -> str:
        request: dict[str, Any] = {
            "PipelineName": name, "ClientRequestToken": str(uuid.uuid4()),
            "PipelineParameters": [{"Name": k, "Value": parameter_text(v)}
                                   for k, v in parameters.items()],
        }
        if display_name is not None:
            request["PipelineExecutionDisplayName"] = display_name
        if workers is not None:
            request["ParallelismConfiguration"] = {"MaxParallelExecutionSteps": workers}
        response = self._call(self._sm.start_pipeline_execution, "StartPipelineExecution",
                              name, **request)
        return str(response["PipelineExecutionArn"])

    def describe_execution(self, arn: str) -> ExecutionRecord:
        found = self._call(self._sm.describe_pipeline_execution, "DescribePipelineExecution",
                           arn, PipelineExecutionArn=arn)
        listed = self.backend.call.collect(
            self._sm, "list_pipeline_parameters_for_execution",
            "ListPipelineParametersForExecution", arn, "PipelineParameters",
            PipelineExecutionArn=arn)
        status = str(found["PipelineExecutionStatus"])
        created = aware_time(found.get("CreationTime")) or _dt.datetime.now(_dt.timezone.utc)
        return ExecutionRecord(
            arn=arn, pipeline=str(found.get("PipelineArn", "")).rsplit("/", 1)[-1],
            display_name=found.get("PipelineExecutionDisplayName"), status=status,
            failure_reason=found.get("FailureReason") or None,
            parameters=self._typed(arn, {p["Name"]: p["Value"] for p in listed}),
            creation_time=created,
            end_time=aware_time(found.get("LastModifiedTime")) if status in TERMINAL
            else None)

    def execution_definition(self, arn: str) -> str:
        """DescribePipelineDefinitionForExecution: the definition the execution runs."""
        found = self._call(self._sm.describe_pipeline_definition_for_execution,
                           "DescribePipelineDefinitionForExecution", arn,
                           PipelineExecutionArn=arn)
        return str(found["PipelineDefinition"])

    def _typed(self, arn: str, values: dict[str, str]) -> dict[str, Any]:
        """Parameter values (strings on the wire) as the definition's types say."""
        if not values:
            return {}
        found = self._call(self._sm.describe_pipeline_definition_for_execution,
                           "DescribePipelineDefinitionForExecution", arn,
                           PipelineExecutionArn=arn)
        kinds = {p["Name"]: p.get("Type", "String") for p in json.loads(
            found["PipelineDefinition"]).get("Parameters") or ()}
        typed: dict[str, Any] = {}
        for name, text in values.items():
            kind = kinds.get(name, "String")
            typed[name] = (int(text) if kind == "Integer" else float(text) if kind == "Float"
                           else text.lower() == "true" if kind == "Boolean" else text)
        return typed

    def list_execution_steps(self, arn: str) -> list[StepRecord]:
        paginator = self._sm.get_paginator("list_pipeline_execution_steps")

        def pages() -> list[dict[str, Any]]:
            return [step for page in paginator.paginate(PipelineExecutionArn=arn)
                    for step in page.get("PipelineExecutionSteps", [])]

        records = []
        for step in self._call(pages, "ListPipelineExecutionSteps", arn):
            metadata = step.get("Metadata") or {}
            kind = next((_METADATA_TYPES[k] for k in metadata if k in _METADATA_TYPES), "")
            cache = (step.get("CacheHitResult") or {}).get("SourcePipelineExecutionArn")
            arn_of_job = next((v.get("Arn") for v in metadata.values()
                               if isinstance(v, dict) and v.get("Arn")), None)
            job = _resource_name(str(arn_of_job)) if arn_of_job else None
            records.append(StepRecord(
                name=step["StepName"], type=kind, status=step["StepStatus"],
                failure_reason=step.get("FailureReason"), cache_hit=cache is not None,
                cache_source=cache, attempts=int(step.get("AttemptCount", 1)), job=job,
                properties=json.loads(json.dumps(metadata, default=str)),
                start_time=aware_time(step.get("StartTime")),
                end_time=aware_time(step.get("EndTime"))))
        return records

    def list_pipelines(self) -> list[str]:
        """Every pipeline's name in the account and region, sorted."""
        paginator = self._sm.get_paginator("list_pipelines")

        def pages() -> list[str]:
            return sorted(summary["PipelineName"] for page in paginator.paginate()
                          for summary in page.get("PipelineSummaries", []))

        found: list[str] = self._call(pages, "ListPipelines", "*")
        return found

    def list_executions(self, name: str) -> list[str]:
        paginator = self._sm.get_paginator("list_pipeline_executions")

        def pages() -> list[str]:
            return [summary["PipelineExecutionArn"]
                    for page in paginator.paginate(PipelineName=name, SortOrder="Descending")
                    for summary in page.get("PipelineExecutionSummaries", [])]

        found: list[str] = self._call(pages, "ListPipelineExecutions", name)
        return found

    def stop_execution(self, arn: str) -> None:
        if self.describe_execution(arn).status in TERMINAL:
            return
        self._call(self._sm.stop_pipeline_execution, "StopPipelineExecution", arn,
                   PipelineExecutionArn=arn, ClientRequestToken=str(uuid.uuid4()))

    def join(self, arn: str, timeout: float | None = None) -> None:
        """Return at once: SageMaker runs executions, nothing of one runs in this process
        (the caller polls ``describe_execution``)."""
