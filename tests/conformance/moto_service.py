"""moto, made enough like SageMaker for the conformance classes. Patches moto, never mlopskit.

On top of ``tests/processing_moto.py`` (processing jobs keep their details and can run
until stopped), ``tests/monitoring_moto.py`` (monitoring schedules) and
``tests/s3_moto.py`` (HeadObject says ChecksumType), this adds what moto 5 lacks:

- DeleteModelPackageGroup;
- UpdateEndpoint (it switches the endpoint's config and its data capture);
- ListTrainingJobsForHyperParameterTuningJob (paged and sorted as the API does, over the
  trials a test gives the job: moto runs none) and StopHyperParameterTuningJob; a tuning
  job starts ``InProgress`` (moto makes it ``Completed`` at once, with a made-up best
  job), and its best job is the best of its trials;
- pipeline executions that start ``Executing``, end ``Succeeded`` on their third describe
  unless stopped, ListPipelineExecutionSteps (one step per top-level step of the
  definition, naming the job a test ran for it) and StopPipelineExecution;
- training jobs that keep the metric definitions they were created with (moto describes
  every job with one of its own).

:class:`MotoService` also plays the part of SageMaker where a test needs a job's work
done: it runs a training job (creates it, Completed, and writes its log events to
CloudWatch Logs as the container would), a tuning job's trials and a pipeline step's job.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses

from mlopskit.testing import MotoEmulation

from .. import monitoring_moto, processing_moto
from ..s3_moto import patch_head_checksums


class MotoService(MotoEmulation):
    """The patched moto of one test: what it holds, and how to keep its jobs running."""

    def __init__(self, region: str, processing: processing_moto.ProcessingLifecycle,
                 schedules: monitoring_moto.MonitoringSchedules) -> None:
        super().__init__(region)
        self.processing = processing
        self.schedules = schedules

    def hold_jobs(self) -> None:
        self.processing.describes_until_done = 1000  # InProgress until stopped

    @property
    def _sagemaker(self) -> Any:
        return sm_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][self.region]

    def run_training_job(self, session: Any, request: dict[str, Any],
                         log_lines: Sequence[str]) -> str:
        """What SageMaker does with a CreateTrainingJob ``request`` (moto makes the job
        Completed): the job, and ``log_lines`` as its container's CloudWatch log events,
        a second apart from now. Returns the job's ARN."""
        arn = str(session.backend.clients.sagemaker.create_training_job(
            **request)["TrainingJobArn"])
        self.write_job_log(session, request["TrainingJobName"], log_lines)
        return arn

    def write_job_log(self, session: Any, name: str, log_lines: Sequence[str]) -> None:
        """``log_lines`` as the CloudWatch log events of training job ``name``'s container,
        a second apart from now."""
        logs = session.backend.clients.logs
        group = "/aws/sagemaker/TrainingJobs"
        stream = f"{name}/algo-1-1700000000"
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        start = int(time.time() * 1000)  # CloudWatch drops events older than 14 days
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": start + 1000 * i, "message": line}
            for i, line in enumerate(log_lines)])

    def fail_training_job(self, name: str, reason: str) -> None:
        """The training job ``name`` ends Failed, for ``reason``, as SageMaker reports an
        AlgorithmError."""
        job = self._sagemaker.training_jobs[name]
        job.training_job_status = job.secondary_status = "Failed"
        job.failure_reason = reason

    def run_trial(self, session: Any, tuning_job: str, number: int, tuned: dict[str, str],
                  log_lines: Sequence[str], objective: float) -> str:
        """One trial of a tuning job, as SageMaker runs it: a training job made from the
        job's TrainingJobDefinition with the ``tuned`` hyperparameters added, run, then
        listed among the job's trials with its final objective. Returns its name."""
        job = self._sagemaker.hyper_parameter_tuning_jobs[tuning_job]
        definition = job.training_job_definition
        name = f"{tuning_job}-{number:03d}-5a1c0d2e"
        algorithm = {k: v for k, v in definition["AlgorithmSpecification"].items()
                     if k in ("TrainingImage", "TrainingInputMode", "MetricDefinitions")}
        request: dict[str, Any] = {
            "TrainingJobName": name, "AlgorithmSpecification": algorithm,
            "RoleArn": definition["RoleArn"],
            "HyperParameters": {**definition.get("StaticHyperParameters", {}), **tuned},
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": definition["ResourceConfig"],
            "StoppingCondition": definition["StoppingCondition"],
            "Environment": definition.get("Environment", {})}
        if definition.get("InputDataConfig"):
            request["InputDataConfig"] = definition["InputDataConfig"]
        arn = self.run_training_job(session, request, log_lines)
        metric = job.hyper_parameter_tuning_job_config["HyperParameterTuningJobObjective"][
            "MetricName"]
        job.trials.append({
            "TrainingJobName": name, "TrainingJobArn": arn, "TuningJobName": tuning_job,
            "CreationTime": dt.datetime.now(dt.timezone.utc), "TrainingJobStatus": "Completed",
            "TunedHyperParameters": dict(tuned),
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": metric,
                                                            "Value": objective}})
        return name

    def end_tuning_job(self, name: str, status: str = "Completed") -> None:
        self._sagemaker.hyper_parameter_tuning_jobs[name] \
            .hyper_parameter_tuning_job_status = status

    def run_step_job(self, session: Any, execution_arn: str, step: str,
                     request: dict[str, Any], log_lines: Sequence[str]) -> str:
        """A pipeline step's training job, run as :meth:`run_training_job` does, and named
        in the step's metadata by ListPipelineExecutionSteps. Returns its ARN."""
        arn = self.run_training_job(session, request, log_lines)
        execution = sm_models.get_pipeline_execution_from_arn(self._sagemaker.pipelines,
                                                              execution_arn)
        execution.step_jobs[step] = arn
        return arn


