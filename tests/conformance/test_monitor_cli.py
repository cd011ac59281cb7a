"""``mlopskit monitor``: schedules listed, run, paused, and their history; exit codes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlopskit.cli import main
from mlopskit.monitoring import DataQualityMonitor, baseline
from mlopskit.testing import cli_environment
from mlopskit.testing.conformance import MonitorCliConformance


class TestMonitorCli(MonitorCliConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(0, 1, rows), "b": rng.normal(0, 1, rows)})


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [
    ("monitor",), ("monitor", "history"), ("monitor", "explode"),
    ("monitor", "run", "--poll", "soon"),
])
def test_bad_arguments_exit_2(capsys, argv):
    assert run(capsys, *argv)[0] == 2


def test_run_once_runs_what_is_due_and_history_shows_it(local_session, monkeypatch, capsys):
    for key, value in cli_environment(local_session).items():
        monkeypatch.setenv(key, value)
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
    for key, value in cli_environment(aws_session).items():
        monkeypatch.setenv(key, value)
    code, _, err = run(capsys, "monitor", "run", "--once")
    assert code == 1 and "local" in err
