"""Monitoring on every backend: runs over captured data, reports and history, schedules.

A monitor run is computed by mlopskit on every backend (it reads the captures from the
object store), so the same test checks it on any object store; a schedule is whatever the
backend keeps (a local scheduler row, a SageMaker monitoring schedule).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mlopskit.errors import ConflictError, NotFoundError, ValidationError
from mlopskit.monitoring import (
    DataQualityMonitor,
    ModelQualityMonitor,
    MonitoringSchedule,
    baseline,
    put_ground_truth,
)

from ...session import Session
from ._support import Conformance

__all__ = ["MONITOR_IMAGE", "MonitoringConformance", "frame", "schedule_monitor"]

UTC = dt.timezone.utc
MONITOR_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def frame(rows: int, seed: int, shift: float = 0.0) -> Any:
    """A DataFrame of three random features, ``b`` shifted by ``shift``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(0, 1, rows), "b": rng.normal(shift, 1, rows),
                         "c": rng.uniform(0, 1, rows)})


def _put_captures(session: Session, prefix: str, data: Any, at: dt.datetime) -> list[str]:
    """Captured records in SageMaker's layout and shape (one request per row)."""
    ids, lines = [], []
    for i, row in enumerate(data.itertuples(index=False)):
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


def schedule_monitor(session: Session, name: str) -> DataQualityMonitor:
    """A data quality monitor of the endpoint ``my-endpoint``, ready to be scheduled."""
    return DataQualityMonitor("my-endpoint", baseline(frame(500, 0)), name=name,
                              session=session)


BAD_MONITORS: list[tuple[Callable[[Session], Any], str]] = [
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)), name="bad name",
                                  session=s), "name: 'bad name' must be"),
    (lambda s: DataQualityMonitor(42, baseline(frame(50, 0)), session=s),
     "source: expected an Endpoint"),
    (lambda s: DataQualityMonitor("ep", {"not": "a baseline"}, session=s),
     "baseline: expected a Baseline"),
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)),
                                  output_uri="/tmp/x", session=s),  # noqa: S108
     "output_uri"),
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)), on_violation=[3],
                                  session=s), r"on_violation\[0\]"),
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)), columns="abc", session=s),
     "columns: a list"),
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)), session=s).schedule(
        "5h", image_uri=MONITOR_IMAGE), "every: '5h' is not a monitoring cadence"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", problem_type="Ranking",
                                   session=s), "problem_type: 'Ranking' is not one of"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", thresholds={"rmse": 1.0},
                                   session=s),
     "thresholds.rmse: not a BinaryClassification metric"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", thresholds={"accuracy": "high"},  # type: ignore[dict-item]
                                   session=s), "thresholds.accuracy: a finite number"),
    (lambda s: ModelQualityMonitor("ep", "not-s3", session=s), "ground_truth_uri"),
    (lambda s: ModelQualityMonitor("ep", "s3://bucket/gt", probability_threshold=1.5,
                                   session=s),
     "probability_threshold: a number between 0 and 1"),
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)), session=s).run(
        start=dt.datetime(2026, 1, 1)), "start: needs a timezone"),
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)), session=s).run(
        start=dt.datetime(2026, 1, 2, tzinfo=UTC), end=dt.datetime(2026, 1, 1, tzinfo=UTC)),
     "start: .* is not before end"),
    (lambda s: DataQualityMonitor("ep", baseline(frame(50, 0)), session=s).run(data=[1]),  # type: ignore[arg-type]
     "data: expected a pandas DataFrame"),
]


class MonitoringConformance(Conformance):
    """DataQualityMonitor and ModelQualityMonitor runs over captured data, their history,
    and monitoring schedules: create, describe, stop, start, delete."""

    def test_a_run_over_captured_data_reports_drift_and_keeps_history(
            self, session: Session) -> None:
        prefix = f"s3://{session.default_bucket}/capture/my-endpoint/AllTraffic"
        hour = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
        _put_captures(session, prefix, frame(400, 1), hour)
        _put_captures(session, prefix, frame(400, 2, shift=3.0), hour + dt.timedelta(hours=1))
        monitor = DataQualityMonitor(prefix, baseline(frame(2000, 0)), name="conformance-dq",
                                     session=session)
        quiet = monitor.run(start=hour, end=hour + dt.timedelta(hours=1))
        loud = monitor.run(start=hour + dt.timedelta(hours=1), end=hour + dt.timedelta(hours=2))
        empty = monitor.run(start=hour + dt.timedelta(hours=5),
                            end=hour + dt.timedelta(hours=6))
        assert (quiet.status, quiet.rows, quiet.drifted_features) == ("Completed", 400, ())
        assert (loud.status, loud.rows, loud.drifted_features) == (
            "CompletedWithViolations", 400, ("b",))
        assert {v["feature_name"] for v in loud.violations} == {"b"}
        assert empty.status == "Failed" and "no data" in (empty.failure_reason or "")
        objects = session.backend.objects
        violations = json.loads(
            objects.get_bytes(f"{loud.output_uri}/constraint_violations.json"))
        assert {v["feature_name"] for v in violations["violations"]} == {"b"}
        assert objects.get_bytes(loud.report_uri).startswith(b"<!")
        history = monitor.runs()
        assert [r.run_id for r in history] == [quiet.run_id, loud.run_id, empty.run_id]
        assert [r.status for r in history] == ["Completed", "CompletedWithViolations", "Failed"]

    def test_model_quality_merges_ground_truth_by_inference_id(self, session: Session) -> None:
        prefix = f"s3://{session.default_bucket}/capture/quality-endpoint/AllTraffic"
        labels_uri = f"s3://{session.default_bucket}/ground-truth/quality-endpoint"
        hour = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
        ids = _put_captures(session, prefix, frame(100, 3), hour)  # predictions alternate 0, 1
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

    def test_a_schedule_is_created_described_stopped_started_and_deleted(
            self, session: Session) -> None:
        monitor = schedule_monitor(session, "conformance-schedule")
        schedule = monitor.schedule("6h", image_uri=MONITOR_IMAGE)
        assert [s.name for s in MonitoringSchedule.list(session=session)] == [schedule.name]
        described = schedule.describe()
        assert (described["name"], described["monitor_type"], described["status"]) == (
            "conformance-schedule", "DataQuality", "Scheduled")
        schedule.stop()
        assert schedule.status == "Stopped"
        schedule.start()
        assert schedule.status == "Scheduled"
        with pytest.raises(ConflictError, match="already exists"):
            monitor.schedule("6h", image_uri=MONITOR_IMAGE)
        schedule.delete()
        assert MonitoringSchedule.list(session=session) == []
        with pytest.raises(NotFoundError):
            schedule.describe()

    @pytest.mark.parametrize(("build", "message"), BAD_MONITORS)
    def test_bad_monitoring_input_is_refused_and_nothing_is_made(
            self, session: Session, build: Callable[[Session], Any], message: str) -> None:
        before = set(session.backend.objects.list(f"s3://{session.default_bucket}/"))
        with pytest.raises(ValidationError, match=message):
            build(session)
        assert MonitoringSchedule.list(session=session) == []
        after = set(session.backend.objects.list(f"s3://{session.default_bucket}/"))
        assert after == before
