"""Tuning job specs: every SageMaker rule refused with the field named and what is allowed,
the public parameter classes, and the CreateHyperParameterTuningJob request both ways."""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlopskit.errors import ValidationError
from mlopskit.sagemaker_api.tuning import (
    create_tuning_job_request,
    tuning_description_fields,
    tuning_spec_from_request,
)
from mlopskit.specs import build
from mlopskit.specs.training import TrainingJobSpec
from mlopskit.specs.tuning import TuningJobSpec
from mlopskit.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    WarmStartConfig,
)

ROLE = "arn:aws:iam::123456789012:role/tuner"
TRAINING = dict(name="tune-1", entry_point="train.py", source_uri="s3://bkt/src.tar.gz",
                instance_type="ml.m5.large", output_path="s3://bkt/out",
                hyperparameters={"epochs": 3},
                metric_definitions=[{"name": "validation:auc", "regex": "auc=([0-9.]+)"}],
                channels=[{"name": "train", "s3_uri": "s3://bkt/train/"}])
RANGES: dict[str, Any] = {
    "lr": {"kind": "continuous", "min_value": 0.001, "max_value": 0.1,
           "scaling_type": "Logarithmic"},
    "depth": {"kind": "integer", "min_value": 2, "max_value": 10},
    "criterion": {"kind": "categorical", "values": ["gini", "entropy"]},
}
GOOD: dict[str, Any] = dict(name="tune-1", ranges=RANGES,
                            objective={"metric_name": "validation:auc", "type": "Maximize"},
                            strategy="Random", max_jobs=10, max_parallel_jobs=2,
                            random_seed=42)


def training(**changes: Any) -> TrainingJobSpec:
    return build(TrainingJobSpec, **{**TRAINING, **changes})


def spec(**changes: Any) -> TuningJobSpec:
    data = {**copy.deepcopy(GOOD), "training": training()}
    data.update(changes)
    return build(TuningJobSpec, **data)


def categorical(n: int) -> dict[str, Any]:
    return {f"c{i}": {"kind": "categorical", "values": ["a", "b"]} for i in range(n)}


