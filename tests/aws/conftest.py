"""moto, made a little more like SageMaker where our tests need it.

moto creates training jobs already Completed, has no StopTrainingJob, and describes every job
with a metric definition of its own. The fixture below patches moto (never mlopskit) so a
job stays InProgress for a few describes, can be stopped, and keeps the metric definitions
it was created with.
"""

from __future__ import annotations

from typing import Any

import pytest
from moto.core.responses import ActionResult
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses

from ..conformance.moto_service import patch_metric_definitions


class Lifecycle:
    """How many describes a job stays InProgress before it completes."""

    def __init__(self) -> None:
        self.describes_until_done = 3
        self.final_status = "Completed"
        self.failure_reason = ""
        self.describe_calls = 0


@pytest.fixture
def moto_lifecycle(monkeypatch: pytest.MonkeyPatch) -> Lifecycle:
    lifecycle = Lifecycle()
    patch_metric_definitions(monkeypatch)
    original_init = sm_models.FakeTrainingJob.__init__
    original_describe = sm_models.SageMakerModelBackend.describe_training_job

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.training_job_status = "InProgress"
        self.secondary_status = "Training"
        self.remaining = lifecycle.describes_until_done

    def describe(self: Any, training_job_name: str) -> dict[str, Any]:
        lifecycle.describe_calls += 1
        job = self.training_jobs.get(training_job_name)
        if job is not None and job.training_job_status == "InProgress":
            job.remaining -= 1
            if job.remaining <= 0:
                job.training_job_status = job.secondary_status = lifecycle.final_status
                if lifecycle.failure_reason:
                    job.failure_reason = lifecycle.failure_reason
        response = original_describe(self, training_job_name)
        if job is not None and getattr(job, "failure_reason", None):
            response["FailureReason"] = job.failure_reason
        return response

    def stop_training_job(self: Any) -> ActionResult:
        name = self._get_param("TrainingJobName")
        job = self.sagemaker_backend.training_jobs[name]
        job.training_job_status = job.secondary_status = "Stopped"
        return ActionResult({})

    monkeypatch.setattr(sm_models.FakeTrainingJob, "__init__", init)
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_training_job", describe)
    monkeypatch.setattr(sm_responses.SageMakerResponse, "stop_training_job",
                        stop_training_job, raising=False)
    return lifecycle
