"""The pipeline of issue 5, end to end on the local backend:
preprocess -> train -> evaluate (property file) -> condition -> register | fail.

The processing scripts hard-code /opt/ml/processing paths, as real ones do. The same
pipeline runs from the Python objects and from its own definition, with the same results;
a second run of it is served from the cache on every cacheable step.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlopskit
from mlopskit.errors import CapabilityError, JobFailedError
from mlopskit.pipeline import (
    CacheConfig,
    ConditionStep,
    ExecutionVariables,
    FailStep,
    GreaterThanOrEqualTo,
    Join,
    JsonGet,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
    Pipeline,
    ProcessingStep,
    PropertyFile,
    RegisterModelStep,
    TrainingStep,
)

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPTS = Path(__file__).parent.parent / "scripts"
CACHEABLE = ("Preprocess", "Train", "Evaluate")


def _raw_data(session: mlopskit.Session) -> str:
    rng = np.random.default_rng(11)
    features = rng.normal(size=(400, 3))
    labels = (features @ np.array([1.5, -1.0, 0.5]) > 0).astype(int)
    frame = pd.DataFrame(features, columns=["a", "b", "c"]).assign(label=labels)
    prefix = f"s3://{session.default_bucket}/demo/raw/"
    session.backend.objects.put_bytes(frame.iloc[:200].to_csv(index=False).encode(),
                                      prefix + "part-1.csv")
    session.backend.objects.put_bytes(frame.iloc[200:].to_csv(index=False).encode(),
                                      prefix + "part-2.csv")
    return prefix


def demo_pipeline(session: mlopskit.Session, name: str = "churn-demo") -> Pipeline:
    """The documented example pipeline (docs/pipelines.md)."""
    bucket = session.default_bucket
    input_data = ParameterString("InputDataUrl", default_value=_raw_data(session))
    instance_type = ParameterString("TrainingInstanceType", default_value="ml.m5.xlarge")
    instance_count = ParameterInteger("TrainingInstanceCount", default_value=1)
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")
    threshold = ParameterFloat("AccuracyThreshold", default_value=0.8)
    cache = CacheConfig(expire_after="P30D")

    processor = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.xlarge")
    preprocess = ProcessingStep(
        "Preprocess", processor, SCRIPTS / "pipeline" / "preprocess.py",
        inputs=[mlopskit.ProcessingInput(input_data, "/opt/ml/processing/input")],
        outputs=[mlopskit.ProcessingOutput(
                     "/opt/ml/processing/train", output_name="train",
                     destination=Join(on="/", values=[
                         f"s3://{bucket}/preprocess",
                         ExecutionVariables.PIPELINE_EXECUTION_ID, "train"])),
                 mlopskit.ProcessingOutput("/opt/ml/processing/test", output_name="test")],
        cache_config=cache)
    estimator = mlopskit.Estimator(
        str(SCRIPTS / "pipeline" / "train.py"), image_uri=IMAGE,
        instance_type=instance_type, instance_count=instance_count,
        hyperparameters={"regularisation": 1.0},
        metric_definitions=[{"Name": "train_accuracy", "Regex": "train_accuracy=([0-9.]+)"}])
    train = TrainingStep("Train", estimator,
                         inputs={"train": preprocess.properties.output("train")},
                         cache_config=cache)
    report = PropertyFile("EvaluationReport", output_name="evaluation",
                          path="evaluation.json")
    evaluate = ProcessingStep(
        "Evaluate", processor, SCRIPTS / "pipeline" / "evaluate.py",
        inputs=[mlopskit.ProcessingInput(train.properties.model_data,
                                         "/opt/ml/processing/model"),
                mlopskit.ProcessingInput(preprocess.properties.output("test"),
                                         "/opt/ml/processing/test")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/evaluation",
                                           output_name="evaluation")],
        property_files=[report], cache_config=cache)
    model = mlopskit.Model(train.properties.model_data, image_uri=IMAGE,
                           entry_point="only_model_fn.py", source_dir=SCRIPTS / "inference")
    register = RegisterModelStep(
        "RegisterModel", "churn-models", model, approval_status=approval,
        model_metrics=Join(on="/", values=[evaluate.properties.output("evaluation"),
                                           "evaluation.json"]),
        metadata={"owner": "mlopskit"})
    check = ConditionStep(
        "CheckAccuracy",
        [GreaterThanOrEqualTo(JsonGet(evaluate, report, "metrics.accuracy.value"), threshold)],
        if_steps=[register],
        else_steps=[FailStep("AccuracyTooLow", Join(on=" ", values=[
            "Accuracy below threshold", threshold]))])
    return Pipeline(name, parameters=[input_data, instance_type, instance_count, approval,
                                      threshold],
                    steps=[preprocess, train, evaluate, check], session=session)


def _summary(session: mlopskit.Session, execution) -> dict:
    steps = {s.name: s for s in execution.steps()}
    report_uri = (steps["Evaluate"].properties["ProcessingOutputConfig"]["Outputs"][0]
                  ["S3Output"]["S3Uri"]).rstrip("/") + "/evaluation.json"
    report = json.loads(session.backend.objects.get_bytes(report_uri))
    return {"status": execution.status,
            "steps": {name: step.status for name, step in steps.items()},
            "accuracy": report["metrics"]["accuracy"]["value"],
            "metrics": steps["Train"].properties["FinalMetricDataList"][0]["Value"]}


@pytest.fixture
def group(local_session):
    return mlopskit.ModelPackageGroup("churn-models", session=local_session).create()


def test_the_demo_pipeline_runs_end_to_end(local_session, group):
    pipeline = demo_pipeline(local_session)
    pipeline.upsert()
    execution = pipeline.start({"ModelApprovalStatus": "Approved"}).wait(timeout=900)
    summary = _summary(local_session, execution)
    assert summary["steps"] == {"Preprocess": "Succeeded", "Train": "Succeeded",
                                "Evaluate": "Succeeded", "CheckAccuracy": "Succeeded",
                                "RegisterModel": "Succeeded"}
    assert summary["accuracy"] >= 0.8
    package = group.latest()
    assert package is not None
    assert package.metrics == {"accuracy": summary["accuracy"]}  # read from the report
    assert package.metadata == {"owner": "mlopskit"}
    # the preprocess output went where its Join said, under this execution's id
    train_input = execution.step("Train").properties["InputDataConfig"][0]
    execution_id = execution.arn.rsplit("/", 1)[1]
    assert train_input["DataSource"]["S3DataSource"]["S3Uri"] == \
        f"s3://{local_session.default_bucket}/preprocess/{execution_id}/train"


@pytest.mark.slow
def test_the_definition_runs_with_identical_results(local_session, group):
    pipeline = demo_pipeline(local_session)
    pipeline.upsert()
    direct = _summary(local_session, pipeline.start().wait(timeout=900))
    loaded = Pipeline.from_definition(pipeline.definition(), name="churn-demo-json",
                                      session=local_session)
    loaded.upsert()
    again = _summary(local_session, loaded.start().wait(timeout=900))
    assert again == direct
    assert [p.version for p in group.versions(newest_first=False)] == [1, 2]


@pytest.mark.slow
def test_a_second_run_hits_the_cache_on_every_cacheable_step(local_session, group):
    pipeline = demo_pipeline(local_session)
    pipeline.upsert()
    first = pipeline.start().wait(timeout=900)
    second = pipeline.start().wait(timeout=900)
    for name in CACHEABLE:
        assert second.step(name).cache_hit, name
        assert second.step(name).cache_source == first.arn
        assert not first.step(name).cache_hit
    assert not second.step("RegisterModel").cache_hit  # not cacheable: a new version
    assert _summary(local_session, second) == _summary(local_session, first)
    assert len(local_session.backend.training.names(None)) == 1


@pytest.mark.slow
def test_the_else_branch_fails_with_the_message(local_session, group):
    pipeline = demo_pipeline(local_session)
    pipeline.upsert()
    with pytest.raises(JobFailedError, match=r"AccuracyTooLow failed: Accuracy below "
                                             r"threshold 1\.01"):
        pipeline.start({"AccuracyThreshold": 1.01}).wait(timeout=900)
    assert group.latest(None) is None


@pytest.mark.slow
def test_a_processing_script_with_fixed_paths_is_left_untouched(local_session, group):
    script = SCRIPTS / "pipeline" / "preprocess.py"
    before = script.read_bytes()
    pipeline = demo_pipeline(local_session)
    pipeline.upsert()
    pipeline.start().wait(timeout=900)
    assert script.read_bytes() == before


REFERENCE = Path(__file__).resolve().parents[1] / "data" / "sdk-v2-pipeline-definition.json"


@pytest.mark.slow
def test_a_definition_made_by_the_official_sdk_runs(local_session, tmp_path):
    """The SDK's reference pipeline, with its code objects put where it says and its
    training step in script mode (its built-in algorithm image cannot run locally)."""
    from mlopskit._archive import make_tar_gz

    definition = json.loads(REFERENCE.read_text())
    objects = local_session.backend.objects
    objects.make_bucket("dummy-mlopskit-bucket")
    data = pd.read_csv(io.StringIO(objects.get_bytes(_raw_data(local_session) + "part-1.csv")
                                   .decode()))
    objects.put_bytes(data.to_csv(index=False).encode(),
                      "s3://dummy-mlopskit-bucket/data/raw/part-1.csv")
    for script in ("preprocess.py", "evaluate.py"):
        objects.put_file(SCRIPTS / "pipeline" / script,
                         f"s3://dummy-mlopskit-bucket/code/{script}")
    make_tar_gz(SCRIPTS / "pipeline" / "train.py", tmp_path / "sourcedir.tar.gz")
    objects.put_file(tmp_path / "sourcedir.tar.gz",
                     "s3://dummy-mlopskit-bucket/code/sourcedir.tar.gz")
    train = definition["Steps"][1]["Arguments"]
    train["HyperParameters"].update({
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": '"s3://dummy-mlopskit-bucket/code/sourcedir.tar.gz"'})
    mlopskit.ModelPackageGroup("mlopskit-demo-group", session=local_session).create()

    pipeline = Pipeline.from_definition(definition, name="sdk-made", session=local_session)
    pipeline.upsert()
    execution = pipeline.start({"AccuracyThreshold": 0.5}).wait(timeout=900)
    assert {s.name: s.status for s in execution.steps()} == {
        "Preprocess": "Succeeded", "Train": "Succeeded", "Evaluate": "Succeeded",
        "CheckAccuracy": "Succeeded", "RegisterModel-RegisterModel": "Succeeded"}
    package = mlopskit.ModelPackageGroup.get("mlopskit-demo-group",
                                             session=local_session).latest(None)
    assert package is not None and set(package.metrics) == {"accuracy"}
    assert package.metadata == {"git_sha": "deadbeef", "owner": "mlopskit"}


def test_an_sdk_training_step_with_a_built_in_image_is_refused_before_anything_runs(
        local_session):
    """The SDK's reference pipeline as written: its Train step uses the built-in XGBoost
    algorithm image, after a Preprocess step. Refused at start (and by validate), naming
    the step and the image, before Preprocess has done any work."""
    definition = json.loads(REFERENCE.read_text())
    image = definition["Steps"][1]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    pipeline = Pipeline.from_definition(definition, name="built-in", session=local_session)
    pipeline.upsert()
    message = rf"step 'Train': training image '{re.escape(image)}' would run its own built-in"
    with pytest.raises(CapabilityError, match=message) as info:
        pipeline.start()
    assert "entry_point" in str(info.value) and "aws backend" in str(info.value)
    with pytest.raises(CapabilityError, match=message):
        pipeline.validate()
    assert pipeline.executions() == []
    assert local_session.backend.processing.names(None) == []
