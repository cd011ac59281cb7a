"""``mlopskit.tracking.recorder.Tracker`` against real MLflow stores: a SQLite store, a real
``mlflow server`` over HTTP, a server that is down and one that never answers."""

from __future__ import annotations

import http.server
import json
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

from mlopskit.errors import NotFoundError, TrackingError, ValidationError
from mlopskit.tracking._mlflow import short_http_retries
from mlopskit.tracking.recorder import DatasetRef, MetricPoint, Tracker

from ..tracking_support import (  # noqa: F401 - fixtures
    free_port,
    mlflow_server_fixture,
    sqlite_tracking_uri_fixture,
)

pytest.importorskip("mlflow")

T0 = 1_700_000_000_000
SECRET = "s3cr3t-pw"


def _round_trip(tracker: Tracker, experiment: str) -> None:
    """Everything a job's run carries, written and read back."""
    parent = tracker.start_run(experiment, "tuning-1", tags={"mlopskit.kind": "tuning"})
    run_id = tracker.start_run(
        experiment, "train-1", tags={"mlopskit.kind": "trial", "mlopskit.job_name": "train-1"},
        params={"lr": "0.1", "depth": "3"}, parent_run_id=parent,
        inputs=[DatasetRef("train", "s3://bkt/data/train.csv", digest="ab" * 32,
                           context="train"),
                DatasetRef("validation", "s3://bkt/data/val.csv")])
    running = tracker.get_run(run_id)
    assert running.info.status == "RUNNING"
    assert running.info.run_name == "train-1"
    assert running.data.params == {"lr": "0.1", "depth": "3"}
    assert running.data.tags["mlflow.parentRunId"] == parent
    assert running.data.tags["mlopskit.kind"] == "trial"
    inputs = {i.dataset.name: i for i in running.inputs.dataset_inputs}
    assert set(inputs) == {"train", "validation"}
    assert inputs["train"].dataset.digest == ("ab" * 32)[:36]  # MLflow keeps 36 characters
    assert json.loads(inputs["train"].dataset.source) == {"uri": "s3://bkt/data/train.csv"}
    assert inputs["train"].dataset.source_type == "s3"
    assert {t.key: t.value for t in inputs["train"].tags} == {"mlflow.data.context": "train"}
    assert {t.key: t.value for t in inputs["validation"].tags} == {
        "mlflow.data.context": "training"}
    assert len(inputs["validation"].dataset.digest) == 36

    # 1,000 steps of loss and 250 of auc: 1,250 points, more than one log_batch takes.
    loss = [MetricPoint("loss", 1.0 / step, step, T0 + 10 * step) for step in range(1, 1001)]
    auc = [MetricPoint("auc", 0.5 + step / 1000, step, T0 + 40 * step) for step in range(1, 251)]
    tracker.finish_run(run_id, status="FINISHED", metrics=loss + auc,
                       tags={"mlopskit.status": "Completed"}, end_time_ms=T0 + 20_000)
    done = tracker.get_run(run_id)
    assert done.info.status == "FINISHED"
    assert done.info.end_time == T0 + 20_000
    assert done.data.metrics == {"loss": 1.0 / 1000, "auc": 0.75}
    assert done.data.tags["mlopskit.finished"] == "1"
    assert done.data.tags["mlopskit.status"] == "Completed"
    history = sorted(tracker.metric_history(run_id, "loss"), key=lambda m: m.step)
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (p.step, p.value, p.timestamp_ms) for p in loss]

    # Finishing again changes nothing: not the status, not the metrics.
    tracker.finish_run(run_id, status="FAILED", metrics=[MetricPoint("auc", 0.0, 999, T0)],
                       tags={"mlopskit.status": "Failed"})
    again = tracker.get_run(run_id)
    assert (again.info.status, again.data.metrics["auc"], again.data.tags["mlopskit.status"]) \
        == ("FINISHED", 0.75, "Completed")

    tracker.finish_run(parent, status="KILLED")
    children = tracker.runs(experiment, f"tags.mlflow.parentRunId = '{parent}'")
    assert [r.info.run_id for r in children] == [run_id]
    assert [r.info.run_id for r in tracker.runs(experiment)] == [run_id, parent]