# (id, changes to GOOD, the field named, fragments the message must hold)
BAD: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("name-too-long", {"name": "t" * 33}, "name", ("1 to 32",)),
    ("name-bad-chars", {"name": "tune_1"}, "name", ("letters, digits and hyphens",)),
    ("no-ranges", {"ranges": {}}, "ranges", ("1 to 30",)),
    ("too-many-ranges", {"ranges": categorical(31)}, "ranges", ("at most 30",)),
    ("min-above-max", {"ranges": {"lr": {"kind": "continuous", "min_value": 1.0,
                                         "max_value": 0.5}}},
     "ranges.lr.continuous.max_value", (">= min_value",)),
    ("integer-min-above-max", {"ranges": {"d": {"kind": "integer", "min_value": 5,
                                                "max_value": 4}}},
     "ranges.d.integer.max_value", (">= min_value",)),
    ("log-with-zero", {"ranges": {"lr": {"kind": "continuous", "min_value": 0.0,
                                         "max_value": 0.5, "scaling_type": "Logarithmic"}}},
     "ranges.lr.continuous.scaling_type", ("min_value > 0", "Auto or Linear")),
    ("integer-log-with-negative", {"ranges": {"d": {"kind": "integer", "min_value": -1,
                                                    "max_value": 4,
                                                    "scaling_type": "Logarithmic"}}},
     "ranges.d.integer.scaling_type", ("min_value > 0",)),
    ("reverse-log-max-one", {"ranges": {"m": {"kind": "continuous", "min_value": 0.5,
                                              "max_value": 1.0,
                                              "scaling_type": "ReverseLogarithmic"}}},
     "ranges.m.continuous.scaling_type", ("0 <= min_value and max_value < 1",)),
    ("reverse-log-negative-min", {"ranges": {"m": {"kind": "continuous", "min_value": -0.1,
                                                   "max_value": 0.5,
                                                   "scaling_type": "ReverseLogarithmic"}}},
     "ranges.m.continuous.scaling_type", ("0 <= min_value",)),
    ("reverse-log-integer", {"ranges": {"d": {"kind": "integer", "min_value": 1,
                                              "max_value": 4,
                                              "scaling_type": "ReverseLogarithmic"}}},
     "ranges.d.integer.scaling_type", ("'Auto', 'Linear', 'Logarithmic'",)),
    ("unknown-scaling", {"ranges": {"d": {"kind": "integer", "min_value": 1, "max_value": 4,
                                          "scaling_type": "Exponential"}}},
     "ranges.d.integer.scaling_type", ("'Auto'", "'Linear'", "'Logarithmic'")),
    ("categorical-empty", {"ranges": {"c": {"kind": "categorical", "values": []}}},
     "ranges.c.categorical.values", ("1 to 30",)),
    ("categorical-31-values", {"ranges": {"c": {"kind": "categorical",
                                                "values": [str(i) for i in range(31)]}}},
     "ranges.c.categorical.values", ("1 to 30",)),
    ("categorical-duplicate", {"ranges": {"c": {"kind": "categorical",
                                                "values": ["a", "a"]}}},
     "ranges.c.categorical.values", ("unique",)),
    ("static-conflict", {"ranges": {"epochs": {"kind": "integer", "min_value": 1,
                                               "max_value": 9}}},
     "ranges", ("both tuned and a static", "not both")),
    ("reserved-name", {"ranges": {"sagemaker_program": {"kind": "categorical",
                                                        "values": ["a.py"]}}},
     "ranges", ("'sagemaker_' prefix is reserved",)),
    ("objective-not-defined", {"objective": {"metric_name": "loss"}}, "objective",
     ("allowed: ['validation:auc']",)),
    ("objective-bad-type", {"objective": {"metric_name": "validation:auc",
                                          "type": "Max"}}, "objective.type",
     ("'Maximize'", "'Minimize'")),
    ("unknown-strategy", {"strategy": "Genetic"}, "strategy",
     ("'Bayesian'", "'Random'", "'Grid'", "'Hyperband'")),
    ("grid-with-continuous", {"strategy": "Grid", "max_jobs": None}, "strategy",
     ("categorical ranges only", "['depth', 'lr']")),
    ("grid-with-wrong-max-jobs", {"strategy": "Grid", "ranges": categorical(2),
                                  "max_jobs": 5}, "max_jobs", ("allowed: None (inferred) or 4",)),
    ("grid-too-big", {"strategy": "Grid", "max_jobs": None, "ranges": {
        f"c{i}": {"kind": "categorical", "values": [str(v) for v in range(10)]}
        for i in range(3)}}, "max_jobs", ("1000 combinations", "at most 750")),
    ("max-jobs-missing", {"max_jobs": None}, "max_jobs", ("required", "1 to 10000")),
    ("max-jobs-zero", {"max_jobs": 0}, "max_jobs", ("1 to 10000",)),
    ("random-max-jobs-10001", {"max_jobs": 10_001}, "max_jobs", ("1 to 10000",)),
    ("bayesian-max-jobs-751", {"strategy": "Bayesian", "max_jobs": 751}, "max_jobs",
     ("'Bayesian': 1 to 750",)),
    ("parallel-zero", {"max_parallel_jobs": 0}, "max_parallel_jobs", ("1 to 100",)),
    ("parallel-101", {"max_jobs": 500, "max_parallel_jobs": 101}, "max_parallel_jobs",
     ("1 to 100",)),
    ("parallel-above-max-jobs", {"max_jobs": 3, "max_parallel_jobs": 4},
     "max_parallel_jobs", ("1 to 3",)),
    ("early-stopping-unknown", {"early_stopping_type": "On"}, "early_stopping_type",
     ("'Off'", "'Auto'")),
    ("hyperband-without-config", {"strategy": "Hyperband"}, "hyperband",
     ("min_resource and max_resource",)),
    ("hyperband-with-auto-stop", {"strategy": "Hyperband", "early_stopping_type": "Auto",
                                  "hyperband": {"min_resource": 1, "max_resource": 9}},
     "early_stopping_type", ("allowed with Hyperband: 'Off'",)),
    ("hyperband-config-on-random", {"hyperband": {"min_resource": 1, "max_resource": 9}},
     "hyperband", ("only for strategy 'Hyperband'", "allowed: None")),
    ("hyperband-min-above-max", {"strategy": "Hyperband",
                                 "hyperband": {"min_resource": 10, "max_resource": 9}},
     "hyperband.max_resource", (">= min_resource",)),
    ("hyperband-max-too-big", {"strategy": "Hyperband",
                               "hyperband": {"min_resource": 1, "max_resource": 20_001}},
     "hyperband.max_resource", ("less than or equal to 20000",)),
    ("hyperband-min-zero", {"strategy": "Hyperband",
                            "hyperband": {"min_resource": 0, "max_resource": 9}},
     "hyperband.min_resource", ("greater than or equal to 1",)),
    ("seed-negative", {"random_seed": -1}, "random_seed", ("greater than or equal to 0",)),
    ("seed-too-big", {"random_seed": 2**31}, "random_seed",
     ("less than or equal to 2147483647",)),
    ("warm-start-no-parents", {"warm_start": {"parents": []}}, "warm_start.parents",
     ("1 to 5",)),
    ("warm-start-six-parents", {"warm_start": {"parents": [f"p{i}" for i in range(6)]}},
     "warm_start.parents", ("1 to 5",)),
    ("warm-start-bad-type", {"warm_start": {"parents": ["p1"], "type": "Identical"}},
     "warm_start.type", ("'IdenticalDataAndAlgorithm'", "'TransferLearning'")),
    ("warm-start-parent-name", {"warm_start": {"parents": ["p" * 33]}},
     "warm_start.parents.0", ("1 to 32",)),
    ("max-runtime-too-short", {"max_runtime": 60}, "max_runtime",
     ("greater than or equal to 120",)),
    ("max-runtime-over-30-days", {"max_runtime": 30 * 24 * 3600 + 1}, "max_runtime",
     ("less than or equal to 2592000",)),
    ("not-improving-below-3", {"completion_criteria": {"max_jobs_not_improving": 2}},
     "completion_criteria.max_jobs_not_improving", ("greater than or equal to 3",)),
    ("target-not-finite", {"completion_criteria": {"target_objective_value": float("nan")}},
     "completion_criteria.target_objective_value", ("finite",)),
    ("aws-tag", {"tags": {"aws:owner": "me"}}, "tags", ("reserved",)),
]


