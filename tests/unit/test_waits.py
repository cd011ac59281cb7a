"""Every ``wait()`` ends: a finite default timeout, on the session clock.

moto is patched (never mlopskit) so that a job or an execution never ends and each describe
moves the test's FakeClock forward a few minutes: a default of a day is reached in a few
hundred polls, and nothing sleeps for real.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from moto.sagemaker import models as sm_models

import mlopskit
from mlopskit._waiting import (
    DEFAULT_PIPELINE_TIMEOUT,
    DEFAULT_TRANSFORM_TIMEOUT,
    JOB_WAIT_MARGIN,
    job_wait_timeout,
    wait_timeout,
)
from mlopskit.clock import FakeClock
from mlopskit.errors import ValidationError, WaitTimeoutError
from mlopskit.pipeline import ConditionStep, FailStep, GreaterThan, ParameterFloat, Pipeline
from mlopskit.pipeline.execution import PipelineExecution
from mlopskit.serving.transform import TransformJob
from mlopskit.specs.processing import DEFAULT_MAX_RUNTIME
from mlopskit.specs.training import DEFAULT_MAX_RUN

from .. import processing_moto
from ..helpers import IMAGE

STEP = 300.0  # seconds the fake clock moves on each describe of a job that never ends


def test_the_defaults_are_finite_and_documented_constants():
    assert JOB_WAIT_MARGIN == 3600
    assert job_wait_timeout(None, DEFAULT_MAX_RUN) == 25 * 3600
    assert job_wait_timeout(600, DEFAULT_MAX_RUN) == 600 + 3600
    assert job_wait_timeout(None, DEFAULT_MAX_RUNTIME) == 25 * 3600
    assert DEFAULT_TRANSFORM_TIMEOUT == 24 * 3600
    assert DEFAULT_PIPELINE_TIMEOUT == 3 * 24 * 3600
    assert wait_timeout(None, 10.0) == 10.0 and wait_timeout(5, 10.0) == 5.0
    assert wait_timeout(math.inf, 10.0) == math.inf  # no limit, when asked for
    assert wait_timeout(0, 10.0) == 0.0  # look once


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), "60", True, [60]])
def test_a_bad_timeout_is_refused_before_any_call(local_session, bad):
    handles = [mlopskit.TrainingJob("never-made", session=local_session),
               mlopskit.ProcessingJob("never-made", session=local_session),
               TransformJob("never-made", session=local_session),
               PipelineExecution("arn:aws:sagemaker:us-east-1:0:pipeline/p/execution/x",
                                 local_session)]
    for handle in handles:  # a NotFoundError would mean the backend was asked first
        with pytest.raises(ValidationError, match="timeout: a number of seconds, 0 or more"):
            handle.wait(timeout=bad)


# -- moto, made to never finish --------------------------------------------------------------

def _ticking(clock: FakeClock, original: Any, step: float = STEP) -> Any:
    def describe(self: Any, *args: Any, **kwargs: Any) -> Any:
        clock.advance(step)
        return original(self, *args, **kwargs)
    return describe


@pytest.fixture
def endless_training(monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> None:
    original_init = sm_models.FakeTrainingJob.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.training_job_status = "InProgress"
        self.secondary_status = "Training"

    monkeypatch.setattr(sm_models.FakeTrainingJob, "__init__", init)
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_training_job",
                        _ticking(fake_clock,
                                 sm_models.SageMakerModelBackend.describe_training_job))


def _timed_out(clock: FakeClock, wait: Any) -> tuple[float, str]:
    start = clock.monotonic()
    with pytest.raises(WaitTimeoutError) as info:
        wait()
    return clock.monotonic() - start, str(info.value)


def _train(session: mlopskit.Session, tmp_path: Path, **kwargs: Any) -> mlopskit.TrainingJob:
    (tmp_path / "train.py").write_text("print('never runs on moto')\n")
    return mlopskit.Estimator(entry_point="train.py", source_dir=tmp_path, image_uri=IMAGE,
                              instance_type="ml.m5.large", session=session, **kwargs).fit(
        wait=False, logs=False)


@pytest.mark.parametrize("max_run", [None, 2 * 3600])
def test_a_training_job_that_never_ends_times_out_after_its_max_run_and_the_margin(
        aws_session, endless_training, fake_clock, tmp_path, max_run):
    job = _train(aws_session, tmp_path, max_run=max_run)
    expected = (max_run or DEFAULT_MAX_RUN) + JOB_WAIT_MARGIN
    waited, message = _timed_out(fake_clock, job.wait)
    assert expected <= waited <= expected + 2 * STEP
    assert f"after waiting {expected:g} s" in message and "still InProgress" in message
    assert job.status == "InProgress"  # left as it was


def test_fit_with_wait_uses_the_default_too(aws_session, endless_training, fake_clock,
                                            tmp_path):
    (tmp_path / "train.py").write_text("print('never runs on moto')\n")
    estimator = mlopskit.Estimator(entry_point="train.py", source_dir=tmp_path,
                                   image_uri=IMAGE, instance_type="ml.m5.large", max_run=600,
                                   session=aws_session)
    waited, _ = _timed_out(fake_clock, lambda: estimator.fit(logs=False))
    # fit's own describes (is the name free? is the job there?) moved the clock too
    assert 600 + JOB_WAIT_MARGIN <= waited <= 600 + JOB_WAIT_MARGIN + 5 * STEP


@pytest.mark.parametrize("max_runtime", [None, 900])
def test_a_processing_job_that_never_ends_times_out_after_its_max_runtime_and_the_margin(
        aws_session, monkeypatch, fake_clock, tmp_path, max_runtime):
    lifecycle = processing_moto.patch(monkeypatch)
    lifecycle.describes_until_done = 10**9
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_processing_job",
                        _ticking(fake_clock,
                                 sm_models.SageMakerModelBackend.describe_processing_job))
    script = tmp_path / "prep.py"
    script.write_text("print('never runs on moto')\n")
    job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                             max_runtime=max_runtime, session=aws_session).run(
        script, wait=False, logs=False)
    expected = (max_runtime or DEFAULT_MAX_RUNTIME) + JOB_WAIT_MARGIN
    waited, message = _timed_out(fake_clock, job.wait)
    assert expected <= waited <= expected + 2 * STEP
    assert f"after waiting {expected:g} s" in message


def test_an_explicit_timeout_still_wins(aws_session, endless_training, fake_clock, tmp_path):
    job = _train(aws_session, tmp_path)
    waited, _ = _timed_out(fake_clock, lambda: job.wait(timeout=900))
    assert 900 <= waited <= 900 + 2 * STEP


def test_a_transform_job_that_never_ends_times_out_after_a_day(aws_session, monkeypatch,
                                                               fake_clock, tmp_path):
    original = sm_models.SageMakerModelBackend.describe_transform_job

    def describe(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        fake_clock.advance(STEP)
        return {**original(self, *args, **kwargs), "TransformJobStatus": "InProgress"}

    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_transform_job", describe)
    artifact = aws_session.write_bytes(b"a model", f"s3://{aws_session.default_bucket}/m/"
                                                   "model.tar.gz")
    model = mlopskit.Model(artifact, image_uri=IMAGE, session=aws_session)
    job = model.transformer(1, "ml.m5.large").transform(
        f"s3://{aws_session.default_bucket}/batch/", wait=False)
    waited, message = _timed_out(fake_clock, job.wait)
    assert DEFAULT_TRANSFORM_TIMEOUT <= waited <= DEFAULT_TRANSFORM_TIMEOUT + 2 * STEP
    assert "is still InProgress" in message


def test_a_pipeline_execution_that_never_ends_times_out_after_three_days(
        aws_session, monkeypatch, fake_clock):
    original_init = sm_models.FakePipelineExecution.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.pipeline_execution_status = "Executing"

    monkeypatch.setattr(sm_models.FakePipelineExecution, "__init__", init)
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_pipeline_execution",
                        _ticking(fake_clock,
                                 sm_models.SageMakerModelBackend.describe_pipeline_execution,
                                 step=1800.0))
    size = ParameterFloat("Size", default_value=0.0)
    pipeline = Pipeline("endless", parameters=[size], steps=[ConditionStep(
        "Check", [GreaterThan(size, 10)], if_steps=[FailStep("TooBig", "too big")])],
        session=aws_session)
    pipeline.upsert()
    execution = pipeline.start()
    waited, message = _timed_out(fake_clock, execution.wait)
    assert DEFAULT_PIPELINE_TIMEOUT <= waited <= DEFAULT_PIPELINE_TIMEOUT + 2 * 1800.0
    assert "still Executing" in message and f"{DEFAULT_PIPELINE_TIMEOUT:g} s" in message
