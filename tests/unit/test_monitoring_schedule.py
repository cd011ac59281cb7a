"""Cadences, windows and on_violation actions: what a schedule stores and means."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from mlopskit.errors import ValidationError
from mlopskit.monitoring.actions import (
    CallFunction,
    LogViolations,
    StartPipeline,
    action_from_dict,
    check_actions,
)
from mlopskit.sagemaker_api.cadence import Cadence

UTC = dt.timezone.utc


@pytest.mark.parametrize(("text", "hours", "cron"), [
    ("1h", 1, "cron(0 * ? * * *)"),
    ("hourly", 1, "cron(0 * ? * * *)"),
    ("2 hours", 2, "cron(0 */2 ? * * *)"),
    ("12h", 12, "cron(0 */12 ? * * *)"),
    ("24h", 24, "cron(0 0 ? * * *)"),
    ("1d", 24, "cron(0 0 ? * * *)"),
    ("daily", 24, "cron(0 0 ? * * *)"),
])
def test_cadences_map_to_sagemaker_cron(text, hours, cron):
    cadence = Cadence.parse(text)
    assert (cadence.hours, cadence.cron) == (hours, cron)


@pytest.mark.parametrize("text", ["5h", "0h", "30m", "2d", "", "weekly", "1.5h"])
def test_cadences_sagemaker_cannot_run_are_refused(text):
    with pytest.raises(ValidationError, match=r"every: .* allowed: 1h, 2h, 3h, 4h, 6h, 8h, "
                                              r"12h, 1d"):
        Cadence.parse(text)


def test_a_cadence_must_be_text():
    with pytest.raises(ValidationError, match="every: expected a string"):
        Cadence.parse(3)  # type: ignore[arg-type]


def test_due_times_are_aligned_and_windows_end_at_them():
    hourly = Cadence.parse("1h")
    moment = dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert hourly.next_due(moment) == dt.datetime(2026, 3, 1, 11, tzinfo=UTC)  # strictly after
    assert hourly.next_due(moment - dt.timedelta(seconds=1)) == moment
    assert hourly.window(moment) == (dt.datetime(2026, 3, 1, 9, tzinfo=UTC), moment)
    daily = Cadence.parse("1d")
    assert daily.next_due(moment) == dt.datetime(2026, 3, 2, tzinfo=UTC)


def module_level_hook(run):
    return f"saw {len(run.violations)}"


def test_actions_round_trip_through_what_a_schedule_stores():
    actions = check_actions([LogViolations("ERROR"), module_level_hook,
                             StartPipeline("retrain", {"Threshold": 0.8}, workers=1)])
    stored = [a.to_dict() for a in actions]
    assert stored[1] == {"type": "CallFunction",
                         "function": f"{__name__}:module_level_hook"}
    assert [action_from_dict(d) for d in stored] == [
        LogViolations("ERROR"), CallFunction(f"{__name__}:module_level_hook"),
        StartPipeline("retrain", {"Threshold": 0.8}, workers=1)]


def test_a_lambda_works_in_process_but_cannot_be_stored():
    action = check_actions(lambda run: None)[0]
    assert isinstance(action, CallFunction)
    with pytest.raises(ValidationError, match=r"on_violation: .* cannot be stored"):
        action.to_dict()


@pytest.mark.parametrize(("build", "message"), [
    (lambda: LogViolations("LOUD"), "level: 'LOUD' is not one of DEBUG, INFO"),
    (lambda: CallFunction("no_colon"), "function: 'no_colon' must be 'module:name'"),
    (lambda: CallFunction(42), "function: expected a callable"),
    (lambda: StartPipeline("bad name"), "pipeline_name: 'bad name' is not a pipeline name"),
    (lambda: StartPipeline("p", {"x": object()}), "parameters: values must be"),
    (lambda: StartPipeline("p", workers=0), "workers: a positive integer"),
    (lambda: check_actions([1]), r"on_violation\[0\]: expected LogViolations"),
    (lambda: action_from_dict({"type": "Email"}), "unknown action type 'Email'"),
])
def test_bad_actions_are_refused(build, message):
    with pytest.raises(ValidationError, match=message):
        build()


def test_log_violations_logs_one_line_each(caplog):
    class Run:
        monitor_name = "m"
        violations = ({"feature_name": "b", "constraint_check_type": "baseline_drift_check",
                       "description": "drifted"},)

    with caplog.at_level(logging.WARNING, logger="mlopskit.monitoring"):
        outcome = LogViolations()(Run(), None)  # type: ignore[arg-type]
    assert outcome == "logged 1 violation(s) at WARNING"
    assert [r.getMessage() for r in caplog.records] == [
        "m: baseline_drift_check on b: drifted"]
