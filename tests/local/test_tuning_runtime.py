"""A local tuning job runs on its session's clock: ``max_runtime`` is measured on it, so a
test moves time instead of waiting two minutes."""

from __future__ import annotations

import time
from pathlib import Path

import mlopskit
from mlopskit.clock import FakeClock
from mlopskit.tuning import IntegerParameter


def test_max_runtime_on_the_session_clock_stops_the_search_and_its_trials(
        tmp_path: Path) -> None:
    clock = FakeClock()
    session = mlopskit.LocalSession(root=tmp_path / "store", clock=clock)
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("import time\ntime.sleep(120)\nprint('score=1.0')\n")
    estimator = mlopskit.Estimator(
        entry_point="train.py", source_dir=code, instance_type="ml.m5.large",
        metric_definitions=[{"Name": "score", "Regex": r"score=([0-9.]+)"}], session=session)
    tuner = mlopskit.HyperparameterTuner(estimator, "score", {"n": IntegerParameter(1, 9)},
                                         strategy="Random", max_jobs=3, max_runtime=300)
    job = tuner.fit(wait=False)
    deadline = time.monotonic() + 60
    while not job.describe().trials and time.monotonic() < deadline:
        time.sleep(0.02)  # the first trial starting, in real time
    clock.advance(301)
    job.wait(timeout=3600, raise_on_failure=False)
    described = job.describe()
    assert described.status == "Stopped"
    assert described.failure_reason is not None
    assert "MaxRuntimeExceeded" in described.failure_reason
    assert len(described.trials) == 1  # one at a time; no second trial started
    assert described.trials[0].status == "Stopped"
    session.close()
