"""``mlopskit monitor``: schedules listed, run, paused, and their history; exit codes."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from mlopskit.cli import main
from mlopskit.monitoring import DataQualityMonitor, baseline
from mlopskit.testing import TEST_BUCKET, TEST_REGION, TEST_ROLE_ARN
from tests import monitoring_moto

UTC = dt.timezone.utc
IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(0, 1, rows), "b": rng.normal(0, 1, rows)})


@pytest.fixture
def cli(any_session, monkeypatch):
    if any_session.backend_name == "local":
        monkeypatch.setenv("MLOPSKIT_BACKEND", "local")
        monkeypatch.setenv("MLOPSKIT_ROOT", str(any_session.root))
    else:
        monitoring_moto.patch(monkeypatch)
        for key, value in {"MLOPSKIT_BACKEND": "aws", "MLOPSKIT_REGION": TEST_REGION,
                           "MLOPSKIT_BUCKET": TEST_BUCKET,
                           "MLOPSKIT_ROLE_ARN": TEST_ROLE_ARN}.items():
            monkeypatch.setenv(key, value)
    monitor = DataQualityMonitor(f"s3://{any_session.default_bucket}/capture/ep",
                                 baseline(_frame(300, 0)), name="cli-monitor",
                                 session=any_session)
    if any_session.backend_name == "local":
        monitor.schedule("1h")
    else:
        DataQualityMonitor("ep", monitor.baseline, name="cli-monitor",
                           session=any_session).schedule("1h", image_uri=IMAGE)
    return any_session


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_stop_start_delete(cli, capsys):
    code, out, _ = run(capsys, "monitor", "list", "--json")
    assert code == 0
    assert [(s["name"], s["status"]) for s in json.loads(out)] == [("cli-monitor",
                                                                    "Scheduled")]
    assert run(capsys, "monitor", "stop", "cli-monitor")[0] == 0
    code, out, _ = run(capsys, "monitor", "list")
    assert "cli-monitor" in out and "Stopped" in out
    assert run(capsys, "monitor", "start", "cli-monitor")[0] == 0
    assert run(capsys, "monitor", "delete", "cli-monitor")[0] == 0
    code, out, _ = run(capsys, "monitor", "list", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_an_unknown_schedule_is_refused_with_exit_1(cli, capsys):
    code, _, err = run(capsys, "monitor", "stop", "no-such-schedule")
    assert code == 1 and "no-such-schedule" in err


@pytest.mark.parametrize("argv", [
    ("monitor",), ("monitor", "history"), ("monitor", "explode"),
    ("monitor", "run", "--poll", "soon"),
])
def test_bad_arguments_exit_2(capsys, argv):
    assert run(capsys, *argv)[0] == 2


def test_run_once_runs_what_is_due_and_history_shows_it(local_session, monkeypatch, capsys):
    monkeypatch.setenv("MLOPSKIT_BACKEND", "local")
    monkeypatch.setenv("MLOPSKIT_ROOT", str(local_session.root))
    prefix = f"s3://{local_session.default_bucket}/capture/ep"
    monitor = DataQualityMonitor(prefix, baseline(_frame(300, 0)), name="cli-due",
                                 session=local_session)
    monitor.schedule("1h")
    code, out, _ = run(capsys, "monitor", "run", "--once")
    assert (code, out.strip()) == (0, "nothing was due")
    # The command's own session reads the real clock: the first due time is the next hour.
    # Move the stored due time back instead of waiting for it.
    store = local_session.backend.store  # type: ignore[attr-defined]
    with store.transaction() as db:
        db.execute("UPDATE monitoring_schedules SET next_due = ? WHERE name = 'cli-due'",
                   ("2026-01-01T01:00:00+00:00",))
    code, out, _ = run(capsys, "monitor", "run", "--once", "--json")
    assert code == 0
    [done] = json.loads(out)["runs"]
    assert done["monitor_name"] == "cli-due" and done["status"] == "Failed"  # no captures
    code, out, _ = run(capsys, "monitor", "history", "cli-due", "--json")
    assert [r["status"] for r in json.loads(out)] == ["Failed"]


def test_the_scheduler_is_local_only(aws_session, monkeypatch, capsys):
    for key, value in {"MLOPSKIT_BACKEND": "aws", "MLOPSKIT_REGION": TEST_REGION,
                       "MLOPSKIT_BUCKET": TEST_BUCKET, "MLOPSKIT_ROLE_ARN": TEST_ROLE_ARN}.items():
        monkeypatch.setenv(key, value)
    code, _, err = run(capsys, "monitor", "run", "--once")
    assert code == 1 and "local" in err
