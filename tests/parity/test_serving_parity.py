"""Deploying a framework model with an inference script, realtime and serverless, and
batch transform (docs/serving.md).

SDK: ``SKLearnModel(model_data, entry_point, source_dir, framework_version, ...)`` then
``deploy(initial_instance_count=1, instance_type=..., endpoint_name=..., wait=False)``,
``deploy(serverless_inference_config=ServerlessInferenceConfig(...))`` or
``transformer(...).transform(data, wait=False)``. mlopskit: ``Model(model_data,
entry_point, source_dir, framework="sklearn", framework_version)`` then
``deploy(RealtimeConfig(...))``, ``deploy(ServerlessConfig(...))`` or
``transformer(...).transform(data, wait=False)``. No ``image_uri`` on either side: each
resolves the framework's image itself.
"""

from __future__ import annotations

import pytest

import mlopskit

from .harness import (
    BUCKET,
    MODEL_URI,
    ROLE_ARN,
    SCORING_URI,
    STAMP,
    TAGS,
    Allowed,
    Is,
    Matches,
    Name,
    assert_documented,
    assert_operations,
    assert_same_code,
    compare,
    sdk_tags,
    value_at,
)

ENDPOINT = "iris"
SUBMIT_DIRECTORY = "PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY"


def _endpoint_config_name(operation: str) -> Allowed:
    return Allowed(
        operation, "EndpointConfigName", sdk=Is(ENDPOINT),
        mlopskit=Matches(rf"{ENDPOINT}-{STAMP}-[0-9a-f]+"),
        reason="the SDK names the endpoint config after the endpoint; mlopskit makes a new "
               "config per deployment, <endpoint>-<stamp>-<hex>, so a blue/green update can "
               "create the next one beside it (CreateEndpoint points at the config it made: "
               "checked separately)")


SUBMIT_DIRECTORY_RULE = dict(
    sdk=Matches(rf"s3://{BUCKET}/sagemaker-scikit-learn-{STAMP}/sourcedir\.tar\.gz"),
    mlopskit=Matches(rf"s3://{BUCKET}/mlopskit/code/[0-9a-f]{{64}}/sourcedir\.tar\.gz"),
    reason="the inference code's key: the SDK uploads it under a new timestamped prefix, "
           "mlopskit under the archive's SHA-256 (uploaded once); the archives hold the same "
           "files (checked by the test)")

ENDPOINT_RULES = [
    Name("CreateModel", "ModelName", sdk=rf"sagemaker-scikit-learn-{STAMP}",
         mlopskit=rf"{ENDPOINT}-{STAMP}-[0-9a-f]+-0",
         reason="each side generates the model's name: the SDK from the image's repository "
                "and a stamp, mlopskit from the endpoint config's name and the variant's "
                "index"),
    Allowed("CreateModel", SUBMIT_DIRECTORY, **SUBMIT_DIRECTORY_RULE),
    _endpoint_config_name("CreateEndpointConfig"),
    _endpoint_config_name("CreateEndpoint"),
]

TRANSFORM_RULES = [
    Name("CreateModel", "ModelName", sdk=rf"sagemaker-scikit-learn-{STAMP}",
         mlopskit=rf"transform-[0-9-]+-{STAMP}-[0-9a-f]+",
         reason="each side generates the model's name: the SDK from the image's repository "
                "and a stamp, mlopskit from the transform job's name, a stamp and a random "
                "tail"),
    Name("CreateTransformJob", "TransformJobName", sdk=rf"sagemaker-scikit-learn-{STAMP}",
         mlopskit=rf"transform-{STAMP}",
         reason="each side stamps a base name with the time to the millisecond; the SDK's "
                "default base is the image's repository, mlopskit's 'transform'"),
    Allowed("CreateModel", SUBMIT_DIRECTORY, **SUBMIT_DIRECTORY_RULE),
]


def _sdk_model(sides):
    from sagemaker.sklearn import SKLearnModel

    return SKLearnModel(model_data=MODEL_URI, role=ROLE_ARN, entry_point="inference.py",
                        source_dir=str(sides.serve_dir), framework_version="1.2-1",
                        sagemaker_session=sides.sdk_session())


def _mlopskit_model(sides):
    return mlopskit.Model(MODEL_URI, entry_point="inference.py", source_dir=sides.serve_dir,
                          framework="sklearn", framework_version="1.2-1",
                          session=sides.mlopskit_session())


def sdk_realtime(sides):
    _sdk_model(sides).deploy(initial_instance_count=1, instance_type="ml.m5.large",
                             endpoint_name=ENDPOINT, tags=sdk_tags(TAGS), wait=False)


