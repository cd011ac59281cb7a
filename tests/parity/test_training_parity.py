"""Script-mode training with a framework estimator (docs/training.md).

SDK: ``SKLearn(entry_point, source_dir, framework_version, ...).fit(inputs, wait=False)``.
mlopskit: ``Estimator(entry_point, source_dir, framework="sklearn", ...).fit(inputs,
wait=False)``. Same script folder, hyperparameters, metrics, environment, tags and channels.
"""

from __future__ import annotations

import copy

import mlopskit

from .harness import (
    ABSENT,
    BUCKET,
    ROLE_ARN,
    STAMP,
    TAGS,
    TEST_URI,
    TRAIN_URI,
    Allowed,
    Is,
    Name,
    assert_documented,
    assert_operations,
    assert_same_code,
    compare,
    sdk_tags,
    value_at,
)

HYPERPARAMETERS = {"n-estimators": 50, "learning-rate": 0.1, "criterion": "gini",
                   "warm-start": True, "layers": [64, 32]}
METRICS = [{"Name": "train:accuracy", "Regex": "accuracy=([0-9.]+)"}]
ENVIRONMENT = {"MODE": "full"}

RULES = [
    Name("CreateTrainingJob", "TrainingJobName",
         sdk=rf"sagemaker-scikit-learn-{STAMP}", mlopskit=rf"train-{STAMP}",
         reason="each side stamps a base name with the time to the millisecond; the SDK's "
                "default base is the image's repository, mlopskit's the script's stem"),
    Allowed("CreateTrainingJob", "InputDataConfig.*.InputMode", sdk=ABSENT, mlopskit=Is("File"),
            reason="a channel without InputMode takes AlgorithmSpecification."
                   "TrainingInputMode, which both sides set to File: the same mode"),
    Allowed("CreateTrainingJob", "DebugHookConfig",
            sdk=Is({"S3OutputPath": f"s3://{BUCKET}/", "CollectionConfigurations": []}),
            mlopskit=ABSENT,
            reason="the SDK switches SageMaker Debugger's default hook on for every framework "
                   "estimator; it only writes debugging data beside the output (and the "
                   "scikit-learn container has no Debugger hook): the job's inputs, code, "
                   "model and outputs are the same"),
    Allowed("CreateTrainingJob", "ProfilerConfig",
            sdk=Is({"S3OutputPath": f"s3://{BUCKET}/", "DisableProfiler": False}),
            mlopskit=ABSENT,
            reason="the SDK asks for the profiler's default system monitoring; it records "
                   "instance metrics for Debugger reports and changes nothing in the job"),
]


def sdk_fit(sides):
    from sagemaker.inputs import TrainingInput
    from sagemaker.sklearn import SKLearn

    estimator = SKLearn(
        entry_point="train.py", source_dir=str(sides.source_dir), framework_version="1.2-1",
        py_version="py3", instance_type="ml.m5.large", instance_count=1, role=ROLE_ARN,
        # copies: the SDK adds its sagemaker_* keys to the dict it is given
        hyperparameters=copy.deepcopy(HYPERPARAMETERS), metric_definitions=copy.deepcopy(METRICS),
        environment=dict(ENVIRONMENT), tags=sdk_tags(TAGS), sagemaker_session=sides.sdk_session())
    estimator.fit({"train": TrainingInput(TRAIN_URI, content_type="text/csv",
                                          distribution="ShardedByS3Key"),
                   "test": TEST_URI}, wait=False, logs=False)


def mlopskit_fit(sides):
    estimator = mlopskit.Estimator(
        entry_point="train.py", source_dir=sides.source_dir, framework="sklearn",
        framework_version="1.2-1", instance_type="ml.m5.large", instance_count=1,
        hyperparameters=HYPERPARAMETERS, metric_definitions=METRICS,
        environment=ENVIRONMENT, tags=TAGS, session=sides.mlopskit_session())
    estimator.fit({"train": mlopskit.TrainingInput(TRAIN_URI, content_type="text/csv",
                                                   distribution="ShardedByS3Key"),
                   "test": TEST_URI}, wait=False, logs=False)


def test_training_operations(sides):
    recording = sides.run(sdk_fit, mlopskit_fit)
    assert_operations(recording, ["CreateTrainingJob"])


def test_create_training_job(sides):
    recording = sides.run(sdk_fit, mlopskit_fit)
    compare(recording, "CreateTrainingJob", RULES)
    # Same key pattern after the job names are swapped for tokens; same archive inside too.
    submit = "HyperParameters.sagemaker_submit_directory"
    assert_same_code(sides.s3, value_at(recording.sdk.request("CreateTrainingJob"), submit),
                     value_at(recording.mlopskit.request("CreateTrainingJob"), submit))


def test_rules_are_documented():
    assert_documented(RULES)
