"""A pipeline: processing -> training -> condition on a training metric -> register the
model (or fail), upserted and started (docs/pipelines.md).

SDK: ``PipelineSession`` with ``ProcessingStep(step_args=SKLearnProcessor.run(...))``,
``TrainingStep(step_args=SKLearn.fit(...))``, ``ConditionStep`` on
``FinalMetricDataList['train_accuracy'].Value``, ``ModelStep(step_args=SKLearnModel.register
(...))`` and ``FailStep``; ``pipeline.upsert(role_arn, tags)`` and ``pipeline.start(...)``.
mlopskit: the same steps from ``mlopskit.pipeline`` with ``Processor``, ``Estimator`` and
``Model``; ``pipeline.upsert(tags=...)`` and ``pipeline.start(...)``. Same parameters,
scripts, instance types, metric, threshold, group and tags.
"""

from __future__ import annotations

import copy

import pytest

import mlopskit

from .harness import (
    ABSENT,
    BUCKET,
    RAW_URI,
    ROLE_ARN,
    STAMP,
    TAGS,
    Allowed,
    Is,
    Matches,
    assert_documented,
    assert_operations,
    assert_same_code,
    compare,
    parsed,
    same_rendering,
    sdk_tags,
    value_at,
)

PIPELINE = "churn-demo"
GROUP = "churn"
HYPERPARAMETERS = {"n-estimators": 50, "criterion": "gini"}
METRICS = [{"Name": "train_accuracy", "Regex": "train_accuracy=([0-9.]+)"}]
DEFAULTS = {"InputDataUrl": RAW_URI, "TrainingInstanceType": "ml.m5.xlarge",
            "ModelApprovalStatus": "PendingManualApproval", "AccuracyThreshold": 0.8}
OVERRIDES = {"ModelApprovalStatus": "Approved"}

DEFINITION = "PipelineDefinition"
PREPROCESS = f"{DEFINITION}.Steps.0"
TRAIN = f"{DEFINITION}.Steps.1"
REGISTER = f"{DEFINITION}.Steps.2.Arguments.IfSteps.0"
CODE_INPUT = f"{PREPROCESS}.Arguments.ProcessingInputs.1.S3Input.S3Uri"
TRAIN_CODE = f"{TRAIN}.Arguments.HyperParameters.sagemaker_submit_directory"
REGISTER_CODE = (f"{REGISTER}.Arguments.InferenceSpecification.Containers.0.Environment."
                 "SAGEMAKER_SUBMIT_DIRECTORY")

def _same_values(sdk: list[dict[str, str]], mlopskit: list[dict[str, str]]) -> bool:
    def values(given: list[dict[str, str]]) -> dict[str, str]:
        return {**{k: str(v) for k, v in DEFAULTS.items()},
                **{p["Name"]: p["Value"] for p in given}}

    return values(sdk) == values(mlopskit) and len(mlopskit) in (len(sdk), len(DEFAULTS))


