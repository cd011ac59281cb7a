"""Hyperparameter tuning: the SDK's ``HyperparameterTuner`` and mlopskit's request builder.

SDK: ``HyperparameterTuner(SKLearn(...), objective, ranges, ...).fit(inputs, wait=False)``,
recorded on its SageMaker client as every parity test records it (moto does not implement
``CreateHyperParameterTuningJob``; the request is recorded before it is sent, and the
"not implemented" answer is ignored).

mlopskit has no public tuner yet (issue 17, first slice), so its side is the request that
``sagemaker_api.tuning.create_tuning_job_request`` builds from a ``TuningJobSpec`` made of
the same user inputs (ranges through ``mlopskit.tuning``'s public classes). The values a
tuner would generate or upload itself (the job name, the code archive's URI, the image URI)
are taken from the SDK's request, so what is compared is how the request is assembled:
ranges and their encoding, limits, strategy, objective, static hyperparameters, the training
definition, warm start and tags.

Deliberate differences (rules below, each with its reason): the SDK's bookkeeping
hyperparameters (``sagemaker_estimator_class_name``/``_module``), which mlopskit does not
send; the SDK's ``HyperParameterTuningResourceConfig`` where mlopskit sends the same
resources as ``ResourceConfig``; the ``sagemaker_job_name`` static value (each side names
something else; SageMaker names every training job itself); and categorical values that
are numbers (see the last test). These rules are not yet listed in
``tests/parity/README.md`` (that file belongs to the parity suite's owners).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlopskit.sagemaker_api.tuning import create_tuning_job_request, tuning_spec_from_request
from mlopskit.specs import build
from mlopskit.specs.training import TrainingJobSpec
from mlopskit.specs.tuning import TuningJobSpec
from mlopskit.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    WarmStartConfig,
)

from .harness import (
    ABSENT,
    REGION,
    ROLE_ARN,
    STAMP,
    TAGS,
    TEST_URI,
    TRAIN_URI,
    Allowed,
    Call,
    Is,
    Matches,
    compare,
    sdk_tags,
)

OPERATION = "CreateHyperParameterTuningJob"
HYPERPARAMETERS = {"n-estimators": 50, "warm-start": True}
METRICS = [{"Name": "validation:accuracy", "Regex": "accuracy=([0-9.]+)"}]
ENVIRONMENT = {"MODE": "full"}
DEFINITION = "TrainingJobDefinition"
RESOURCES = {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}

RULES = [
    Allowed(OPERATION, f"{DEFINITION}.StaticHyperParameters.sagemaker_estimator_class_name",
            sdk=Is('"SKLearn"'), mlopskit=ABSENT,
            reason="the SDK records which estimator class made the tuner, to rebuild it in "
                   "attach(); the training container ignores it"),
    Allowed(OPERATION, f"{DEFINITION}.StaticHyperParameters.sagemaker_estimator_module",
            sdk=Is('"sagemaker.sklearn.estimator"'), mlopskit=ABSENT,
            reason="the SDK's bookkeeping for attach(), as above"),
    Allowed(OPERATION, f"{DEFINITION}.InputDataConfig.*.InputMode", sdk=ABSENT,
            mlopskit=Is("File"),
            reason="a channel without InputMode takes AlgorithmSpecification."
                   "TrainingInputMode, File on both sides"),
    Allowed(OPERATION, f"{DEFINITION}.ResourceConfig", sdk=ABSENT, mlopskit=Is(RESOURCES),
            reason="the SDK sends the newer HyperParameterTuningResourceConfig with the same "
                   "instance type, count and volume; for one instance type the two mean the "
                   "same, and ResourceConfig is what the training request already holds"),
    Allowed(OPERATION, f"{DEFINITION}.HyperParameterTuningResourceConfig", sdk=Is(RESOURCES),
            mlopskit=ABSENT, reason="the same resources, in ResourceConfig (see above)"),
    Allowed(OPERATION, f"{DEFINITION}.StaticHyperParameters.sagemaker_job_name",
            sdk=Matches(rf'"sagemaker-scikit-learn-{STAMP}"'), mlopskit=Matches(r'"[-a-z0-9]+"'),
            reason="the SDK names its estimator's would-be job, mlopskit the tuning job; "
                   "SageMaker gives each training job its own name, and the toolkit reads "
                   "the job name from its environment"),
]


def _estimator(sides: Any) -> Any:
    from sagemaker.sklearn import SKLearn

    return SKLearn(
        entry_point="train.py", source_dir=str(sides.source_dir), framework_version="1.2-1",
        py_version="py3", instance_type="ml.m5.large", instance_count=1, role=ROLE_ARN,
        hyperparameters=copy.deepcopy(HYPERPARAMETERS), metric_definitions=copy.deepcopy(METRICS),
        environment=dict(ENVIRONMENT), sagemaker_session=sides.sdk_session())


def _sdk_fit(sides: Any, **tuner_args: Any) -> dict[str, Any]:
    from sagemaker.inputs import TrainingInput
    from sagemaker.tuner import HyperparameterTuner

    tuner = HyperparameterTuner(_estimator(sides), metric_definitions=copy.deepcopy(METRICS),
                                **tuner_args)
    try:
        tuner.fit({"train": TrainingInput(TRAIN_URI, content_type="text/csv"),
                   "test": TEST_URI}, wait=False)
    except Exception as error:  # moto answers "not implemented"; the request is recorded
        if "CreateHyperParameterTuningJob" not in sides.recording.sdk.operations:
            raise AssertionError(f"the SDK sent no tuning request: {error!r}") from error
    return sides.recording.sdk.request(OPERATION)


def _mlopskit_request(sides: Any, sdk: dict[str, Any], **tuning: Any) -> None:
    """Our request from the same inputs; name, code URI and image as the SDK chose them."""
    static = sdk[DEFINITION]["StaticHyperParameters"]
    training = build(
        TrainingJobSpec, name=sdk["HyperParameterTuningJobName"], entry_point="train.py",
        source_uri=static["sagemaker_submit_directory"].strip('"'), framework="sklearn",
        framework_version="1.2-1", instance_type="ml.m5.large", instance_count=1,
        hyperparameters=HYPERPARAMETERS, environment=ENVIRONMENT,
        metric_definitions=[{"name": m["Name"], "regex": m["Regex"]} for m in METRICS],
        output_path=sdk[DEFINITION]["OutputDataConfig"]["S3OutputPath"],
        channels=[{"name": "train", "s3_uri": TRAIN_URI, "content_type": "text/csv"},
                  {"name": "test", "s3_uri": TEST_URI}])
    spec = build(TuningJobSpec, name=sdk["HyperParameterTuningJobName"], training=training,
                 **tuning)
    request = create_tuning_job_request(
        spec, role_arn=ROLE_ARN, region=REGION,
        image_uri=sdk[DEFINITION]["AlgorithmSpecification"]["TrainingImage"])
    sides.recording.mlopskit.calls.append(Call(OPERATION, request))
    # The reader (what a local pipeline engine runs a TuningStep with) gives the same spec
    # from the SDK's request as from ours; the request holds no framework, only an image.
    read = tuning_spec_from_request(sdk, name=spec.name)
    assert read.model_dump(exclude={"training"}) == spec.model_dump(exclude={"training"})
    assert read.training.model_dump(exclude={"framework", "framework_version", "image_uri"}) \
        == spec.training.model_dump(exclude={"framework", "framework_version", "image_uri"})


def _ranges_spec(ranges: dict[str, Any]) -> dict[str, Any]:
    return {name: value.spec() for name, value in ranges.items()}


def test_random_search_with_every_kind_of_range(sides):
    from sagemaker import tuner as sdk_tuner

    objective = {"metric_name": "validation:accuracy", "type": "Maximize"}
    sdk = _sdk_fit(sides, objective_metric_name=objective["metric_name"],
                   hyperparameter_ranges={
                       "learning-rate": sdk_tuner.ContinuousParameter(
                           0.001, 0.1, scaling_type="Logarithmic"),
                       "max-depth": sdk_tuner.IntegerParameter(2, 12),
                       "criterion": sdk_tuner.CategoricalParameter(["gini", "entropy"])},
                   strategy="Random", objective_type="Maximize", max_jobs=12,
                   max_parallel_jobs=3, random_seed=1234, tags=sdk_tags(TAGS),
                   early_stopping_type="Off")
    ranges = {"learning-rate": ContinuousParameter(0.001, 0.1, scaling_type="Logarithmic"),
              "max-depth": IntegerParameter(2, 12),
              "criterion": CategoricalParameter(["gini", "entropy"])}
    _mlopskit_request(sides, sdk, ranges=_ranges_spec(ranges), objective=objective,
                      strategy="Random", max_jobs=12, max_parallel_jobs=3, random_seed=1234,
                      tags=TAGS)
    compare(sides.recording, OPERATION, RULES)


def test_hyperband(sides):
    from sagemaker import tuner as sdk_tuner

    sdk = _sdk_fit(sides, objective_metric_name="validation:accuracy",
                   hyperparameter_ranges={"max-depth": sdk_tuner.IntegerParameter(2, 12)},
                   strategy="Hyperband", objective_type="Minimize", max_jobs=20,
                   max_parallel_jobs=4,
                   strategy_config=sdk_tuner.StrategyConfig(sdk_tuner.HyperbandStrategyConfig(
                       min_resource=1, max_resource=27)))
    _mlopskit_request(sides, sdk, ranges={"max-depth": IntegerParameter(2, 12).spec()},
                      objective={"metric_name": "validation:accuracy", "type": "Minimize"},
                      strategy="Hyperband", max_jobs=20, max_parallel_jobs=4,
                      hyperband={"min_resource": 1, "max_resource": 27})
    compare(sides.recording, OPERATION, RULES)


def test_warm_start_with_completion_criteria(sides):
    from sagemaker import tuner as sdk_tuner

    sdk = _sdk_fit(sides, objective_metric_name="validation:accuracy",
                   hyperparameter_ranges={
                       "learning-rate": sdk_tuner.ContinuousParameter(0.01, 0.2)},
                   strategy="Bayesian", max_jobs=30, max_parallel_jobs=2,
                   early_stopping_type="Auto", max_runtime_in_seconds=7200,
                   warm_start_config=sdk_tuner.WarmStartConfig(
                       sdk_tuner.WarmStartTypes.TRANSFER_LEARNING,
                       parents={"tune-parent-1", "tune-parent-2"}),
                   completion_criteria_config=sdk_tuner.TuningJobCompletionCriteriaConfig(
                       max_number_of_training_jobs_not_improving=5,
                       complete_on_convergence=True, target_objective_metric_value=0.97))
    parents = [p["HyperParameterTuningJobName"] for p in
               sdk["WarmStartConfig"]["ParentHyperParameterTuningJobs"]]  # a set's order
    warm = WarmStartConfig(parents, type="TransferLearning")
    _mlopskit_request(sides, sdk, ranges={"learning-rate":
                                          ContinuousParameter(0.01, 0.2).spec()},
                      objective={"metric_name": "validation:accuracy"},
                      strategy="Bayesian", max_jobs=30, max_parallel_jobs=2,
                      early_stopping_type="Auto", max_runtime=7200,
                      warm_start=warm.spec(),
                      completion_criteria={"max_jobs_not_improving": 5,
                                           "complete_on_convergence": True,
                                           "target_objective_value": 0.97})
    compare(sides.recording, OPERATION, RULES)


@pytest.mark.parametrize("value", ["gini", 5, 0.5, True])
def test_categorical_encoding_of_framework_estimators(value):
    """The SDK sends ``json.dumps(str(v))`` for a framework estimator's categorical value;
    mlopskit sends ``json.dumps(v)``, as it encodes a static value. The same for strings
    (the usual case); for numbers and booleans the script receives the number (or bool) a
    static hyperparameter of that value would give it, where the SDK's gives a string: a
    deliberate difference."""
    import json

    from sagemaker.parameter import CategoricalParameter as SdkCategorical

    sdk_value = SdkCategorical([value]).as_json_range("k")["Values"][0]
    ours = CategoricalParameter([value]).spec().values[0]
    if isinstance(value, str):
        assert sdk_value == json.dumps(ours)
    else:
        assert sdk_value == json.dumps(str(value))
        assert json.loads(json.dumps(ours)) == value
