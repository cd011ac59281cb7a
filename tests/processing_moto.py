"""moto, made a little more like SageMaker for processing jobs. Tests patch moto, never
mlopskit.

moto 5 has Create/Describe/Stop/ListProcessingJobs, but CreateProcessingJob drops
``ProcessingResources`` and ``Environment`` (so describes lack them), every job is created
``Completed`` with no start time, ``StopProcessingJob`` marks any job ``Stopped`` (even one
that has ended), and ``FailureReason``/``ExitMessage`` are never set. ``patch`` fixes those
for one test.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest
from moto.core.exceptions import JsonRESTError
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses


class ProcessingLifecycle:
    """How many describes a new job stays InProgress (0: it is Completed at once, as moto
    makes it), and how it ends."""

    def __init__(self) -> None:
        self.describes_until_done = 0
        self.final_status = "Completed"
        self.failure_reason = ""
        self.exit_message = ""
        self.describe_calls = 0


def patch(monkeypatch: pytest.MonkeyPatch) -> ProcessingLifecycle:
    lifecycle = ProcessingLifecycle()
    original_create = sm_responses.SageMakerResponse.create_processing_job
    original_describe = sm_models.SageMakerModelBackend.describe_processing_job

    def create(self: Any) -> Any:
        result = original_create(self)
        job = self.sagemaker_backend.processing_jobs[self._get_param("ProcessingJobName")]
        job.processing_resources = self._get_param("ProcessingResources")
        job.environment = self._get_param("Environment") or {}
        job.processing_start_time = job.creation_time
        if lifecycle.describes_until_done > 0:
            job.processing_job_status = "InProgress"
            job.processing_end_time = None
        job.mlopskit_remaining = lifecycle.describes_until_done
        return result

    def describe(self: Any, processing_job_name: str) -> dict[str, Any]:
        lifecycle.describe_calls += 1
        job = self.processing_jobs.get(processing_job_name)
        if job is not None and job.processing_job_status in {"InProgress", "Stopping"}:
            job.mlopskit_remaining -= 1
            if job.processing_job_status == "Stopping":
                job.mlopskit_stopping -= 1
                if job.mlopskit_stopping <= 0:  # a stop takes a few describes to land
                    job.processing_job_status = "Stopped"
            elif job.mlopskit_remaining <= 0:
                job.processing_job_status = lifecycle.final_status
                if lifecycle.failure_reason:
                    job.failure_reason = lifecycle.failure_reason
                if lifecycle.exit_message:
                    job.exit_message = lifecycle.exit_message
            if job.processing_job_status != "InProgress":
                job.processing_end_time = _dt.datetime.now(_dt.timezone.utc)
        response: dict[str, Any] = original_describe(self, processing_job_name)
        for key in [k for k in response if k.startswith("Mlopskit")]:
            del response[key]
        return response

    def stop(self: Any, processing_job_name: str) -> None:
        job = self.processing_jobs.get(processing_job_name)
        if job is None or job.processing_job_status != "InProgress":
            raise JsonRESTError("ValidationException",
                                f"Job {processing_job_name} is not in progress")
        job.processing_job_status = "Stopping"
        job.mlopskit_stopping = 3

    monkeypatch.setattr(sm_responses.SageMakerResponse, "create_processing_job", create)
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_processing_job", describe)
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "stop_processing_job", stop)
    return lifecycle