def test_round_trip_on_a_sqlite_store(sqlite_tracking_uri):
    _round_trip(Tracker(sqlite_tracking_uri), "round-trip")


@pytest.mark.slow
def test_round_trip_over_http_with_a_real_server(mlflow_server):
    tracker = Tracker(mlflow_server)
    _round_trip(tracker, "round-trip-http")
    assert tracker.experiment_id("round-trip-http", create=False)


def _store_engine(tracker: Tracker):
    """The SQLAlchemy engine MLflow's SQLite store uses in this process (a private path
    of MLflow's: the tracker's own relaxing of syncs depends on it too)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracker.tracking_uri)._tracking_client.store.engine


def _pragmas(engine) -> tuple[str, int]:
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    return str(mode).lower(), int(sync)


def test_a_new_store_is_seeded_in_wal_mode_and_commits_without_a_sync_each(tmp_path):
    # A session root that does not exist yet: the store is still a seeded copy.
    tracker = Tracker(f"sqlite:///{tmp_path / 'not-yet' / 'mlflow.db'}")
    tracker.start_run("seeded", "first")
    assert _pragmas(_store_engine(tracker)) == ("wal", 1)  # 1: NORMAL


def test_a_store_in_another_journal_mode_keeps_its_syncs(tmp_path):
    import sqlite3

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'theirs.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()  # made by MLflow: rollback journal
    with sqlite3.connect(tmp_path / "theirs.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    tracker = Tracker(uri)
    tracker.start_run("theirs", "first")
    assert _pragmas(_store_engine(tracker)) == ("delete", 2)  # 2: FULL, SQLite's default


def test_a_file_that_is_not_a_store_is_a_tracking_error(tmp_path):
    (tmp_path / "notes.db").write_text("not a database, but my notes\n")
    tracker = Tracker(f"sqlite:///{tmp_path / 'notes.db'}")
    with pytest.raises(TrackingError, match=r"notes\.db: .* failed: file is not a database$"):
        tracker.start_run("anything", "first")
    assert (tmp_path / "notes.db").read_text() == "not a database, but my notes\n"


def test_experiments_are_made_once_with_the_artifact_root(sqlite_tracking_uri, tmp_path):
    root = (tmp_path / "artifacts").as_uri()
    tracker = Tracker(sqlite_tracking_uri, artifact_root=root)
    first = tracker.experiment_id("made-once")
    assert Tracker(sqlite_tracking_uri).experiment_id("made-once", create=False) == first
    made = [e for e in tracker.experiments() if e.name == "made-once"]
    assert [(e.experiment_id, e.artifact_location) for e in made] == [(first, root)]


def test_unknown_experiment_and_run_are_not_found(sqlite_tracking_uri):
    tracker = Tracker(sqlite_tracking_uri)
    with pytest.raises(NotFoundError, match="experiment 'no-such-experiment' does not exist"):
        tracker.experiment_id("no-such-experiment", create=False)
    with pytest.raises(NotFoundError, match="experiment 'no-such-experiment'"):
        tracker.runs("no-such-experiment")
    with pytest.raises(NotFoundError, match="run '0123abcd' does not exist"):
        tracker.get_run("0123abcd")
    assert "no-such-experiment" not in {e.name for e in tracker.experiments()}


def test_a_bad_filter_names_the_filter(sqlite_tracking_uri):
    tracker = Tracker(sqlite_tracking_uri)
    tracker.experiment_id("filters")
    with pytest.raises(ValidationError, match=r"^filter: ") as caught:
        tracker.runs("filters", "params.lr = 0.1")  # a param value must be quoted
    assert caught.value.field == "filter"


def test_a_refused_run_is_not_left_behind(sqlite_tracking_uri):
    tracker = Tracker(sqlite_tracking_uri)
    with pytest.raises(ValidationError, match="params/tags/metrics"):
        tracker.start_run("refused", "bad-key", params={"lr": "0.1", "a@b": "1"})
    assert tracker.runs("refused") == []


def test_bad_status_is_refused_before_anything_is_written(sqlite_tracking_uri):
    tracker = Tracker(sqlite_tracking_uri)
    run_id = tracker.start_run("statuses", "r")
    with pytest.raises(ValidationError, match="status: 'DONE' is not one of FINISHED, FAILED"):
        tracker.finish_run(run_id, status="DONE")  # type: ignore[arg-type]
    assert tracker.get_run(run_id).info.status == "RUNNING"


def test_a_down_server_is_a_tracking_error_without_credentials():
    port = free_port()  # nobody listens there
    tracker = Tracker(f"http://user:{SECRET}@127.0.0.1:{port}", timeout=2)
    assert SECRET not in repr(tracker)
    started = time.monotonic()
    with pytest.raises(TrackingError) as caught:
        tracker.start_run("anything", "r")
    # A hang check, not a speed goal: MLflow's own retries would take minutes.
    assert time.monotonic() - started < 20
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}" in message
    assert caught.value.tracking_uri == f"http://127.0.0.1:{port}"
    assert SECRET not in message and "user" not in message


def test_a_server_that_never_answers_is_a_tracking_error():
    with socket.socket() as silent:  # accepts connections (the kernel does), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        tracker = Tracker(f"http://127.0.0.1:{port}", timeout=1)
        with pytest.raises(TrackingError, match=rf"127\.0\.0\.1:{port} is not reachable"):
            tracker.runs("anything")


class _HealthyButFailing(http.server.BaseHTTPRequestHandler):
    """Answers /health, and 503 (a status MLflow retries) to every API call."""

    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()
        self.wfile.write(b"OK")

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_a_server_failing_after_the_probe_is_a_tracking_error_after_few_retries():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HealthyButFailing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        started = time.monotonic()
        with pytest.raises(TrackingError, match=re.escape(url)):
            Tracker(url, timeout=2).runs("anything")
        # A hang check, not a speed goal: MLflow's default retries take minutes here.
        assert time.monotonic() - started < 30
    finally:
        server.shutdown()
        server.server_close()
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


def test_short_retries_leave_the_environment_as_it_was(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "77")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    before = dict(os.environ)
    with short_http_retries(2.5):
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"  # yours wins
        with short_http_retries(9):
            assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"
        assert os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "1"
    assert dict(os.environ) == before


def test_missing_mlflow_names_the_extra():
    code = ("import sys; sys.modules['mlflow'] = None\n"
            "from mlopskit.errors import MissingDependencyError\n"
            "from mlopskit.tracking import Tracker\n"
            "try:\n"
            "    Tracker('sqlite:////nonexistent/m.db').get_run('x')\n"
            "except MissingDependencyError as exc:\n"
            "    print(exc.extra, '|', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("tracking | ")
    assert 'pip install "mlopskit[tracking]"' in out


@pytest.mark.parametrize("code", [
    "import mlopskit, mlopskit.tracking as t\n"
    "mlopskit.Experiment, t.Tracker, t.Comparison, t.RunSummary",
    "import contextlib, io\nfrom mlopskit.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    main(['experiments', 'compare', '--help'])",
], ids=["objects", "cli-help"])
def test_tracking_objects_and_help_load_without_mlflow_or_pandas(code):
    code += ("\nimport json, sys\n"
             "print(json.dumps([m for m in ('mlflow', 'pandas', 'matplotlib') "
             "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


def _write_runs(uri: str, writer: int, count: int) -> None:
    tracker = Tracker(uri)
    for number in range(count):
        run_id = tracker.start_run("concurrent", f"w{writer}-{number}",
                                   params={"writer": str(writer)})
        tracker.finish_run(run_id, status="FINISHED",
                           metrics=[MetricPoint("n", float(number), 1, T0)])


@pytest.mark.slow
def test_three_processes_write_to_one_sqlite_experiment(sqlite_tracking_uri):
    Tracker(sqlite_tracking_uri).experiment_id("concurrent")  # the store exists first
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_runs, args=(sqlite_tracking_uri, w, 6))
               for w in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=240)
    assert [p.exitcode for p in writers] == [0, 0, 0]
    runs = Tracker(sqlite_tracking_uri).runs("concurrent")
    assert sorted(r.info.run_name for r in runs) == sorted(
        f"w{w}-{n}" for w in range(3) for n in range(6))
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["mlopskit.finished"] for r in runs} == {"1"}
