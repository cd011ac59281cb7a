"""The local engine runs the compiled definition: branches, failures, parameters, steps."""

from __future__ import annotations

import pytest

import mlopskit
from mlopskit.errors import CapabilityError, JobFailedError, NotFoundError, ValidationError
from mlopskit.pipeline import (
    ConditionStep,
    Equals,
    ExecutionVariables,
    FailStep,
    GreaterThan,
    In,
    Join,
    Not,
    Or,
    ParameterFloat,
    ParameterString,
    Pipeline,
)


def _branching(session: mlopskit.Session) -> Pipeline:
    size = ParameterFloat("Size", default_value=2.0)
    mode = ParameterString("Mode", default_value="fast", enum_values=["fast", "slow"])
    big = ConditionStep(
        "IsBig", [GreaterThan(size, 1), Or([Equals(mode, "fast"), Not(In(mode, ["slow"]))])],
        if_steps=[FailStep("TooBig", Join(on=" ", values=[
            "size", size, "too big in", ExecutionVariables.PIPELINE_EXECUTION_ID]))],
        else_steps=[FailStep("Small", "small")])
    return Pipeline("branching", parameters=[size, mode], steps=[big], session=session)


def test_the_condition_picks_the_branch_that_runs(local_session):
    pipeline = _branching(local_session)
    pipeline.upsert()
    execution = pipeline.start({"Size": 3})
    with pytest.raises(JobFailedError, match=r"Failed: Step TooBig failed: size 3\.0 too big in"):
        execution.wait(timeout=60)
    assert execution.status == "Failed"
    steps = {s.name: s for s in execution.steps()}
    assert set(steps) == {"IsBig", "TooBig"}  # the else branch never ran
    assert steps["IsBig"].status == "Succeeded"
    assert steps["IsBig"].properties == {"Outcome": "True"}
    execution_id = execution.arn.rsplit("/", 1)[1]
    assert steps["TooBig"].failure_reason == f"size 3.0 too big in {execution_id}"


def test_the_other_branch_runs_when_the_condition_does_not_hold(local_session):
    pipeline = _branching(local_session)
    pipeline.upsert()
    execution = pipeline.start({"Size": 0.5})
    with pytest.raises(JobFailedError, match="Step Small failed: small"):
        execution.wait(timeout=60)
    assert [s.name for s in execution.steps()] == ["Small", "IsBig"]  # newest first
    assert execution.step("IsBig").properties == {"Outcome": "False"}


def test_an_execution_with_no_failing_branch_succeeds(local_session):
    size = ParameterFloat("Size", default_value=0.0)
    check = ConditionStep("Check", [GreaterThan(size, 1)], if_steps=[FailStep("Boom")])
    pipeline = Pipeline("quiet", parameters=[size], steps=[check], session=local_session)
    pipeline.upsert()
    execution = pipeline.start().wait(timeout=60)
    assert execution.status == "Succeeded"
    record = execution.describe()
    assert record.parameters == {"Size": 0.0} and record.end_time is not None
    assert pipeline.executions()[0].arn == execution.arn


@pytest.mark.parametrize(("overrides", "message"), [
    ({"Nope": 1}, "'Nope' not declared"),
    ({"Size": "big"}, "'Size' is a Float"),
    ({"Mode": "medium"}, "allows 'fast', 'slow'"),
])
def test_bad_parameters_at_start_start_nothing(local_session, overrides, message):
    pipeline = _branching(local_session)
    pipeline.upsert()
    with pytest.raises(ValidationError, match=message):
        pipeline.start(overrides)
    assert pipeline.executions() == []


def test_start_needs_an_upserted_pipeline(local_session):
    with pytest.raises(NotFoundError, match="upsert"):
        _branching(local_session).start()


def test_execution_names_are_unique_per_pipeline(local_session):
    pipeline = _branching(local_session)
    pipeline.upsert()
    first = pipeline.start({"Size": 0.0}, execution_name="nightly")
    with pytest.raises(mlopskit.errors.ConflictError, match="nightly"):
        pipeline.start(execution_name="nightly")
    with pytest.raises(JobFailedError):
        first.wait(timeout=60)
    assert len(pipeline.executions()) == 1


def test_a_comparison_on_a_non_number_fails_the_step_with_the_reason(local_session):
    label = ParameterString("Label", default_value="high")
    check = ConditionStep("Check", [GreaterThan(Join(on="", values=[label]), 1)])
    pipeline = Pipeline("typed", parameters=[label], steps=[check], session=local_session)
    pipeline.upsert()
    with pytest.raises(JobFailedError, match="LeftValue is 'high', not a number"):
        pipeline.start().wait(timeout=60)


def _raw(steps: list[dict]) -> dict:
    return {"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": steps}


def _processing_step(name: str, entrypoint: list, **extra) -> dict:
    return {"Name": name, "Type": "Processing", "Arguments": {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large",
                                                  "InstanceCount": 1, "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "my-spark-image:1", "ContainerEntrypoint": entrypoint},
        "RoleArn": "arn:aws:iam::111122223333:role/r", **extra}}


@pytest.mark.parametrize(("steps", "message"), [
    ([_processing_step("Spark", ["spark-submit", "/opt/ml/processing/input/code/job.py"])],
     r"step 'Spark' \(image 'my-spark-image:1'\): .*Python"),
    ([{"Name": "Notify", "Type": "Lambda", "Arguments": {},
       "FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:f"}],
     r"step 'Notify': Lambda steps do not run on the local backend"),
])
def test_a_step_that_can_never_run_locally_is_refused_before_any_step_runs(
        local_session, steps, message):
    first = _processing_step("First", ["python3", "/opt/ml/processing/input/code/a.py"])
    definition = _raw([first, *steps])
    pipeline = Pipeline.from_definition(definition, name="cannot-run", session=local_session)
    pipeline.upsert()
    with pytest.raises(CapabilityError, match=message):
        pipeline.start()
    with pytest.raises(CapabilityError, match=message):
        pipeline.validate()
    assert pipeline.executions() == []
    assert local_session.backend.processing.names(None) == []


def test_a_processing_entry_point_made_of_expressions_is_checked_when_it_runs(local_session):
    step = _processing_step("Dyn", [{"Get": "Parameters.Interpreter"},
                                    "/opt/ml/processing/input/code/a.py"])
    definition = _raw([step])
    definition["Parameters"] = [{"Name": "Interpreter", "Type": "String",
                                 "DefaultValue": "python3"}]
    pipeline = Pipeline.from_definition(definition, name="dynamic", session=local_session)
    assert "Dyn" in pipeline.validate().steps  # nothing to refuse before its value is known
