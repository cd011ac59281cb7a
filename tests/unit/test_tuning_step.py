"""TuningStep compiled: SageMaker's ``Tuning`` step (CreateHyperParameterTuningJob less the
job name), checked by our definition checks and by the published JSON schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

import mlopskit
from mlopskit.errors import CapabilityError, ValidationError
from mlopskit.pipeline import (
    CacheConfig,
    ConditionStep,
    FailStep,
    GreaterThan,
    ParameterInteger,
    ParameterString,
    Pipeline,
    RetryPolicy,
    TuningStep,
)
from mlopskit.sagemaker_api.pipeline.checks import check_definition
from mlopskit.sagemaker_api.pipeline.runnable import check_runnable

from ..tuning_step_support import IMAGE, METRICS, tuner, tuning_pipeline

SCHEMA = Path("/work/shared/reference/pipeline-schema.json")


def _definition(pipeline: Pipeline) -> dict:
    return json.loads(pipeline.definition())


def _tune_step(definition: dict) -> dict:
    return next(s for s in definition["Steps"] if s["Type"] == "Tuning")


def test_a_tuning_step_compiles_to_the_tuning_request_less_its_name(local_session, tmp_path):
    data = ParameterString("TrainData", default_value="s3://data-bucket/train/")
    step = TuningStep("Tune", tuner(local_session, tmp_path / "code"), inputs={"train": data},
                      cache_config=CacheConfig(expire_after="P1D"),
                      retry_policies=[RetryPolicy(max_attempts=2)], depends_on=["Prepare"],
                      display_name="Tune x", description="search x")
    pipeline = Pipeline("tune-compile", parameters=[data],
                        steps=[FailStep("Prepare", "never"), step], session=local_session)
    entry = _tune_step(_definition(pipeline))
    assert entry["Type"] == "Tuning" and entry["DependsOn"] == ["Prepare"]
    assert entry["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P1D"}
    assert entry["RetryPolicies"][0]["MaxAttempts"] == 2
    arguments = entry["Arguments"]
    assert set(arguments) == {"HyperParameterTuningJobConfig", "TrainingJobDefinition"}
    config = arguments["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random" and config["RandomSeed"] == 11
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 3,
                                        "MaxParallelTrainingJobs": 3}
    assert config["ParameterRanges"]["ContinuousParameterRanges"] == [
        {"Name": "x", "MinValue": "0.0", "MaxValue": "6.0", "ScalingType": "Auto"}]
    definition = arguments["TrainingJobDefinition"]
    assert definition["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == \
        {"Get": "Parameters.TrainData"}
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == METRICS
    assert definition["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    static = definition["StaticHyperParameters"]
    assert "sagemaker_job_name" not in static and static["fail"] == "0"
    assert static["sagemaker_submit_directory"].startswith(
        f'"s3://{local_session.default_bucket}/tune-compile/code/')
    assert definition["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{local_session.default_bucket}/"}
    check_definition(_definition(pipeline))  # botocore's request validation included


def test_an_instance_count_parameter_reaches_the_training_definition(local_session, tmp_path):
    count = ParameterInteger("Hosts", default_value=1)
    (tmp_path / "train.py").write_text("print('score=1')")
    estimator = mlopskit.Estimator(str(tmp_path / "train.py"), image_uri=IMAGE,
                                   instance_type="ml.m5.large", instance_count=count,
                                   metric_definitions=METRICS, session=local_session)
    search = mlopskit.HyperparameterTuner(
        estimator, "score", {"x": mlopskit.tuning.IntegerParameter(1, 3)},
        strategy="Random", max_jobs=2)
    pipeline = Pipeline("tune-count", parameters=[count], steps=[TuningStep("Tune", search)],
                        session=local_session)
    resources = _tune_step(_definition(pipeline))["Arguments"]["TrainingJobDefinition"][
        "ResourceConfig"]
    assert resources["InstanceCount"] == {"Get": "Parameters.Hosts"}


def test_properties_and_the_top_model_uri(local_session, tmp_path):
    step = TuningStep("Tune", tuner(local_session, tmp_path))
    assert step.properties.BestTrainingJob.TrainingJobName.expr == {
        "Get": "Steps.Tune.BestTrainingJob.TrainingJobName"}
    assert step.properties.best_objective.expr == {
        "Get": "Steps.Tune.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value"}
    # The SDK's shape: "s3:/" then bucket (and prefix) joined by "/" with the trial's name.
    assert step.get_top_model_s3_uri(2, "bkt", "runs").expr == {"Std:Join": {
        "On": "/", "Values": ["s3:/", "bkt", "runs",
                              {"Get": "Steps.Tune.TrainingJobSummaries[2].TrainingJobName"},
                              "output/model.tar.gz"]}}
    bucket = ParameterString("Bucket")
    assert step.get_top_model_s3_uri(0, bucket).expr["Std:Join"]["Values"][1] == {
        "Get": "Parameters.Bucket"}


def test_a_condition_on_the_best_objective_passes_the_checks(local_session, tmp_path):
    tune = TuningStep("Tune", tuner(local_session, tmp_path))
    gate = ConditionStep("Good", [GreaterThan(tune.properties.best_objective, -1.0)],
                         else_steps=[FailStep("TooFar", "no x near 3")])
    info = check_definition(_definition(Pipeline("tune-gate", steps=[tune, gate],
                                                 session=local_session)))
    assert info.graph["Good"] == {"Tune"}


@pytest.mark.parametrize("path", [
    "BestTrainingJob.TrainingJobName", "TrainingJobSummaries[0].TrainingJobName",
    "TrainingJobSummaries[1].FinalHyperParameterTuningJobObjectiveMetric.Value",
    "HyperParameterTuningJobStatus", "TrainingJobStatusCounters.Completed"])
def test_tuning_properties_follow_the_describe_and_list_responses(local_session, tmp_path,
                                                                  path):
    definition = _definition(tuning_pipeline(local_session, tmp_path))
    definition["Steps"][1]["Arguments"]["PrimaryContainer"]["ModelDataUrl"] = {
        "Get": f"Steps.Tune.{path}"}
    check_definition(definition)


def test_a_property_a_tuning_job_does_not_have_is_refused(local_session, tmp_path):
    definition = _definition(tuning_pipeline(local_session, tmp_path))
    definition["Steps"][1]["Arguments"]["PrimaryContainer"]["ModelDataUrl"] = {
        "Get": "Steps.Tune.ModelArtifacts.S3ModelArtifacts"}
    with pytest.raises(ValidationError, match="DescribeHyperParameterTuningJob has no "
                                              "'ModelArtifacts'"):
        check_definition(definition)


def test_a_bad_tuning_request_is_refused_by_the_checks(local_session, tmp_path):
    definition = _definition(tuning_pipeline(local_session, tmp_path))
    _tune_step(definition)["Arguments"]["HyperParameterTuningJobConfig"]["ResourceLimits"][
        "MaxParallelTrainingJobs"] = "three"
    with pytest.raises(ValidationError, match=r"Tune\.Arguments: not a valid "
                                              r"CreateHyperParameterTuningJob request"):
        check_definition(definition)


@pytest.mark.parametrize(("build", "message"), [
    (lambda s, p: TuningStep("Tune", "not a tuner"),
     "tuner: expected an mlopskit.HyperparameterTuner, got str"),
    (lambda s, p: TuningStep("Tune", tuner(s, p), inputs={"train": str(p)}),
     "inputs.train: .* is a local path"),
    (lambda s, p: TuningStep("Tune", tuner(s, p)).get_top_model_s3_uri(50, "bkt"),
     "top_k: 50; allowed: a whole number from 0"),
    (lambda s, p: TuningStep("Tune", tuner(s, p)).get_top_model_s3_uri(True, "bkt"),
     "top_k: True"),
    (lambda s, p: TuningStep("Tune", tuner(s, p)).get_top_model_s3_uri(0, ""),
     "s3_bucket: required"),
    (lambda s, p: TuningStep("Tune", tuner(s, p), cache_config=CacheConfig(expire_after="1d")),
     "expire_after: '1d' is not an ISO-8601 duration"),
])
def test_bad_tuning_steps_are_refused_naming_the_field(local_session, tmp_path, build,
                                                       message):
    with pytest.raises(ValidationError, match=message):
        build(local_session, tmp_path)


def test_an_estimator_without_an_image_is_refused(local_session, tmp_path):
    search = tuner(local_session, tmp_path)
    search.estimator.image_uri = None
    with pytest.raises(ValidationError, match=r"tuner\.estimator\.image_uri: a pipeline step"):
        TuningStep("Tune", search)


def test_the_local_engine_refuses_a_tuning_step_it_can_never_run(local_session, tmp_path):
    arguments = _tune_step(_definition(tuning_pipeline(local_session, tmp_path)))["Arguments"]
    check_runnable("Tune", "Tuning", arguments)  # script mode: runs
    built_in = copy.deepcopy(arguments)
    for key in ("sagemaker_program", "sagemaker_submit_directory"):
        built_in["TrainingJobDefinition"]["StaticHyperParameters"].pop(key)
    with pytest.raises(CapabilityError, match=r"step 'Tune': training image .* would run its "
                                              r"own built-in algorithm"):
        check_runnable("Tune", "Tuning", built_in)
    several = {**arguments, "TrainingJobDefinitions": [arguments["TrainingJobDefinition"]]}
    with pytest.raises(CapabilityError, match="step 'Tune': TrainingJobDefinitions is set"):
        check_runnable("Tune", "Tuning", several)
    algorithm = copy.deepcopy(arguments)
    algorithm["TrainingJobDefinition"]["AlgorithmSpecification"]["AlgorithmName"] = "algo"
    with pytest.raises(CapabilityError, match=r"TrainingJobDefinition\.AlgorithmSpecification\."
                                              r"AlgorithmName is set"):
        check_runnable("Tune", "Tuning", algorithm)


def test_from_definition_gives_back_the_same_tuning_step(local_session, tmp_path):
    pipeline = tuning_pipeline(local_session, tmp_path)
    again = Pipeline.from_definition(pipeline.definition(), name=pipeline.name,
                                     session=local_session)
    assert _definition(again) == _definition(pipeline)
    assert [(s.name, s.step_type) for s in again.steps] == [("Tune", "Tuning"),
                                                            ("Best", "Model")]


# The published schema is stale (see /work/shared/reference/schema-validation.txt): these are
# the fields SageMaker and the official SDK use that it does not know, each one sent by the
# SDK v2's TuningStep for the same settings.
SCHEMA_GAPS = {
    ("Arguments", "HyperParameterTuningJobConfig"): "'RandomSeed' was unexpected",
}


def _schema_errors(step: dict) -> list[tuple[tuple, str]]:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator({"$ref": "#/definitions/TuningStep",
                                            "definitions": schema["definitions"]})
    return [(tuple(e.absolute_path), e.message) for e in validator.iter_errors(step)]


@pytest.mark.skipif(not SCHEMA.exists(), reason="the reference schema is not on this machine")
def test_the_tuning_step_validates_against_the_published_schema(local_session, tmp_path):
    plain = tuner(local_session, tmp_path)
    plain._settings["random_seed"] = None  # the schema predates RandomSeed
    step = _tune_step(_definition(Pipeline("tune-schema", steps=[TuningStep("Tune", plain)],
                                           session=local_session)))
    assert _schema_errors(step) == []
    seeded = _tune_step(_definition(tuning_pipeline(local_session, tmp_path)))
    errors = _schema_errors(seeded)
    assert errors and all(path in SCHEMA_GAPS and SCHEMA_GAPS[path] in message
                          for path, message in errors), errors