def patch_delete_group(monkeypatch: pytest.MonkeyPatch) -> None:
    def delete_model_package_group(self: Any) -> ActionResult:
        self.sagemaker_backend.model_package_groups.pop(self._get_param("ModelPackageGroupName"))
        return ActionResult({})

    monkeypatch.setattr(sm_responses.SageMakerResponse, "delete_model_package_group",
                        delete_model_package_group, raising=False)


def patch_update_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    def update_endpoint(self: Any) -> Any:
        endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
        config = self.sagemaker_backend.describe_endpoint_config(
            self._get_param("EndpointConfigName"))
        endpoint.endpoint_config_name = self._get_param("EndpointConfigName")
        endpoint.data_capture_config = config.get("DataCaptureConfig", {})
        return ActionResult({"EndpointArn": endpoint.arn})

    monkeypatch.setattr(sm_responses.SageMakerResponse, "update_endpoint", update_endpoint,
                        raising=False)


def patch_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    original_init = sm_models.FakePipelineExecution.__init__
    original_describe = sm_models.SageMakerModelBackend.describe_pipeline_execution

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.pipeline_execution_status = "Executing"
        self.describes_left = 3
        self.step_jobs = {}  # step name -> the ARN of the job a test ran for it

    def describe(self: Any, arn: str) -> dict[str, Any]:
        execution = sm_models.get_pipeline_execution_from_arn(self.pipelines, arn)
        if execution.pipeline_execution_status == "Stopping":
            execution.pipeline_execution_status = "Stopped"
        elif execution.pipeline_execution_status == "Executing":
            execution.describes_left -= 1
            if execution.describes_left <= 0:
                execution.pipeline_execution_status = "Succeeded"
        return original_describe(self, arn)

    def list_steps(self: Any) -> ActionResult:
        arn = self._get_param("PipelineExecutionArn")
        execution = sm_models.get_pipeline_execution_from_arn(
            self.sagemaker_backend.pipelines, arn)
        definition = json.loads(execution.pipeline_definition_for_execution)
        kinds = {"Training": "TrainingJob", "Condition": "Condition", "Fail": "Fail"}
        status = {"Executing": "Executing", "Stopping": "Stopping"}.get(
            execution.pipeline_execution_status, execution.pipeline_execution_status)
        steps = [{"StepName": s["Name"], "StepStatus": status, "AttemptCount": 1,
                  "Metadata": {kinds.get(s["Type"], s["Type"]): (
                      {"Arn": execution.step_jobs[s["Name"]]}
                      if s["Name"] in execution.step_jobs else {})}}
                 for s in definition["Steps"]]
        return ActionResult({"PipelineExecutionSteps": steps})

    def stop(self: Any) -> ActionResult:
        arn = self._get_param("PipelineExecutionArn")
        execution = sm_models.get_pipeline_execution_from_arn(
            self.sagemaker_backend.pipelines, arn)
        execution.pipeline_execution_status = "Stopping"
        return ActionResult({"PipelineExecutionArn": arn})

    monkeypatch.setattr(sm_models.FakePipelineExecution, "__init__", init)
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_pipeline_execution",
                        describe)
    monkeypatch.setattr(sm_responses.SageMakerResponse, "list_pipeline_execution_steps",
                        list_steps, raising=False)
    monkeypatch.setattr(sm_responses.SageMakerResponse, "stop_pipeline_execution", stop,
                        raising=False)


