"""A processing job running a script (docs/processing.md).

SDK: ``SKLearnProcessor(framework_version, ...).run(code, inputs, outputs, arguments,
wait=False)``, or ``ScriptProcessor(image_uri, command=["python3"], ...)``. mlopskit:
``Processor(framework="sklearn", ...)`` or ``Processor(image_uri=...)``, then ``run(...,
wait=False)``. Same script, inputs, outputs, arguments, environment, limits and tags.
"""

from __future__ import annotations

import pytest

import mlopskit

from .harness import (
    BUCKET,
    RAW_URI,
    ROLE_ARN,
    STAMP,
    TAGS,
    Name,
    assert_documented,
    assert_operations,
    assert_same_code,
    compare,
    sdk_tags,
)

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ARGUMENTS = ["--test-fraction", "0.4", "--note", "two words"]
ENVIRONMENT = {"MODE": "full"}
TRAIN_OUTPUT = "/opt/ml/processing/train"
TEST_DESTINATION = f"s3://{BUCKET}/prepared/test"

RULES = [
    Name("CreateProcessingJob", "ProcessingJobName",
         sdk=rf"sagemaker-scikit-learn-{STAMP}", mlopskit=rf"preprocess-{STAMP}",
         reason="each side stamps a base name with the time to the millisecond; the SDK's "
                "default base is the image's repository, mlopskit's the script's stem"),
]


def sdk_run(style):
    def run(sides):
        from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
        from sagemaker.sklearn import SKLearnProcessor

        common = {"role": ROLE_ARN, "instance_type": "ml.m5.xlarge", "instance_count": 1,
                  "env": dict(ENVIRONMENT), "max_runtime_in_seconds": 3600,
                  "tags": sdk_tags(TAGS), "sagemaker_session": sides.sdk_session()}
        if style == "framework":
            processor = SKLearnProcessor(framework_version="1.2-1", **common)
        else:
            processor = ScriptProcessor(image_uri=IMAGE, command=["python3"], **common)
        processor.run(
            code=str(sides.preprocess),
            inputs=[ProcessingInput(RAW_URI, "/opt/ml/processing/input/raw")],
            outputs=[ProcessingOutput(TRAIN_OUTPUT, output_name="train"),
                     ProcessingOutput("/opt/ml/processing/test", TEST_DESTINATION,
                                      output_name="test")],
            arguments=list(ARGUMENTS), wait=False, logs=False)
    return run


def mlopskit_run(style):
    def run(sides):
        image = ({"framework": "sklearn", "framework_version": "1.2-1"}
                 if style == "framework" else {"image_uri": IMAGE, "command": ["python3"]})
        processor = mlopskit.Processor(**image, instance_type="ml.m5.xlarge", instance_count=1,
                                       environment=ENVIRONMENT, max_runtime=3600, tags=TAGS,
                                       session=sides.mlopskit_session())
        processor.run(
            sides.preprocess,
            inputs=[mlopskit.ProcessingInput(RAW_URI, "/opt/ml/processing/input/raw")],
            outputs=[mlopskit.ProcessingOutput(TRAIN_OUTPUT, output_name="train"),
                     mlopskit.ProcessingOutput("/opt/ml/processing/test", TEST_DESTINATION,
                                               output_name="test")],
            arguments=ARGUMENTS, wait=False, logs=False)
    return run


STYLES = ["framework", "image_uri"]  # SKLearnProcessor, ScriptProcessor


@pytest.mark.parametrize("style", STYLES)
def test_processing_operations(sides, style):
    recording = sides.run(sdk_run(style), mlopskit_run(style))
    assert_operations(recording, ["CreateProcessingJob"])


@pytest.mark.parametrize("style", STYLES)
def test_create_processing_job(sides, style):
    recording = sides.run(sdk_run(style), mlopskit_run(style))
    compare(recording, "CreateProcessingJob", RULES)

    def code(request):
        return next(i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]
                    if i["InputName"] == "code")

    assert_same_code(sides.s3, code(recording.sdk.request("CreateProcessingJob")),
                     code(recording.mlopskit.request("CreateProcessingJob")))


def test_rules_are_documented():
    assert_documented(RULES)
