"""Monitoring on every backend: runs over captured data, reports and history, schedules.

A monitor run is computed by mlopskit on both backends (it reads the captures from the
object store), so the same test checks it on the local folder and on moto's S3. Schedules
are a local scheduler row or a SageMaker monitoring schedule; moto has no monitoring
schedules, so ``tests/monitoring_moto.py`` patches them in (moto only, never mlopskit).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pandas as pd
import pytest

import mlopskit
from mlopskit.errors import CapabilityError, ConflictError, NotFoundError, ValidationError
from mlopskit.monitoring import (
    DataQualityMonitor,
    LogViolations,
    ModelQualityMonitor,
    MonitoringSchedule,
    baseline,
    put_ground_truth,
)
from tests import monitoring_moto

UTC = dt.timezone.utc
IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


@pytest.fixture
def session(any_session: mlopskit.Session, monkeypatch: pytest.MonkeyPatch
            ) -> mlopskit.Session:
    if any_session.backend_name == "aws":
        monitoring_moto.patch(monkeypatch)
    return any_session


def _frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(0, 1, rows), "b": rng.normal(shift, 1, rows),
                         "c": rng.uniform(0, 1, rows)})


def _put_captures(session: mlopskit.Session, prefix: str, frame: pd.DataFrame,
                  at: dt.datetime) -> list[str]:
    """Captured records in SageMaker's layout and shape (one request per row)."""
    ids, lines = [], []
    for i, row in enumerate(frame.itertuples(index=False)):
        inference_id = f"req-{uuid.uuid4().hex[:12]}"
        ids.append(inference_id)
        lines.append(json.dumps({
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                  "data": ",".join(repr(float(v)) for v in row),
                                  "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "text/csv; charset=utf-8",
                                   "mode": "OUTPUT", "data": str(i % 2), "encoding": "CSV"}},
            "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceId": inference_id,
                              "inferenceTime": (at + dt.timedelta(seconds=i % 60)).strftime(
                                  "%Y-%m-%dT%H:%M:%S.000Z")},
            "eventVersion": "0"}))
    uri = f"{prefix}/{at:%Y/%m/%d/%H}/{at:%M-%S}-000-{uuid.uuid4()}.jsonl"
    session.backend.objects.put_bytes(("\n".join(lines) + "\n").encode(), uri)
    return ids


def test_a_run_over_captured_data_reports_drift_and_keeps_history(session):
    prefix = f"s3://{session.default_bucket}/capture/my-endpoint/AllTraffic"
    hour = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
    _put_captures(session, prefix, _frame(400, 1), hour)
    _put_captures(session, prefix, _frame(400, 2, shift=3.0), hour + dt.timedelta(hours=1))
    monitor = DataQualityMonitor(prefix, baseline(_frame(2000, 0)), name="conformance-dq",
                                 session=session)
    quiet = monitor.run(start=hour, end=hour + dt.timedelta(hours=1))
    loud = monitor.run(start=hour + dt.timedelta(hours=1), end=hour + dt.timedelta(hours=2))
    empty = monitor.run(start=hour + dt.timedelta(hours=5), end=hour + dt.timedelta(hours=6))
    assert (quiet.status, quiet.rows, quiet.drifted_features) == ("Completed", 400, ())
    assert (loud.status, loud.rows, loud.drifted_features) == (
        "CompletedWithViolations", 400, ("b",))
    assert {v["feature_name"] for v in loud.violations} == {"b"}
    assert empty.status == "Failed" and "no data" in (empty.failure_reason or "")
    objects = session.backend.objects
    violations = json.loads(objects.get_bytes(f"{loud.output_uri}/constraint_violations.json"))
    assert {v["feature_name"] for v in violations["violations"]} == {"b"}
    assert objects.get_bytes(loud.report_uri).startswith(b"<!")
    history = monitor.runs()
    assert [r.run_id for r in history] == [quiet.run_id, loud.run_id, empty.run_id]
    assert [r.status for r in history] == ["Completed", "CompletedWithViolations", "Failed"]


def test_model_quality_merges_ground_truth_by_inference_id(session):
    prefix = f"s3://{session.default_bucket}/capture/quality-endpoint/AllTraffic"
    labels_uri = f"s3://{session.default_bucket}/ground-truth/quality-endpoint"
    hour = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
    ids = _put_captures(session, prefix, _frame(100, 3), hour)  # predictions alternate 0, 1
    truth = {inference_id: 0 for inference_id in ids}  # so half are right
    put_ground_truth(dict(list(truth.items())[:80]), labels_uri, session=session,
                     at=hour + dt.timedelta(minutes=30))
    monitor = ModelQualityMonitor(prefix, labels_uri, problem_type="BinaryClassification",
                                  thresholds={"accuracy": 0.9}, name="conformance-mq",
                                  session=session)
    run = monitor.run(start=hour, end=hour + dt.timedelta(hours=1))
    assert run.rows == 80  # only predictions with a label so far
    assert run.metrics["accuracy"] == pytest.approx(0.5)
    assert run.status == "CompletedWithViolations"
    assert [v["metric_name"] for v in run.violations] == ["accuracy"]


