"""Pipeline verbs on every backend: upsert, start with overrides, describe, list steps,
stop."""

from __future__ import annotations

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

from ...session import Session
from ._support import IMAGE, SCRIPTS, Conformance

__all__ = ["PipelineConformance"]


def _quick(session: Session) -> Pipeline:
    size = ParameterFloat("Size", default_value=0.0)
    label = ParameterString("Label", default_value="nightly")
    check = ConditionStep("Check", [GreaterThan(size, 10)],
                          if_steps=[FailStep("TooBig", "too big")])
    return Pipeline("conformance-quick", parameters=[size, label], steps=[check],
                    session=session)


def _slow(session: Session) -> Pipeline:
    seconds = ParameterInteger("Seconds", default_value=120)
    estimator = mlopskit.Estimator(str(SCRIPTS / "pipeline" / "long_train.py"),
                                   image_uri=IMAGE, instance_type="ml.m5.large",
                                   hyperparameters={"seconds": seconds})
    return Pipeline("conformance-slow", parameters=[seconds],
                    steps=[TrainingStep("Train", estimator)], session=session)


class PipelineConformance(Conformance):
    """Pipeline.upsert/start/executions and PipelineExecution describe, steps, stop.

    An execution must be ``Executing`` when it starts and end on its own (the quick
    pipeline) or when stopped (the slow one, a training step that waits 120 s)."""

    def test_upsert_start_describe_and_list_steps(self, session: Session) -> None:
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

    def test_bad_overrides_start_nothing_on_either_backend(self, session: Session) -> None:
        pipeline = _quick(session)
        pipeline.upsert()
        with pytest.raises(ValidationError, match="'Size' is a Float"):
            pipeline.start({"Size": "large"})
        assert pipeline.executions() == []

    def test_stop_ends_the_execution_stopped(self, session: Session) -> None:
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