@pytest.mark.parametrize(("changes", "field", "fragments"),
                         [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_tuning_spec_is_refused_naming_the_field(changes, field, fragments):
    with pytest.raises(ValidationError) as caught:
        spec(**changes)
    assert caught.value.field == field, str(caught.value)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_definition_environment_is_limited_to_48():
    many = {f"V{i}": "x" for i in range(49)}
    with pytest.raises(ValidationError) as caught:
        spec(training=training(environment=many))
    assert caught.value.field == "training"
    assert "at most 48" in str(caught.value)


def test_grid_with_categorical_ranges_and_no_max_jobs_is_accepted():
    grid = spec(strategy="Grid", ranges=categorical(2), max_jobs=None)
    assert grid.max_jobs is None
    assert spec(strategy="Grid", ranges=categorical(2), max_jobs=4).max_jobs == 4


def test_random_search_may_have_up_to_10000_jobs():
    assert spec(max_jobs=10_000).max_jobs == 10_000


def test_a_tuning_job_takes_at_most_20_metric_definitions():
    metrics = [{"name": f"m{i}", "regex": "m=(.*)"} for i in range(21)]
    with pytest.raises(ValidationError) as caught:
        spec(training=training(metric_definitions=metrics))
    assert caught.value.field == "training"
    assert "at most 20" in str(caught.value)


def test_a_tuned_name_the_estimator_does_not_set_is_accepted():
    # SageMaker has no notion of an unknown hyperparameter: the script receives it.
    assert "lr" not in training().hyperparameters
    assert "lr" in spec().ranges


# -- the public classes --------------------------------------------------------------------

@pytest.mark.parametrize(("make", "field", "fragment"), [
    (lambda: ContinuousParameter(0.5, 0.1), "max_value", ">= min_value"),
    (lambda: ContinuousParameter(0, 1, "Logarithmic"), "scaling_type", "min_value > 0"),
    (lambda: ContinuousParameter(0.1, 1, "Cubic"), "scaling_type", "'ReverseLogarithmic'"),
    (lambda: IntegerParameter(1, 5, "ReverseLogarithmic"), "scaling_type", "continuous"),
    (lambda: IntegerParameter(1.5, 5), "min_value", "integer"),
    (lambda: IntegerParameter(True, 5), "min_value", "allowed: a number"),
    (lambda: ContinuousParameter(0.1, False), "max_value", "allowed: a number"),
    (lambda: CategoricalParameter(["a"] * 2), "values", "unique"),
    (lambda: CategoricalParameter([str(i) for i in range(31)]), "values", "1 to 30"),
    (lambda: WarmStartConfig([]), "parents", "1 to 5"),
    (lambda: WarmStartConfig(["a"], type="Other"), "type", "'TransferLearning'"),
], ids=["cont-order", "cont-log", "cont-scaling", "int-reverse", "int-float", "int-bool",
        "cont-bool", "cat-dup",
        "cat-31", "warm-empty", "warm-type"])
def test_public_parameter_is_checked_at_construction(make, field, fragment):
    with pytest.raises(ValidationError) as caught:
        make()
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_public_parameters_give_their_specs_and_repr():
    assert ContinuousParameter(0.1, 0.2, "Linear").spec().scaling_type == "Linear"
    assert IntegerParameter(1, 3).spec().max_value == 3
    assert CategoricalParameter("x").values == ["x"]
    assert WarmStartConfig("a", "TransferLearning").spec().type == "TransferLearning"
    assert repr(IntegerParameter(1, 3)) == "IntegerParameter(1, 3, scaling_type='Auto')"
    assert IntegerParameter(1, 3) == IntegerParameter(1, 3)
    ranges = {"lr": ContinuousParameter(0.1, 0.2).spec(), "k": CategoricalParameter([1, 2])
              .spec()}
    assert spec(ranges=ranges).ranges["k"].values == (1, 2)


def test_importing_the_public_module_stays_light():
    import subprocess
    import sys

    code = ("import sys, mlopskit.tuning; "
            "print(sorted(m for m in ('boto3', 'botocore', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


# -- the request ---------------------------------------------------------------------------

def _validate(request: dict[str, Any], operation: str) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


FULL = dict(
    warm_start={"parents": ["tune-0"], "type": "TransferLearning"}, max_runtime=3600,
    completion_criteria={"target_objective_value": 0.95, "max_jobs_not_improving": 5,
                         "complete_on_convergence": True},
    tags={"team": "ml"})


def test_request_passes_botocores_validation_and_has_every_field():
    request = create_tuning_job_request(spec(**FULL), role_arn=ROLE, region="us-east-1",
                                        image_uri="img:1")
    _validate(request, "CreateHyperParameterTuningJob")
    config = request["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 10,
                                        "MaxParallelTrainingJobs": 2,
                                        "MaxRuntimeInSeconds": 3600}
    assert config["RandomSeed"] == 42
    assert config["ParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "depth", "MinValue": "2", "MaxValue": "10", "ScalingType": "Auto"}]
    assert config["ParameterRanges"]["CategoricalParameterRanges"] == [
        {"Name": "criterion", "Values": ['"gini"', '"entropy"']}]
    assert config["TuningJobCompletionCriteria"] == {
        "TargetObjectiveMetricValue": 0.95,
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 5},
        "ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}}
    definition = request["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"]["epochs"] == "3"
    assert not {"lr", "depth", "criterion"} & set(definition["StaticHyperParameters"])
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "validation:auc", "Regex": "auc=([0-9.]+)"}]
    assert request["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "tune-0"}],
        "WarmStartType": "TransferLearning"}
    assert request["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_hyperband_and_grid_requests_pass_botocores_validation():
    band = spec(strategy="Hyperband", hyperband={"min_resource": 1, "max_resource": 27})
    request = create_tuning_job_request(band, role_arn=ROLE, region="us-east-1",
                                        image_uri="img:1")
    _validate(request, "CreateHyperParameterTuningJob")
    assert request["HyperParameterTuningJobConfig"]["StrategyConfig"] == {
        "HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 27}}
    grid = spec(strategy="Grid", ranges=categorical(2), max_jobs=None, random_seed=None)
    request = create_tuning_job_request(grid, role_arn=ROLE, region="us-east-1",
                                        image_uri="img:1")
    _validate(request, "CreateHyperParameterTuningJob")
    assert "MaxNumberOfTrainingJobs" not in \
        request["HyperParameterTuningJobConfig"]["ResourceLimits"]


@pytest.mark.parametrize("changes", [
    {}, FULL, {"strategy": "Hyperband", "hyperband": {"min_resource": 2, "max_resource": 8}},
    {"strategy": "Grid", "ranges": categorical(3), "max_jobs": None, "random_seed": None},
    {"ranges": {"k": {"kind": "categorical", "values": [1, 2.5, True, "x"]}}},
], ids=["random", "full", "hyperband", "grid", "mixed-categorical"])
def test_request_reads_back_to_the_same_spec(changes):
    original = spec(**changes)
    request = create_tuning_job_request(original, role_arn=ROLE, region="us-east-1",
                                        image_uri="img:1")
    again = tuning_spec_from_request(request, name=original.name)
    # The request holds the image, not the framework; tags go on the tuning job.
    assert again.model_dump(exclude={"training"}) == original.model_dump(exclude={"training"})
    assert again.training.model_dump(exclude={"image_uri"}) == \
        original.training.model_dump(exclude={"image_uri"})


def test_reader_refuses_what_it_does_not_read():
    request = create_tuning_job_request(spec(), role_arn=ROLE, region="us-east-1",
                                        image_uri="img:1")
    request["Autotune"] = {"Mode": "Enabled"}
    with pytest.raises(Exception, match="Autotune"):
        tuning_spec_from_request(request, name="tune-1")


def test_description_fields():
    described = tuning_description_fields({
        "HyperParameterTuningJobName": "tune-1",
        "HyperParameterTuningJobStatus": "Failed", "FailureReason": "no capacity",
        "TrainingJobStatusCounters": {"Completed": 2, "NonRetryableError": 1},
        "BestTrainingJob": {"TrainingJobName": "tune-1-002-x",
                            "FinalHyperParameterTuningJobObjectiveMetric": {
                                "MetricName": "validation:auc", "Value": 0.8}}})
    assert described["status"] == "Failed" and described["failure_reason"] == "no capacity"
    assert described["best_training_job"] == "tune-1-002-x"
    assert described["best_objective"] == 0.8
    assert described["counts"] == {"Completed": 2, "InProgress": 0, "RetryableError": 0,
                                "NonRetryableError": 1, "Stopped": 0}
    with pytest.raises(ValidationError):
        tuning_description_fields({"HyperParameterTuningJobName": "x"})


def _request(**changes: Any) -> dict[str, Any]:
    return create_tuning_job_request(spec(**changes), role_arn=ROLE, region="us-east-1",
                                     image_uri="img:1")


def _set(request: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target: Any = request
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return request


_DELETE = object()
CONFIG = "HyperParameterTuningJobConfig"


@pytest.mark.parametrize(("path", "value", "field", "fragment"), [
    (f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs", 500,
     f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs", "1 to 100"),
    (f"{CONFIG}.ParameterRanges.ContinuousParameterRanges.0.MinValue", "1.0",
     f"{CONFIG}.ParameterRanges.ContinuousParameterRanges[0].MaxValue", ">= min_value"),
    (f"{CONFIG}.ParameterRanges.IntegerParameterRanges.0.MinValue", "two",
     f"{CONFIG}.ParameterRanges.IntegerParameterRanges[0].MinValue", "int"),
    (f"{CONFIG}.ParameterRanges.CategoricalParameterRanges.0.Name", "lr",
     f"{CONFIG}.ParameterRanges.CategoricalParameterRanges[0].Name",
     "one range per hyperparameter"),
    (f"{CONFIG}.HyperParameterTuningJobObjective.MetricName", "loss",
     f"{CONFIG}.HyperParameterTuningJobObjective", "allowed: ['validation:auc']"),
    (f"{CONFIG}.Strategy", "Genetic", f"{CONFIG}.Strategy", "'Hyperband'"),
    ("TrainingJobDefinition.StaticHyperParameters.sagemaker_program", _DELETE,
     "TrainingJobDefinition.StaticHyperParameters.sagemaker_program", "script-mode"),
], ids=["parallel", "range-order", "integer-text", "duplicate-name", "objective",
        "strategy", "no-program"])
def test_reader_names_the_request_field(path, value, field, fragment):
    request = _set(_request(), path, value)
    with pytest.raises((ValidationError, NotImplementedError)) as caught:
        tuning_spec_from_request(request, name="tune-1")
    assert getattr(caught.value, "field", field) == field, str(caught.value)
    assert str(caught.value).startswith(f"{field}:"), str(caught.value)
    assert fragment in str(caught.value), str(caught.value)


@pytest.mark.parametrize("changes", [
    FULL, {"ranges": {"k": {"kind": "categorical", "values": [1, 2.5, True, "x", "1"]}}},
    {"strategy": "Hyperband", "hyperband": {"min_resource": 1, "max_resource": 9}},
], ids=["full", "categorical", "hyperband"])
def test_spec_survives_its_json(changes):
    original = spec(**changes)
    again = TuningJobSpec.model_validate_json(original.model_dump_json())
    assert again == original