def _schedule_monitor(session: mlopskit.Session, name: str) -> DataQualityMonitor:
    return DataQualityMonitor("my-endpoint", baseline(_frame(500, 0)), name=name,
                              session=session)


def test_a_schedule_is_created_described_stopped_started_and_deleted(session):
    monitor = _schedule_monitor(session, "conformance-schedule")
    schedule = monitor.schedule("6h", image_uri=IMAGE)
    assert [s.name for s in MonitoringSchedule.list(session=session)] == [schedule.name]
    described = schedule.describe()
    assert (described["name"], described["monitor_type"], described["status"]) == (
        "conformance-schedule", "DataQuality", "Scheduled")
    schedule.stop()
    assert schedule.status == "Stopped"
    schedule.start()
    assert schedule.status == "Scheduled"
    with pytest.raises(ConflictError, match="already exists"):
        monitor.schedule("6h", image_uri=IMAGE)
    schedule.delete()
    assert MonitoringSchedule.list(session=session) == []
    with pytest.raises(NotFoundError):
        schedule.describe()


def test_the_aws_schedule_request_points_at_the_baseline_and_the_endpoint(
        aws_session, monkeypatch):
    held = monitoring_moto.patch(monkeypatch)
    monitor = _schedule_monitor(aws_session, "conformance-request")
    monitor.schedule("1h", image_uri=IMAGE)
    config = held.requests["conformance-request"]["MonitoringScheduleConfig"]
    assert config == {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                      "MonitoringJobDefinitionName": "conformance-request",
                      "MonitoringType": "DataQuality"}
    sm = aws_session.backend.clients.sagemaker  # type: ignore[attr-defined]
    definition = sm.describe_data_quality_job_definition(JobDefinitionName="conformance-request")
    baseline_config = definition["DataQualityBaselineConfig"]
    statistics = baseline_config["StatisticsResource"]["S3Uri"]
    assert aws_session.backend.objects.exists(statistics)
    assert json.loads(aws_session.backend.objects.get_bytes(statistics))["features"]
    assert definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "my-endpoint"
    assert definition["DataQualityAppSpecification"]["ImageUri"] == IMAGE


def test_actions_cannot_ride_on_an_aws_schedule(aws_session, monkeypatch):
    held = monitoring_moto.patch(monkeypatch)
    monitor = DataQualityMonitor("my-endpoint", baseline(_frame(100, 0)), name="with-actions",
                                 on_violation=LogViolations(), session=aws_session)
    with pytest.raises(CapabilityError, match="on_violation"):
        monitor.schedule("1h", image_uri=IMAGE)
    assert held.requests == {}


@pytest.mark.parametrize(("build", "message"), [
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), name="bad name",
                                  session=s), "name: 'bad name' must be"),
    (lambda s: DataQualityMonitor(42, baseline(_frame(50, 0)), session=s),
     "source: expected an Endpoint"),
    (lambda s: DataQualityMonitor("ep", {"not": "a baseline"}, session=s),
     "baseline: expected a Baseline"),
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), output_uri="/tmp/x",
                                  session=s), "output_uri"),
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), on_violation=[3],
                                  session=s), r"on_violation\[0\]"),
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), columns="abc", session=s),
     "columns: a list"),
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), session=s).schedule(
        "5h", image_uri=IMAGE), "every: '5h' is not a monitoring cadence"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", problem_type="Ranking", session=s),
     "problem_type: 'Ranking' is not one of"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", thresholds={"rmse": 1.0}, session=s),
     "thresholds.rmse: not a BinaryClassification metric"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", thresholds={"accuracy": "high"},
                                   session=s), "thresholds.accuracy: a finite number"),
    (lambda s: ModelQualityMonitor("ep", "not-s3", session=s), "ground_truth_uri"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", probability_threshold=1.5, session=s),
     "probability_threshold: a number between 0 and 1"),
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), session=s).run(
        start=dt.datetime(2026, 1, 1)), "start: needs a timezone"),
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), session=s).run(
        start=dt.datetime(2026, 1, 2, tzinfo=UTC), end=dt.datetime(2026, 1, 1, tzinfo=UTC)),
     "start: .* is not before end"),
    (lambda s: DataQualityMonitor("ep", baseline(_frame(50, 0)), session=s).run(data=[1]),
     "data: expected a pandas DataFrame"),
])
def test_bad_monitoring_input_is_refused_and_nothing_is_made(session, build, message):
    before = set(session.backend.objects.list(f"s3://{session.default_bucket}/"))
    with pytest.raises(ValidationError, match=message):
        build(session)
    assert MonitoringSchedule.list(session=session) == []
    after = set(session.backend.objects.list(f"s3://{session.default_bucket}/"))
    assert after == before