def patch_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tuning job starts InProgress with no trials; a test gives it trials by appending
    TrainingJobSummaries to the moto job's ``trials`` (moto runs none). Describe then
    reports the best of them as ``BestTrainingJob``, and ListTrainingJobsFor...TuningJob
    pages, filters and sorts them as the API does (MaxResults 1 to 100, default 10;
    SortBy Name by default, FinalObjectiveMetricValue leaving out trials with no
    objective; SortOrder Ascending by default). ListTags answers for tuning jobs too."""
    original_init = sm_models.HyperParameterTuningJob.__init__
    original_describe = sm_models.HyperParameterTuningJob.describe

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.hyper_parameter_tuning_job_status = "InProgress"
        self.best_training_job = None
        self.OverallBestTrainingJob = None  # moto's name; SageMaker sends it on warm start
        self.trials = []
        self.tags = self.tags or []  # moto keeps None without Tags; ListTags needs a list

    def objective(trial: dict[str, Any]) -> float | None:
        value = (trial.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
        return None if value is None else float(value)

    def describe(self: Any) -> dict[str, Any]:
        scored = [t for t in self.trials if objective(t) is not None]
        if scored:
            kind = self.hyper_parameter_tuning_job_config[
                "HyperParameterTuningJobObjective"]["Type"]
            pick = max if kind == "Maximize" else min
            self.best_training_job = pick(scored, key=objective)
        return original_describe(self)

    def list_trials(self: Any) -> ActionResult:
        job = self.sagemaker_backend.hyper_parameter_tuning_jobs[  # NotFound like SageMaker
            self._get_param("HyperParameterTuningJobName")]
        found = [t for t in job.trials if self._get_param("StatusEquals") in
                 (None, t["TrainingJobStatus"])]
        sort_by = self._get_param("SortBy") or "Name"
        if sort_by == "FinalObjectiveMetricValue":
            found = [t for t in found if objective(t) is not None]
        key = {"Name": "TrainingJobName", "CreationTime": "CreationTime",
               "Status": "TrainingJobStatus"}.get(sort_by)
        found.sort(key=(lambda t: t[key]) if key else objective,
                   reverse=self._get_param("SortOrder") == "Descending")
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 10)
        page: dict[str, Any] = {"TrainingJobSummaries": found[start:start + size]}
        if start + size < len(found):
            page["NextToken"] = str(start + size)
        return ActionResult(page)

    def stop(self: Any) -> ActionResult:
        job = self.sagemaker_backend.hyper_parameter_tuning_jobs[
            self._get_param("HyperParameterTuningJobName")]
        job.hyper_parameter_tuning_job_status = "Stopped"
        return ActionResult({})

    monkeypatch.setattr(sm_models.HyperParameterTuningJob, "__init__", init)
    monkeypatch.setattr(sm_models.HyperParameterTuningJob, "describe", describe)
    monkeypatch.setattr(sm_responses.SageMakerResponse,
                        "list_training_jobs_for_hyper_parameter_tuning_job", list_trials,
                        raising=False)
    monkeypatch.setattr(sm_responses.SageMakerResponse, "stop_hyper_parameter_tuning_job",
                        stop, raising=False)


def patch_metric_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A training job keeps the MetricDefinitions it was created with."""
    original_init = sm_models.FakeTrainingJob.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        sent = dict(kwargs.get("algorithm_specification") or {})
        original_init(self, *args, **kwargs)
        if "MetricDefinitions" in sent:
            self.algorithm_specification["MetricDefinitions"] = sent["MetricDefinitions"]

    monkeypatch.setattr(sm_models.FakeTrainingJob, "__init__", init)


def patch(monkeypatch: pytest.MonkeyPatch, region: str) -> MotoService:
    """Everything above, for one test."""
    processing = processing_moto.patch(monkeypatch)
    schedules = monitoring_moto.patch(monkeypatch)
    patch_head_checksums(monkeypatch)
    patch_delete_group(monkeypatch)
    patch_update_endpoint(monkeypatch)
    patch_pipelines(monkeypatch)
    patch_tuning(monkeypatch)
    patch_metric_definitions(monkeypatch)
    return MotoService(region, processing, schedules)
