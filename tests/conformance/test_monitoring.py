"""Monitoring on every backend: runs over captured data, reports and history, schedules.

moto has no monitoring schedules; ``tests/monitoring_moto.py`` patches them in (moto only,
never mlopskit).
"""

from __future__ import annotations

import json

import pytest

from mlopskit.errors import CapabilityError
from mlopskit.monitoring import DataQualityMonitor, LogViolations, baseline
from mlopskit.testing.conformance import MonitoringConformance
from mlopskit.testing.conformance.monitoring import MONITOR_IMAGE, frame, schedule_monitor
from tests import monitoring_moto


class TestMonitoring(MonitoringConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


def test_the_aws_schedule_request_points_at_the_baseline_and_the_endpoint(
        aws_session, monkeypatch):
    held = monitoring_moto.patch(monkeypatch)
    monitor = schedule_monitor(aws_session, "conformance-request")
    monitor.schedule("1h", image_uri=MONITOR_IMAGE)
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
    assert definition["DataQualityAppSpecification"]["ImageUri"] == MONITOR_IMAGE


def test_actions_cannot_ride_on_an_aws_schedule(aws_session, monkeypatch):
    held = monitoring_moto.patch(monkeypatch)
    monitor = DataQualityMonitor("my-endpoint", baseline(frame(100, 0)), name="with-actions",
                                 on_violation=LogViolations(), session=aws_session)
    with pytest.raises(CapabilityError, match="on_violation"):
        monitor.schedule("1h", image_uri=MONITOR_IMAGE)
    assert held.requests == {}