def mlopskit_realtime(sides):
    _mlopskit_model(sides).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                  endpoint_name=ENDPOINT, tags=TAGS)


def sdk_realtime_captured(sides):
    from sagemaker.model_monitor import DataCaptureConfig

    _sdk_model(sides).deploy(
        initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=ENDPOINT,
        tags=sdk_tags(TAGS), wait=False,
        data_capture_config=DataCaptureConfig(enable_capture=True, sampling_percentage=20,
                                              sagemaker_session=sides.sdk_session()))


def mlopskit_realtime_captured(sides):
    _mlopskit_model(sides).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name=ENDPOINT, tags=TAGS,
        data_capture_config=mlopskit.DataCaptureConfig(sampling_percent=20))


def sdk_serverless(sides):
    from sagemaker.serverless import ServerlessInferenceConfig

    _sdk_model(sides).deploy(
        serverless_inference_config=ServerlessInferenceConfig(memory_size_in_mb=2048,
                                                              max_concurrency=5),
        endpoint_name=ENDPOINT, tags=sdk_tags(TAGS), wait=False)


def mlopskit_serverless(sides):
    _mlopskit_model(sides).deploy(mlopskit.ServerlessConfig(memory_size_mb=2048,
                                                            max_concurrency=5),
                                  endpoint_name=ENDPOINT, tags=TAGS)


def sdk_transform(sides):
    transformer = _sdk_model(sides).transformer(
        instance_count=1, instance_type="ml.m5.large", strategy="MultiRecord",
        assemble_with="Line", accept="text/csv", max_concurrent_transforms=2, max_payload=6,
        tags=sdk_tags(TAGS))
    transformer.transform(SCORING_URI, content_type="text/csv", split_type="Line",
                          wait=False, logs=False)


def mlopskit_transform(sides):
    transformer = _mlopskit_model(sides).transformer(
        instance_count=1, instance_type="ml.m5.large", strategy="MultiRecord",
        split_type="Line", assemble_with="Line", accept="text/csv",
        max_concurrent_transforms=2, max_payload_mb=6, tags=TAGS)
    transformer.transform(SCORING_URI, content_type="text/csv", wait=False)


def _same_code(sides, recording):
    assert_same_code(sides.s3, value_at(recording.sdk.request("CreateModel"), SUBMIT_DIRECTORY),
                     value_at(recording.mlopskit.request("CreateModel"), SUBMIT_DIRECTORY))


def _endpoint_uses_its_config(recording):
    for side in (recording.sdk, recording.mlopskit):
        assert (side.request("CreateEndpoint")["EndpointConfigName"]
                == side.request("CreateEndpointConfig")["EndpointConfigName"]), side.side


ENDPOINT_OPERATIONS = ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]


def test_realtime_operations(sides):
    recording = sides.run(sdk_realtime, mlopskit_realtime)
    assert_operations(recording, ENDPOINT_OPERATIONS)
    _endpoint_uses_its_config(recording)


@pytest.mark.parametrize("operation", ENDPOINT_OPERATIONS)
def test_realtime_request(sides, operation):
    recording = sides.run(sdk_realtime, mlopskit_realtime)
    compare(recording, operation, ENDPOINT_RULES)
    if operation == "CreateModel":
        _same_code(sides, recording)


def test_realtime_with_data_capture(sides):
    """Data capture with its defaults but the sampling share (docs/serving.md)."""
    recording = sides.run(sdk_realtime_captured, mlopskit_realtime_captured)
    assert_operations(recording, ENDPOINT_OPERATIONS)
    compare(recording, "CreateEndpointConfig", ENDPOINT_RULES)


def test_serverless_operations(sides):
    recording = sides.run(sdk_serverless, mlopskit_serverless)
    assert_operations(recording, ENDPOINT_OPERATIONS)
    _endpoint_uses_its_config(recording)


@pytest.mark.parametrize("operation", ENDPOINT_OPERATIONS)
def test_serverless_request(sides, operation):
    recording = sides.run(sdk_serverless, mlopskit_serverless)
    compare(recording, operation, ENDPOINT_RULES)
    if operation == "CreateModel":
        _same_code(sides, recording)


def test_transform_operations(sides):
    recording = sides.run(sdk_transform, mlopskit_transform)
    assert_operations(recording, ["CreateModel", "CreateTransformJob"])


@pytest.mark.parametrize("operation", ["CreateModel", "CreateTransformJob"])
def test_transform_request(sides, operation):
    recording = sides.run(sdk_transform, mlopskit_transform)
    compare(recording, operation, TRANSFORM_RULES)
    if operation == "CreateModel":
        _same_code(sides, recording)


def test_rules_are_documented():
    assert_documented(ENDPOINT_RULES + TRANSFORM_RULES)