RULES = [
    Allowed("CreatePipeline", CODE_INPUT,
            sdk=Matches(rf"s3://{BUCKET}/{PIPELINE}/code/[0-9a-f]{{64}}/preprocess\.py"),
            mlopskit=Matches(rf"s3://{BUCKET}/{PIPELINE}/code/[0-9a-f]{{16}}/preprocess\.py"),
            reason="both address the processing script by a digest of its content under "
                   "<pipeline>/code/; the SDK's is 64 hex digits, mlopskit's 16 (same file: "
                   "checked by the test)"),
    Allowed("CreatePipeline",
            f"{PREPROCESS}.Arguments.ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
            both=same_rendering,
            both_means="both Std:Join render the same s3://<bucket>/<pipeline>/<execution "
                       "id>/Preprocess/output/train",
            reason="the default output destination is the same string at run time; the SDK "
                   "joins 's3:/', bucket and pipeline as separate values, mlopskit as one"),
    Allowed("CreatePipeline", TRAIN_CODE,
            sdk=Matches(rf'"s3://{BUCKET}/{PIPELINE}/code/[0-9a-f]{{64}}/sourcedir\.tar\.gz"'),
            mlopskit=Matches(
                rf'"s3://{BUCKET}/{PIPELINE}/code/[0-9a-f]{{16}}/sourcedir\.tar\.gz"'),
            reason="both address the training code archive by a digest under <pipeline>/"
                   "code/; 64 hex digits for the SDK, 16 for mlopskit (same files: checked)"),
    Allowed("CreatePipeline", f"{TRAIN}.Arguments.InputDataConfig.0.InputMode", sdk=ABSENT,
            mlopskit=Is("File"),
            reason="a channel without InputMode takes AlgorithmSpecification."
                   "TrainingInputMode, File on both sides: the same mode"),
    Allowed("CreatePipeline", f"{TRAIN}.Arguments.DebugHookConfig",
            sdk=Is({"S3OutputPath": f"s3://{BUCKET}/", "CollectionConfigurations": []}),
            mlopskit=ABSENT,
            reason="the SDK switches SageMaker Debugger's default hook on for framework "
                   "estimators; debugging data only, the job is the same"),
    Allowed("CreatePipeline", f"{TRAIN}.Arguments.ProfilerConfig",
            sdk=Is({"S3OutputPath": f"s3://{BUCKET}/", "DisableProfiler": False}),
            mlopskit=ABSENT,
            reason="the SDK asks for the profiler's default system monitoring; instance "
                   "metrics only, the job is the same"),
    Allowed("CreatePipeline", f"{REGISTER}.Name", sdk=Is("RegisterModel-RegisterModel"),
            mlopskit=Is("RegisterModel"),
            reason="the SDK's ModelStep names the step it wraps <name>-RegisterModel; "
                   "mlopskit keeps the name given; no expression refers to it"),
    Allowed("CreatePipeline", REGISTER_CODE,
            sdk=Matches(rf"s3://{BUCKET}/sagemaker-scikit-learn-{STAMP}/sourcedir\.tar\.gz"),
            mlopskit=Matches(rf"s3://{BUCKET}/{PIPELINE}/code/[0-9a-f]{{16}}/sourcedir\.tar\.gz"),
            reason="the inference code's key: the SDK uploads it under a timestamped prefix "
                   "when the definition is built, mlopskit under <pipeline>/code/<digest> "
                   "(same files: checked)"),
    Allowed("CreatePipeline", f"{REGISTER}.Arguments.SkipModelValidation", sdk=Is("None"),
            mlopskit=ABSENT,
            reason="'None' (validate the model) is the API's default: the SDK spells it out"),
    Allowed("CreatePipeline", "ClientRequestToken", sdk=ABSENT,
            mlopskit=Matches(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
            reason="an idempotency token: mlopskit passes a fresh UUID, for the SDK botocore "
                   "fills one in after this hook; both requests carry one on the wire"),
    Allowed("StartPipelineExecution", "PipelineParameters", both=_same_values,
            both_means="every parameter has the same value once the definition's defaults "
                       "fill in what the SDK leaves out",
            reason="the SDK sends only the overrides; mlopskit sends every parameter, the "
                   "ones not overridden with their defaults' values, which is what SageMaker "
                   "uses for a parameter left out"),
    Allowed("StartPipelineExecution", "ClientRequestToken", sdk=ABSENT,
            mlopskit=Matches(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
            reason="an idempotency token: mlopskit passes a fresh UUID, for the SDK botocore "
                   "fills one in after this hook; both requests carry one on the wire"),
]


def sdk_pipeline(sides):
    from sagemaker.inputs import TrainingInput
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn import SKLearn, SKLearnModel, SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep

    session = sides.pipeline_session()
    input_data = ParameterString("InputDataUrl", default_value=DEFAULTS["InputDataUrl"])
    instance_type = ParameterString("TrainingInstanceType",
                                    default_value=DEFAULTS["TrainingInstanceType"])
    approval = ParameterString("ModelApprovalStatus",
                               default_value=DEFAULTS["ModelApprovalStatus"])
    threshold = ParameterFloat("AccuracyThreshold",
                               default_value=DEFAULTS["AccuracyThreshold"])
    cache = CacheConfig(enable_caching=True, expire_after="P30D")

    processor = SKLearnProcessor(framework_version="1.2-1", role=ROLE_ARN,
                                 instance_type="ml.m5.xlarge", instance_count=1,
                                 sagemaker_session=session)
    preprocess = ProcessingStep("Preprocess", cache_config=cache, step_args=processor.run(
        code=str(sides.preprocess),
        inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input")],
        outputs=[ProcessingOutput(output_name="train", source="/opt/ml/processing/train")]))
    estimator = SKLearn(entry_point="train.py", source_dir=str(sides.source_dir),
                        framework_version="1.2-1", py_version="py3",
                        instance_type=instance_type, instance_count=1, role=ROLE_ARN,
                        hyperparameters=copy.deepcopy(HYPERPARAMETERS),
                        metric_definitions=copy.deepcopy(METRICS), sagemaker_session=session)
    train = TrainingStep("Train", cache_config=cache, step_args=estimator.fit({
        "train": TrainingInput(
            preprocess.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri)}))
    model = SKLearnModel(model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
                         role=ROLE_ARN, entry_point="inference.py",
                         source_dir=str(sides.serve_dir), framework_version="1.2-1",
                         sagemaker_session=session)
    register = ModelStep("RegisterModel", step_args=model.register(
        content_types=["text/csv"], response_types=["text/csv"],
        inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
        model_package_group_name=GROUP, approval_status=approval, framework_version="1.2-1"))
    check = ConditionStep(
        "CheckAccuracy",
        conditions=[ConditionGreaterThanOrEqualTo(
            left=train.properties.FinalMetricDataList["train_accuracy"].Value,
            right=threshold)],
        if_steps=[register],
        else_steps=[FailStep("AccuracyTooLow", error_message=Join(
            on=" ", values=["Accuracy below threshold", threshold]))])
    pipeline = Pipeline(PIPELINE, parameters=[input_data, instance_type, approval, threshold],
                        steps=[preprocess, train, check], sagemaker_session=session)
    pipeline.upsert(role_arn=ROLE_ARN, tags=sdk_tags(TAGS))
    pipeline.start(parameters=dict(OVERRIDES))


def mlopskit_pipeline(sides):
    from mlopskit import pipeline as mp

    session = sides.mlopskit_session()
    input_data = mp.ParameterString("InputDataUrl", default_value=DEFAULTS["InputDataUrl"])
    instance_type = mp.ParameterString("TrainingInstanceType",
                                       default_value=DEFAULTS["TrainingInstanceType"])
    approval = mp.ParameterString("ModelApprovalStatus",
                                  default_value=DEFAULTS["ModelApprovalStatus"])
    threshold = mp.ParameterFloat("AccuracyThreshold",
                                  default_value=DEFAULTS["AccuracyThreshold"])
    cache = mp.CacheConfig(expire_after="P30D")

    processor = mlopskit.Processor(framework="sklearn", framework_version="1.2-1",
                                   instance_type="ml.m5.xlarge", session=session)
    preprocess = mp.ProcessingStep(
        "Preprocess", processor, str(sides.preprocess),
        inputs=[mlopskit.ProcessingInput(input_data, "/opt/ml/processing/input")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/train", output_name="train")],
        cache_config=cache)
    estimator = mlopskit.Estimator(
        "train.py", source_dir=sides.source_dir, framework="sklearn",
        framework_version="1.2-1", instance_type=instance_type, instance_count=1,
        hyperparameters=HYPERPARAMETERS, metric_definitions=METRICS, session=session)
    train = mp.TrainingStep("Train", estimator,
                            inputs={"train": preprocess.properties.output("train")},
                            cache_config=cache)
    model = mlopskit.Model(train.properties.model_data, entry_point="inference.py",
                           source_dir=sides.serve_dir, framework="sklearn",
                           framework_version="1.2-1", session=session)
    register = mp.RegisterModelStep(
        "RegisterModel", GROUP, model, approval_status=approval,
        content_types=["text/csv"], response_types=["text/csv"],
        inference_instance_types=["ml.m5.large"], transform_instance_types=["ml.m5.large"])
    check = mp.ConditionStep(
        "CheckAccuracy",
        [mp.GreaterThanOrEqualTo(train.properties.metric("train_accuracy"), threshold)],
        if_steps=[register],
        else_steps=[mp.FailStep("AccuracyTooLow", mp.Join(
            on=" ", values=["Accuracy below threshold", threshold]))])
    pipeline = mp.Pipeline(PIPELINE,
                           parameters=[input_data, instance_type, approval, threshold],
                           steps=[preprocess, train, check], session=session)
    pipeline.upsert(tags=TAGS)
    pipeline.start(OVERRIDES)


# The SDK warns that a PipelineSession starts no job: that is what these tests want.
pytestmark = pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning")


def test_pipeline_operations(sides):
    recording = sides.run(sdk_pipeline, mlopskit_pipeline)
    assert_operations(recording, ["CreatePipeline", "StartPipelineExecution"])


def test_create_pipeline(sides):
    compare(sides.run(sdk_pipeline, mlopskit_pipeline), "CreatePipeline", RULES)


def test_pipeline_code_is_the_same(sides):
    """The code each definition points at (different keys, allowed above) is the same."""
    recording = sides.run(sdk_pipeline, mlopskit_pipeline)
    for path in (CODE_INPUT, TRAIN_CODE, REGISTER_CODE):
        assert_same_code(sides.s3,
                         value_at(parsed(recording.sdk.request("CreatePipeline")), path),
                         value_at(parsed(recording.mlopskit.request("CreatePipeline")), path))


def test_start_pipeline_execution(sides):
    compare(sides.run(sdk_pipeline, mlopskit_pipeline), "StartPipelineExecution", RULES)


def test_rules_are_documented():
    assert_documented(RULES)
