"""The continuous-training loop of issue 6, on the local backend, with no real sleeping.

A model trained by the retraining pipeline is approved and deployed with data capture.
In-distribution traffic gives a clean monitoring run; shifted traffic (two features move)
gives violations on exactly those features, and the monitor's action starts the retraining
pipeline on the fresh labelled data. The retrained model scores better than the deployed
one does on the shifted traffic (measured by a model quality monitor with ground truth),
so the pipeline registers it as PendingManualApproval; once approved, the approval trigger
canaries it in. Time is a FakeClock: hours pass by moving it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlopskit
from mlopskit.clock import FakeClock
from mlopskit.monitoring import (
    DataQualityMonitor,
    LogViolations,
    ModelQualityMonitor,
    StartPipeline,
    baseline,
    deploy_on_approval,
    put_ground_truth,
    run_due,
)
from mlopskit.pipeline import (
    ConditionStep,
    FailStep,
    GreaterThanOrEqualTo,
    Join,
    JsonGet,
    ParameterFloat,
    ParameterString,
    Pipeline,
    ProcessingStep,
    PropertyFile,
    RegisterModelStep,
    TrainingStep,
)
from mlopskit.pipeline.execution import PipelineExecution
from mlopskit.serving.rollout import Canary, ErrorRateAbove

UTC = dt.timezone.utc
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPTS = Path(__file__).parent.parent / "scripts"
FEATURES = ["a", "b", "c", "d"]
SHIFTED = {"b", "d"}

pytestmark = pytest.mark.slow


def world(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    """Features and labels. After the shift, sensor ``b`` reads 2 higher and ``d`` is
    three times noisier; the label still follows the true (recalibrated) ``b``."""
    rng = np.random.default_rng(seed)
    a, c = rng.normal(0, 1, rows), rng.normal(0, 1, rows)
    true_b = rng.normal(0, 1, rows)
    b = true_b + (2.0 if shifted else 0.0)
    d = rng.normal(0, 3.0 if shifted else 1.0, rows)
    label = (1.5 * a - true_b + 0.5 * c > 0).astype(int)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "label": label})


def retraining_pipeline(session: mlopskit.Session) -> Pipeline:
    data = ParameterString("InputDataUrl", default_value=f"s3://{session.default_bucket}/x/")
    bar = ParameterFloat("AccuracyThreshold", default_value=0.9)
    processor = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.xlarge")
    preprocess = ProcessingStep(
        "Preprocess", processor, SCRIPTS / "pipeline" / "preprocess.py",
        inputs=[mlopskit.ProcessingInput(data, "/opt/ml/processing/input")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/train", output_name="train"),
                 mlopskit.ProcessingOutput("/opt/ml/processing/test", output_name="test")])
    train = TrainingStep("Train", mlopskit.Estimator(
        str(SCRIPTS / "pipeline" / "train.py"), image_uri=IMAGE, instance_type="ml.m5.xlarge"),
        inputs={"train": preprocess.properties.output("train")})
    report = PropertyFile("Evaluation", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        "Evaluate", processor, SCRIPTS / "pipeline" / "evaluate.py",
        inputs=[mlopskit.ProcessingInput(train.properties.model_data,
                                         "/opt/ml/processing/model"),
                mlopskit.ProcessingInput(preprocess.properties.output("test"),
                                         "/opt/ml/processing/test")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/evaluation",
                                           output_name="evaluation")],
        property_files=[report])
    model = mlopskit.Model(train.properties.model_data, image_uri=IMAGE,
                           entry_point="tabular.py", source_dir=SCRIPTS / "inference")
    register = RegisterModelStep(
        "Register", "scenario-models", model, approval_status="PendingManualApproval",
        model_metrics=Join(on="/", values=[evaluate.properties.output("evaluation"),
                                           "evaluation.json"]))
    accuracy = JsonGet(evaluate, report, "metrics.accuracy.value")
    gate = ConditionStep("GoodEnough", [GreaterThanOrEqualTo(accuracy, bar)],
                         if_steps=[register], else_steps=[FailStep("TooWeak", "not better")])
    return Pipeline("scenario-retrain", parameters=[data, bar],
                    steps=[preprocess, train, evaluate, gate], session=session)


def put_csv(session: mlopskit.Session, frame: pd.DataFrame, prefix: str) -> str:
    uri = f"s3://{session.default_bucket}/{prefix}/"
    session.backend.objects.put_bytes(frame.to_csv(index=False).encode(), uri + "data.csv")
    return uri


def send(endpoint: mlopskit.Endpoint, frame: pd.DataFrame, tag: str,
         clock: FakeClock) -> dict[str, int]:
    """One request per row, a second apart; returns inference id -> true label."""
    truth = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        inference_id = f"{tag}-{i}"
        body = ",".join(repr(float(getattr(row, f))) for f in FEATURES).encode()
        endpoint.invoke(body, "text/csv", inference_id=inference_id)
        truth[inference_id] = int(row.label)
        clock.sleep(1)
    return truth


def move_to(clock: FakeClock, moment: dt.datetime) -> None:
    clock.advance((moment - clock.now()).total_seconds())


def accuracy_served(endpoint: mlopskit.Endpoint, frame: pd.DataFrame) -> float:
    right = 0
    for row in frame.itertuples(index=False):
        body = ",".join(repr(float(getattr(row, f))) for f in FEATURES).encode()
        answer = endpoint.invoke(body, "text/csv").body.decode().strip()
        right += int(float(answer.strip("[]")) == row.label)
    return right / len(frame)


def test_drift_triggers_retraining_and_an_approved_model_is_canaried_in(tmp_path, caplog):
    clock = FakeClock(dt.datetime(2026, 3, 1, 0, 0, 5, tzinfo=UTC))
    session = mlopskit.LocalSession(root=tmp_path / "store", clock=clock, seed=7)
    group = mlopskit.ModelPackageGroup("scenario-models", session=session).create()
    pipeline = retraining_pipeline(session)
    pipeline.upsert()
    original, fresh = world(600, 1, shifted=False), world(600, 2, shifted=True)
    original_uri = put_csv(session, original, "data/original")
    fresh_uri = put_csv(session, fresh, "data/fresh")  # the labels that arrive after the shift

    # version 1, trained on the original world, approved and deployed with capture
    pipeline.start({"InputDataUrl": original_uri}).wait(timeout=900)
    first = group.latest("PendingManualApproval")
    assert first is not None and first.version == 1
    first.approve(by="alice", note="initial model")
    first.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="scenario",
                 data_capture_config=mlopskit.DataCaptureConfig(sampling_percent=100))
    endpoint = mlopskit.Endpoint("scenario", session=session)

    monitor = DataQualityMonitor(
        endpoint, baseline(original[FEATURES]),
        thresholds={"ks_p_value": 0.001, "psi": 0.25},
        on_violation=[LogViolations(), StartPipeline(
            "scenario-retrain", {"InputDataUrl": fresh_uri, "AccuracyThreshold": 0.9})],
        session=session)
    schedule = monitor.schedule("1h")
    trigger = deploy_on_approval(group, endpoint, Canary(
        percent=20, wait=600, rollback_on=[ErrorRateAbove(0.05)]), session=session)

    # hour 00: in-distribution traffic; the 01:00 run finds nothing
    send(endpoint, world(240, 3, shifted=False), "calm", clock)
    move_to(clock, dt.datetime(2026, 3, 1, 1, 0, 30, tzinfo=UTC))
    calm = run_due(session)
    assert [r.status for r in calm.runs] == ["Completed"]
    assert calm.runs[0].rows == 240 and calm.rollouts == []
    assert len(pipeline.executions()) == 1  # nothing started

    # hour 01: shifted traffic; the 02:00 run flags exactly b and d and starts retraining
    shifted_traffic = world(240, 4, shifted=True)
    truth = send(endpoint, shifted_traffic, "shifted", clock)
    move_to(clock, dt.datetime(2026, 3, 1, 2, 0, 30, tzinfo=UTC))
    with caplog.at_level("WARNING", logger="mlopskit.monitoring"):
        loud = run_due(session)
    [run] = loud.runs
    assert run.status == "CompletedWithViolations"
    assert set(run.drifted_features) == SHIFTED
    assert {v["feature_name"] for v in run.violations} == SHIFTED
    assert run.window_start == dt.datetime(2026, 3, 1, 1, tzinfo=UTC)
    assert [a["action"] for a in run.actions] == ["LogViolations", "StartPipeline"]
    assert all(a["ok"] for a in run.actions)
    assert any("b" in r.getMessage() for r in caplog.records)
    retraining = PipelineExecution(run.actions[1]["result"], session).wait(timeout=900)
    assert retraining.status == "Succeeded"

    # the deployed model on the shifted traffic, scored with labels that came in later
    labels_uri = f"s3://{session.default_bucket}/ground-truth/scenario"
    put_ground_truth(truth, labels_uri, session=session)
    quality = ModelQualityMonitor(endpoint, labels_uri, thresholds={"accuracy": 0.9},
                                  session=session).run(
        start=dt.datetime(2026, 3, 1, 1, tzinfo=UTC), end=dt.datetime(2026, 3, 1, 2, tzinfo=UTC))
    assert quality.rows == 240 and quality.status == "CompletedWithViolations"
    second = group.latest("PendingManualApproval")
    assert second is not None and second.version == 2
    assert second.metrics["accuracy"] > quality.metrics["accuracy"]  # better than deployed

    # pending is not enough to deploy; approval is
    assert run_due(session).rollouts == []
    second.approve(by="bob", note="retrained after drift on b, d")
    [rollout] = run_due(session).rollouts
    assert (rollout.version, rollout.outcome) == (2, "Completed")
    assert [step["share"] for step in rollout.detail["steps"]][:1] == [0.2]
    assert accuracy_served(endpoint, world(100, 5, shifted=True)) >= 0.9  # v2 serves now
    assert run_due(session).rollouts == []  # rolled out once

    # the whole history is there to query
    assert [r.status for r in schedule.runs()] == ["Completed", "CompletedWithViolations"]
    assert [(e.version, e.outcome) for e in trigger.events()] == [(2, "Completed")]
    assert [h.status for h in second.history][-1] == "Approved"
    assert [e.status for e in pipeline.executions()] == ["Succeeded", "Succeeded"]
    stored = json.loads(session.backend.objects.get_bytes(f"{run.output_uri}/run.json"))
    assert stored["actions"][1]["result"] == retraining.arn
    session.close()
