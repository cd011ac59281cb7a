"""Pipeline verbs on every backend: upsert, start with overrides, describe, list steps, stop.

moto keeps pipelines and executions but has no ListPipelineExecutionSteps or
StopPipelineExecution, and makes every execution Succeeded at once. The fixture below
patches moto (never mlopskit): executions start Executing, finish on their third describe
unless stopped, and list one step per top-level step of their definition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import JobFailedError, ValidationError
from mlopskit.pipeline import (
    ConditionStep,
    FailStep,
    GreaterThan,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
    Pipeline,
    TrainingStep,
)

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPTS = Path(__file__).parent.parent / "scripts"


@pytest.fixture
def moto_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker import models as sm_models
    from moto.sagemaker import responses as sm_responses

    original_init = sm_models.FakePipelineExecution.__init__
    original_describe = sm_models.SageMakerModelBackend.describe_pipeline_execution

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.pipeline_execution_status = "Executing"
        self.describes_left = 3

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
                  "Metadata": {kinds.get(s["Type"], s["Type"]): {}}}
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


@pytest.fixture
def session(any_session: mlopskit.Session, request: pytest.FixtureRequest) -> mlopskit.Session:
    if any_session.backend_name == "aws":
        request.getfixturevalue("moto_pipelines")
    return any_session


def _quick(session: mlopskit.Session) -> Pipeline:
    size = ParameterFloat("Size", default_value=0.0)
    label = ParameterString("Label", default_value="nightly")
    check = ConditionStep("Check", [GreaterThan(size, 10)],
                          if_steps=[FailStep("TooBig", "too big")])
    return Pipeline("conformance-quick", parameters=[size, label], steps=[check],
                    session=session)


def _slow(session: mlopskit.Session) -> Pipeline:
    seconds = ParameterInteger("Seconds", default_value=120)
    estimator = mlopskit.Estimator(str(SCRIPTS / "pipeline" / "long_train.py"),
                                   image_uri=IMAGE, instance_type="ml.m5.large",
                                   hyperparameters={"seconds": seconds})
    return Pipeline("conformance-slow", parameters=[seconds],
                    steps=[TrainingStep("Train", estimator)], session=session)


def test_upsert_start_describe_and_list_steps(session):
    pipeline = _quick(session)
    arn = pipeline.upsert()
    assert arn.endswith(":pipeline/conformance-quick")
    assert pipeline.upsert() == arn  # a second upsert updates in place
    execution = pipeline.start({"Size": 2.5}, execution_name="first")
    execution.wait(timeout=600)
    record = execution.describe()
    assert record.status == "Succeeded"
    assert record.display_name == "first"
    assert record.parameters == {"Size": 2.5, "Label": "nightly"}
    assert [step.name for step in execution.steps()] == ["Check"]
    assert execution.steps()[0].status == "Succeeded"
    assert execution.steps()[0].type == "Condition"
    assert [e.arn for e in pipeline.executions()] == [execution.arn]


def test_bad_overrides_start_nothing_on_either_backend(session):
    pipeline = _quick(session)
    pipeline.upsert()
    with pytest.raises(ValidationError, match="'Size' is a Float"):
        pipeline.start({"Size": "large"})
    assert pipeline.executions() == []


def test_stop_ends_the_execution_stopped(session):
    pipeline = _slow(session)
    pipeline.upsert()
    execution = pipeline.start()
    execution.stop()
    with pytest.raises(JobFailedError, match="Stopped"):
        execution.wait(timeout=600)
    assert execution.status == "Stopped"
    steps = execution.steps()
    assert [s.name for s in steps] == ["Train"]
    assert steps[0].status == "Stopped"
