"""Job steps on the local engine: train -> condition -> model -> register -> transform,
caching, retries, and the same run from the pipeline's own definition."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlopskit
from mlopskit.errors import JobFailedError
from mlopskit.pipeline import (
    CacheConfig,
    ConditionStep,
    FailStep,
    GreaterThanOrEqualTo,
    ModelStep,
    ParameterFloat,
    ParameterString,
    Pipeline,
    RegisterModelStep,
    RetryPolicy,
    TrainingStep,
    TransformStep,
)

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPTS = Path(__file__).parent.parent / "scripts"


def _data(session: mlopskit.Session) -> tuple[str, str]:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(200, 3))
    labels = (features @ np.array([1.0, -1.0, 0.5]) > 0).astype(int)
    frame = pd.DataFrame(features, columns=["a", "b", "c"]).assign(label=labels)
    bucket = session.default_bucket
    session.backend.objects.put_bytes(frame.to_csv(index=False).encode(),
                                      f"s3://{bucket}/jobs/train/data.csv")
    session.backend.objects.put_bytes(
        pd.DataFrame(features[:10]).to_csv(index=False, header=False).encode(),
        f"s3://{bucket}/jobs/score/rows.csv")
    return f"s3://{bucket}/jobs/train/", f"s3://{bucket}/jobs/score/"


def _pipeline(session: mlopskit.Session, *, retries: bool = False) -> Pipeline:
    train_uri, score_uri = _data(session)
    mlopskit.ModelPackageGroup("pipeline-models", session=session).create()
    data = ParameterString("TrainData", default_value=train_uri)
    regularisation = ParameterFloat("C", default_value=1.0)
    threshold = ParameterFloat("MinAccuracy", default_value=0.8)
    approval = ParameterString("Approval", default_value="PendingManualApproval")
    estimator = mlopskit.Estimator(
        str(SCRIPTS / "pipeline" / "train.py"), image_uri=IMAGE, instance_type="ml.m5.large",
        hyperparameters={"regularisation": regularisation},
        metric_definitions=[{"Name": "train_accuracy", "Regex": "train_accuracy=([0-9.]+)"}])
    train = TrainingStep("Train", estimator, inputs={"train": data},
                         cache_config=CacheConfig(expire_after="P1D"),
                         retry_policies=[RetryPolicy(("SageMaker.JOB_INTERNAL_ERROR",),
                                                     max_attempts=2)] if retries else None)
    model = mlopskit.Model(train.properties.model_data, image_uri=IMAGE,
                           entry_point="only_model_fn.py", source_dir=SCRIPTS / "inference")
    create = ModelStep("CreateModel", model)
    register = RegisterModelStep("Register", "pipeline-models", model,
                                 approval_status=approval, metadata={"team": "tests"})
    score = TransformStep("Score", model.transformer(1, "ml.m5.large", accept="text/csv"),
                          score_uri, model_name=create.properties.model_name)
    check = ConditionStep(
        "Good", [GreaterThanOrEqualTo(train.properties.metric("train_accuracy"), threshold)],
        if_steps=[create, register, score], else_steps=[FailStep("NotGood", "too weak")])
    return Pipeline("jobs", parameters=[data, regularisation, threshold, approval],
                    steps=[train, check], session=session)


def _outcome(execution: mlopskit.pipeline.execution.PipelineExecution) -> dict[str, str]:
    return {s.name: s.status for s in execution.steps()}


def test_train_register_and_score_end_to_end(local_session):
    pipeline = _pipeline(local_session)
    pipeline.upsert()
    execution = pipeline.start({"Approval": "Approved"}).wait(timeout=600)
    assert _outcome(execution) == {"Train": "Succeeded", "Good": "Succeeded",
                                   "CreateModel": "Succeeded", "Register": "Succeeded",
                                   "Score": "Succeeded"}
    train = execution.step("Train")
    assert train.properties["FinalMetricDataList"][0]["MetricName"] == "train_accuracy"
    group = mlopskit.ModelPackageGroup.get("pipeline-models", session=local_session)
    package = group.latest()
    assert package is not None and package.version == 1
    assert package.model.model_data == train.properties["ModelArtifacts"]["S3ModelArtifacts"]
    assert execution.step("Register").properties["ModelPackageArn"] == package.arn
    score = execution.step("Score").properties
    out = f"{score['TransformOutput']['S3OutputPath'].rstrip('/')}/rows.csv.out"
    answers = local_session.backend.objects.get_bytes(out).decode().split()
    assert len(answers) == 10 and set(answers) <= {"0", "1"}
    execution_id = execution.arn.rsplit("/", 1)[1]
    assert f"/jobs/{execution_id}/Score" in score["TransformOutput"]["S3OutputPath"]


def test_the_else_branch_fails_the_execution(local_session):
    pipeline = _pipeline(local_session)
    pipeline.upsert()
    with pytest.raises(JobFailedError, match="Step NotGood failed: too weak"):
        pipeline.start({"MinAccuracy": 1.5}).wait(timeout=600)
    assert mlopskit.ModelPackageGroup.get("pipeline-models",
                                          session=local_session).latest(None) is None


@pytest.mark.slow
def test_a_second_run_hits_the_cache_and_a_changed_argument_misses_it(local_session):
    pipeline = _pipeline(local_session)
    pipeline.upsert()
    first = pipeline.start().wait(timeout=600)
    second = pipeline.start().wait(timeout=600)
    third = pipeline.start({"C": 0.5}).wait(timeout=600)
    assert not first.step("Train").cache_hit
    assert second.step("Train").cache_hit
    assert second.step("Train").cache_source == first.arn
    assert second.step("Train").properties["ModelArtifacts"] == \
        first.step("Train").properties["ModelArtifacts"]
    assert not third.step("Train").cache_hit
    jobs = local_session.backend.training.names(None)
    assert len(jobs) == 2  # the cached run started no job


@pytest.mark.slow
def test_the_definition_runs_the_same_as_the_objects(local_session):
    pipeline = _pipeline(local_session)
    pipeline.upsert()
    direct = pipeline.start().wait(timeout=600)
    loaded = Pipeline.from_definition(pipeline.definition(), name="jobs-from-json",
                                      session=local_session)
    loaded.upsert()
    again = loaded.start().wait(timeout=600)
    assert _outcome(again) == _outcome(direct)
    assert again.step("Train").properties["FinalMetricDataList"][0]["Value"] == \
        direct.step("Train").properties["FinalMetricDataList"][0]["Value"]
    assert not again.step("Train").cache_hit  # another pipeline: its own cache


@pytest.mark.slow
def test_a_failed_job_is_retried_by_its_policy(local_session, tmp_path):
    pipeline = _pipeline(local_session, retries=True)
    definition = json.loads(pipeline.definition())
    # a channel with no CSV: the script fails; the policy retries it twice, then gives up
    empty = f"s3://{local_session.default_bucket}/jobs/empty/"
    local_session.backend.objects.put_bytes(b"not,a,csv\n", f"{empty}readme.txt")
    pipeline.upsert()
    with pytest.raises(JobFailedError, match="Step Train failed: training job"):
        pipeline.start({"TrainData": empty}).wait(timeout=600)
    train = pipeline.executions()[0].step("Train")
    assert train.attempts == 3  # the first attempt and max_attempts=2 retries
    assert train.job is not None and train.job.endswith("-Train-3")
    assert definition["Steps"][0]["RetryPolicies"][0]["ExceptionType"] == [
        "SageMaker.JOB_INTERNAL_ERROR"]
