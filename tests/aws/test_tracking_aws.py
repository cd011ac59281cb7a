"""A training job on SageMaker as an MLflow run: its metric series is read from the job's
CloudWatch log events (moto holds them), each value with its event's time, and recorded
when a wait sees the job end. The tracking store is a SQLite one: what is tested here is
the AWS side, not the store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import mlopskit

from ..tracking_support import tracked_aws_session

pytest.importorskip("mlflow")

METRICS = [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9.]+)"},
           {"Name": "train:loss", "Regex": r"train:loss=([0-9.]+)"}]


def test_an_ended_job_records_its_cloudwatch_series_on_its_run(
        aws_session: mlopskit.AwsSession, moto_lifecycle: Any, tmp_path: Path) -> None:
    session = tracked_aws_session(aws_session, f"sqlite:///{tmp_path / 'mlflow.db'}")
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('hello')\n")
    moto_lifecycle.describes_until_done = 4
    job = mlopskit.Estimator(
        entry_point="train.py", source_dir=code, instance_type="ml.m5.large",
        image_uri="111122223333.dkr.ecr.us-east-1.amazonaws.com/t:1",
        metric_definitions=METRICS, session=session).fit(
            wait=False, logs=False, experiment="churn", run_name="on-sagemaker")
    logs = session.backend.clients.logs
    group = "/aws/sagemaker/TrainingJobs"
    stream = f"{job.name}/algo-1-1700000000"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    start = int(time.time() * 1000)  # CloudWatch (and moto) drop events older than 14 days
    lines = ["epoch 1 train:loss=0.9 validation:auc=0.71", "checkpoint saved",
             "epoch 2 train:loss=0.5 validation:auc=0.78", "epoch 3 validation:auc=0.80"]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": start + 1000 * i, "message": line} for i, line in enumerate(lines)])
    job.wait(timeout=600)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=session.tracking_uri)
    run = client.get_run(job.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "on-sagemaker"
    assert run.data.tags["mlopskit.status"] == "Completed"
    auc = client.get_metric_history(job.run_id, "validation:auc")
    assert [(m.step, m.value, m.timestamp) for m in auc] == [
        (1, 0.71, start), (2, 0.78, start + 2000), (3, 0.80, start + 3000)]
    loss = client.get_metric_history(job.run_id, "train:loss")
    assert [(m.step, m.value) for m in loss] == [(1, 0.9), (2, 0.5)]
    job.wait(timeout=600)  # a second wait records nothing twice
    assert len(client.get_metric_history(job.run_id, "validation:auc")) == 3
    session.close()
