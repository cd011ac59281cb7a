"""Pipelines compile to SageMaker's definition JSON; bad pipelines are refused before a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ValidationError
from mlopskit.pipeline import (
    CacheConfig,
    ConditionStep,
    Equals,
    ExecutionVariables,
    FailStep,
    GreaterThanOrEqualTo,
    In,
    Join,
    JsonGet,
    Not,
    Or,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
    Pipeline,
    ProcessingStep,
    PropertyFile,
    RetryPolicy,
    TrainingStep,
)
from mlopskit.pipeline.variables import ExecutionVariable
from mlopskit.sagemaker_api.pipeline.checks import check_definition
from mlopskit.sagemaker_api.pipeline.parameters import EXECUTION_VARIABLE_NAMES

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPTS = Path(__file__).parent.parent / "scripts"
REFERENCE = Path(__file__).resolve().parents[1] / "data" / \
    "sdk-v2-pipeline-definition.json"


def _estimator(**overrides: Any) -> mlopskit.Estimator:
    options: dict[str, Any] = {"entry_point": str(SCRIPTS / "sm_train.py"), "image_uri": IMAGE,
                               "instance_type": "ml.m5.large"}
    return mlopskit.Estimator(**(options | overrides))


def _pipeline(session: mlopskit.Session) -> Pipeline:
    data = ParameterString("InputDataUrl", default_value="s3://bucket/data/raw/")
    instance_type = ParameterString("TrainingInstanceType", default_value="ml.m5.xlarge")
    count = ParameterInteger("TrainingInstanceCount", default_value=1)
    rate = ParameterFloat("LearningRate", default_value=0.1)
    threshold = ParameterFloat("AccuracyThreshold", default_value=0.8)
    train = TrainingStep(
        "Train", _estimator(instance_type=instance_type, instance_count=count,
                            hyperparameters={"lr": rate, "name": data, "epochs": 3},
                            metric_definitions=[{"Name": "acc", "Regex": "acc=([0-9.]+)"}]),
        inputs={"train": data},
        cache_config=CacheConfig(expire_after="P30D"),
        retry_policies=[RetryPolicy(max_attempts=3)])
    check = ConditionStep(
        "CheckAccuracy", [GreaterThanOrEqualTo(train.properties.metric("acc"), threshold)],
        if_steps=[],
        else_steps=[FailStep("AccuracyTooLow", Join(on=" ", values=[
            "Accuracy below", threshold, "in", ExecutionVariables.PIPELINE_EXECUTION_ID]))])
    return Pipeline("demo-pipeline", parameters=[data, instance_type, count, rate, threshold],
                    steps=[train, check], session=session)


def test_a_pipeline_compiles_to_the_definition_format(local_session):
    definition = json.loads(_pipeline(local_session).definition())
    assert list(definition) == ["Version", "Metadata", "Parameters",
                                "PipelineExperimentConfig", "Steps"]
    assert definition["Version"] == "2020-12-01"
    assert definition["Parameters"][2] == {"Name": "TrainingInstanceCount", "Type": "Integer",
                                           "DefaultValue": 1}
    train = definition["Steps"][0]
    assert train["Type"] == "Training" and "TrainingJobName" not in train["Arguments"]
    arguments = train["Arguments"]
    assert arguments["ResourceConfig"]["InstanceType"] == {
        "Get": "Parameters.TrainingInstanceType"}
    assert arguments["ResourceConfig"]["InstanceCount"] == {
        "Get": "Parameters.TrainingInstanceCount"}
    channel = arguments["InputDataConfig"][0]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {"Get": "Parameters.InputDataUrl"}
    # hyperparameters are JSON text: a number stays bare, a string keeps its quotes
    assert arguments["HyperParameters"]["lr"] == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.LearningRate"}]}}
    assert arguments["HyperParameters"]["name"] == {
        "Std:Join": {"On": "", "Values": ['"', {"Get": "Parameters.InputDataUrl"}, '"']}}
    assert arguments["HyperParameters"]["epochs"] == "3"
    assert train["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
    assert train["RetryPolicies"][0]["MaxAttempts"] == 3
    condition = definition["Steps"][1]["Arguments"]["Conditions"][0]
    assert condition["LeftValue"] == {"Get": "Steps.Train.FinalMetricDataList['acc'].Value"}
    fail = definition["Steps"][1]["Arguments"]["ElseSteps"][0]
    assert fail["Arguments"]["ErrorMessage"]["Std:Join"]["Values"][3] == {
        "Get": "Execution.PipelineExecutionId"}


def test_compiling_uploads_nothing_and_code_is_content_addressed(local_session):
    pipeline = _pipeline(local_session)
    first, second = pipeline.definition(), pipeline.definition()
    assert first == second  # same code, same archive, same URI
    source = json.loads(first)["Steps"][0]["Arguments"]["HyperParameters"][
        "sagemaker_submit_directory"]
    uri = json.loads(source)
    assert uri.startswith(f"s3://{local_session.default_bucket}/demo-pipeline/code/")
    assert not local_session.backend.objects.exists(uri)


def test_the_structure_matches_the_official_sdk_output(local_session):
    ours = json.loads(_pipeline(local_session).definition())
    theirs = json.loads(REFERENCE.read_text())
    assert list(ours) == list(theirs)
    assert ours["PipelineExperimentConfig"] == theirs["PipelineExperimentConfig"]
    assert [set(p) for p in ours["Parameters"][:1]] == [set(theirs["Parameters"][0])]
    our_train, their_train = ours["Steps"][0], theirs["Steps"][1]
    assert set(our_train) - {"Arguments"} == set(their_train) - {"Arguments"}
    shared = {"AlgorithmSpecification", "OutputDataConfig", "StoppingCondition",
              "ResourceConfig", "RoleArn", "InputDataConfig", "HyperParameters"}
    assert shared <= set(our_train["Arguments"])
    assert set(our_train["Arguments"]["ResourceConfig"]) == set(
        their_train["Arguments"]["ResourceConfig"])
    assert set(our_train["Arguments"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]) == \
        set(their_train["Arguments"]["InputDataConfig"][0]["DataSource"]["S3DataSource"])
    assert set(our_train["RetryPolicies"][0]) == set(their_train["RetryPolicies"][0])
    our_condition, their_condition = ours["Steps"][1], theirs["Steps"][3]
    assert set(our_condition["Arguments"]) == set(their_condition["Arguments"])
    assert set(our_condition["Arguments"]["Conditions"][0]) == set(
        their_condition["Arguments"]["Conditions"][0])


def test_the_official_sdk_definition_passes_every_check():
    info = check_definition(json.loads(REFERENCE.read_text()))
    assert info.order.index("Preprocess") < info.order.index("Train") < \
        info.order.index("Evaluate") < info.order.index("CheckAccuracy")
    assert info.parents == {"RegisterModel-RegisterModel": "CheckAccuracy",
                            "AccuracyTooLow": "CheckAccuracy"}
    assert info.graph["RegisterModel-RegisterModel"] == {"Train", "Evaluate", "CheckAccuracy"}


def test_from_definition_gives_back_the_same_definition(local_session):
    pipeline = _pipeline(local_session)
    loaded = Pipeline.from_definition(pipeline.definition(), name="demo-pipeline",
                                      session=local_session)
    assert json.loads(loaded.definition()) == json.loads(pipeline.definition())
    assert [p.name for p in loaded.parameters] == [p.name for p in pipeline.parameters]
    reference = Pipeline.from_definition(REFERENCE.read_text(), name="sdk-made")
    assert json.loads(reference.definition()) == json.loads(REFERENCE.read_text())


def test_parameters_resolve_with_defaults_and_overrides(local_session):
    pipeline = _pipeline(local_session)
    values = pipeline.resolve_parameters({"AccuracyThreshold": 1, "TrainingInstanceCount": 2})
    assert values["AccuracyThreshold"] == 1.0 and isinstance(values["AccuracyThreshold"], float)
    assert values["TrainingInstanceCount"] == 2
    assert values["InputDataUrl"] == "s3://bucket/data/raw/"


def test_an_estimator_holding_variables_cannot_fit_outside_a_pipeline(local_session):
    estimator = _estimator(instance_type=ParameterString("Type", "ml.m5.large"),
                           session=local_session)
    with pytest.raises(ValidationError, match="instance_type: is a pipeline variable"):
        estimator.fit(wait=False)
    assert local_session.backend.training.names(None) == []


def test_a_processor_holding_variables_runs_only_in_a_pipeline(local_session):
    count = ParameterInteger("ProcessingInstanceCount", default_value=2)
    mode = ParameterString("Mode", default_value="full")
    processor = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                                   instance_count=count, environment={"MODE": mode},
                                   session=local_session)
    script = SCRIPTS / "processing" / "echo_args.py"
    with pytest.raises(ValidationError, match="instance_count: is a pipeline variable"):
        processor.run(str(script), wait=False)
    with pytest.raises(ValidationError, match=r"environment\.MODE: is a pipeline variable"):
        mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                           environment={"MODE": mode},
                           session=local_session).run(str(script), wait=False)
    assert local_session.backend.processing.names(None) == []
    step = ProcessingStep("Prep", processor, str(script))
    pipeline = Pipeline("variable-processor", parameters=[count, mode], steps=[step],
                        session=local_session)
    arguments = json.loads(pipeline.definition())["Steps"][0]["Arguments"]
    assert arguments["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == \
        {"Get": "Parameters.ProcessingInstanceCount"}
    assert arguments["Environment"]["MODE"] == {"Get": "Parameters.Mode"}


def test_the_execution_variables_are_those_the_definition_checks_accept():
    offered = {value.name for value in vars(ExecutionVariables).values()
               if isinstance(value, ExecutionVariable)}
    assert offered == EXECUTION_VARIABLE_NAMES


def test_a_definition_default_is_checked_as_a_parameter_checks_it():
    definition = {"Version": "2020-12-01", "Parameters": [
        {"Name": "Region", "Type": "String", "DefaultValue": "ap-south-1",
         "EnumValues": ["eu-west-1"]}],
        "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}]}
    with pytest.raises(ValidationError, match="default_value: parameter 'Region' allows"):
        check_definition(definition)
    with pytest.raises(ValidationError, match="default_value: parameter 'Region' allows"):
        ParameterString("Region", default_value="ap-south-1", enum_values=["eu-west-1"])


def test_variables_refuse_to_become_strings():
    with pytest.raises(TypeError, match="use Join"):
        f"{ParameterString('X', 'a')}"


# -- bad pipelines ------------------------------------------------------------------------


def _definition(steps: list[dict[str, Any]], parameters: list[dict[str, Any]] | None = None,
                version: str = "2020-12-01") -> dict[str, Any]:
    return {"Version": version, "Metadata": {}, "Parameters": parameters or [],
            "Steps": steps}


def _fail(name: str, message: Any = "stop", **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Fail", "Arguments": {"ErrorMessage": message}, **extra}


def _condition(left: Any, right: Any, kind: str = "GreaterThan") -> dict[str, Any]:
    return {"Name": "Check", "Type": "Condition", "Arguments": {
        "Conditions": [{"Type": kind, "LeftValue": left, "RightValue": right}],
        "IfSteps": [_fail("Yes")], "ElseSteps": []}}


def _reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text())


def _reference_with(change: Any) -> dict[str, Any]:
    data = _reference()
    change(data)
    return data


BAD_DEFINITIONS = [
    ("cycle", _definition([_fail("A", DependsOn=["B"]), _fail("B", DependsOn=["A"])]),
     "cycle"),
    ("duplicate step", _definition([_fail("A"), _fail("A")]), "two steps are named 'A'"),
    ("duplicate inside a branch", _definition([_fail("Yes"), _condition(1, 0)]),
     "two steps are named 'Yes'"),
    ("unknown parameter", _definition([_fail("A", {"Get": "Parameters.Nope"})]),
     "parameter 'Nope' is not declared"),
    ("step not in the pipeline",
     _definition([_fail("A", {"Get": "Steps.Ghost.ModelArtifacts.S3ModelArtifacts"})]),
     "step 'Ghost' is not in this pipeline"),
    ("DependsOn a missing step", _definition([_fail("A", DependsOn=["Ghost"])]),
     "DependsOn: step 'Ghost'"),
    ("depends on itself", _definition([_fail("A", DependsOn=["A"])]), "itself"),
    ("JsonGet on a missing property file", _reference_with(
        lambda d: d["Steps"][2].pop("PropertyFiles")),
     "declares no property file 'EvaluationReport'"),
    ("property file on a missing output", _reference_with(
        lambda d: d["Steps"][2]["PropertyFiles"][0].update(OutputName="nope")),
     "output 'nope' is not one of the step's outputs"),
    ("condition on a non-numeric literal", _definition([_condition("high", 0.5)]),
     "compares numbers; got 'high'"),
    ("condition on a string parameter", _definition(
        [_condition({"Get": "Parameters.Level"}, 1)],
        [{"Name": "Level", "Type": "String", "DefaultValue": "x"}]),
     "parameter 'Level' is a String"),
    ("unsupported condition type", _definition([_condition(1, 2, "Between")]),
     "condition Type 'Between' is not supported"),
    ("wrong version", _definition([_fail("A")], version="2019-01-01"), "Version"),
    ("unknown step type", _definition([{"Name": "A", "Type": "Magic", "Arguments": {}}]),
     "'Magic' is not a step type"),
    ("no steps", _definition([]), "at least one step"),
    ("bad property path", _reference_with(
        lambda d: d["Steps"][2]["Arguments"]["ProcessingInputs"][0]["S3Input"].update(
            S3Uri={"Get": "Steps.Train.ModelArtifacts.Nope"})),
     "DescribeTrainingJob has no 'ModelArtifacts.Nope'"),
    ("unknown execution variable", _definition([_fail("A", {"Get": "Execution.Nope"})]),
     "'Nope' is not an execution variable"),
    ("arguments of the wrong type", _reference_with(
        lambda d: d["Steps"][1]["Arguments"]["ResourceConfig"].update(InstanceCount="two")),
     "not a valid CreateTrainingJob request"),
    ("a required argument missing", _reference_with(
        lambda d: d["Steps"][1]["Arguments"].pop("OutputDataConfig")),
     "not a valid CreateTrainingJob request"),
    ("default of the wrong type", _definition(
        [_fail("A")], [{"Name": "N", "Type": "Integer", "DefaultValue": "three"}]),
     "parameter 'N' is an Integer"),
    ("duplicate parameter", _definition(
        [_fail("A")], [{"Name": "N", "Type": "Integer"}, {"Name": "N", "Type": "Float"}]),
     "two parameters are named 'N'"),
    ("bad step name", _definition([_fail("has space")]), "is not a step name"),
    ("property files on a non-processing step", _definition(
        [_fail("A", PropertyFiles=[{"PropertyFileName": "R", "OutputName": "o",
                                    "FilePath": "r.json"}])]),
     "only processing steps write property files"),
]


@pytest.mark.parametrize(("definition", "message"),
                         [pytest.param(d, m, id=i) for i, d, m in BAD_DEFINITIONS])
def test_bad_definitions_are_refused_with_the_reason(definition, message):
    with pytest.raises(ValidationError, match=message):
        Pipeline.from_definition(json.dumps(definition), name="bad")


@pytest.mark.parametrize(("build", "message"), [
    pytest.param(lambda s: Pipeline("bad name", session=s), "pipeline name", id="name"),
    pytest.param(lambda s: CacheConfig(expire_after="30 days"), "ISO-8601", id="cache"),
    pytest.param(lambda s: RetryPolicy(exception_types=("Oops",)), "allowed:", id="retry"),
    pytest.param(lambda s: RetryPolicy(max_attempts=None), "exactly one", id="retry-limit"),
    pytest.param(lambda s: TrainingStep("T", _estimator(), inputs={"train": str(SCRIPTS)}),
                 "is a local path", id="local-input"),
    pytest.param(lambda s: TrainingStep("T", _estimator(image_uri=None)), "needs an image",
                 id="no-image"),
    pytest.param(lambda s: ParameterInteger("N", default_value=1.5), "is an Integer",
                 id="default-type"),
    pytest.param(lambda s: ParameterString("Mode", "a", enum_values=["b"]), "allows 'b'",
                 id="enum-default"),
    pytest.param(lambda s: In(ParameterString("X", "a"), []), "non-empty", id="in-empty"),
    pytest.param(lambda s: Or([]), "non-empty", id="or-empty"),
    pytest.param(lambda s: Not("x"), "expected a Condition", id="not-type"),
    pytest.param(lambda s: Equals(1, [1]), "operand", id="operand-type"),
    pytest.param(lambda s: PropertyFile("R", "out", "/abs/path.json"), "relative",
                 id="property-file-path"),
    pytest.param(lambda s: JsonGet("S", "R", ""), "json_path", id="jsonget-path"),
    pytest.param(lambda s: FailStep("F", "no", description=Join(on=" ", values=["a", "b"])),
                 "description: a plain string", id="step-description"),
])
def test_bad_building_blocks_are_refused(local_session, build, message):
    with pytest.raises(ValidationError, match=message):
        build(local_session)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"Nope": 1}, "'Nope' not declared"),
    ({"TrainingInstanceCount": "2"}, "is an Integer; got str"),
    ({"TrainingInstanceCount": True}, "is an Integer; got bool"),
    ({"AccuracyThreshold": "high"}, "is a Float"),
])
def test_bad_parameter_overrides_are_refused(local_session, overrides, message):
    with pytest.raises(ValidationError, match=message):
        _pipeline(local_session).resolve_parameters(overrides)


def test_a_pipeline_referencing_a_step_it_does_not_contain_fails_validation(local_session):
    other = TrainingStep("Elsewhere", _estimator())
    fail = FailStep("Stop", Join(on="", values=[other.properties.model_data]))
    with pytest.raises(ValidationError, match="step 'Elsewhere' is not in this pipeline"):
        Pipeline("p", steps=[fail], session=local_session).validate()


def test_the_dag_is_drawn_from_the_definition():
    drawing = Pipeline.from_definition(REFERENCE.read_text(), name="sdk-made").mermaid()
    lines = drawing.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    s3{{"CheckAccuracy: Condition"}}' in lines
    assert "    s3 -- if --> s4" in lines and "    s3 -- else --> s5" in lines
    assert "    s1 --> s2" in lines  # Evaluate reads Train's model artifacts
    assert "    s2 --> s1" not in lines
