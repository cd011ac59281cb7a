"""``mlopskit doctor``: exit codes, what it settles and reports; older stores stay readable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlopskit
from mlopskit.backends.local import _processes
from mlopskit.cli import main
from mlopskit.pipeline import FailStep, Pipeline

from .chaos import doctor


def _sql(root: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    with sqlite3.connect(root / "metadata.db") as db:
        for sql, params in statements:
            db.execute(sql, params)


def _dead_process() -> tuple[int, int | None]:
    """The identity of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    found = _processes.identity(proc.pid)
    proc.communicate(b"")
    return found


def test_a_sound_store_is_ok(tmp_path, capsys):
    mlopskit.LocalSession(root=tmp_path).backend.close()
    assert main(["--root", str(tmp_path), "doctor"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"root {tmp_path}", "metadata.db: integrity ok", "ok"]


def test_a_job_left_running_by_a_dead_process_is_settled(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path)
    script = tmp_path / "noop.py"
    script.write_text("print('hi')\n")
    job = mlopskit.Estimator(str(script), image_uri="img:1", instance_type="ml.m5.large",
                             session=session).fit(logs=False)
    pid, start = _dead_process()
    _sql(tmp_path, ("UPDATE training_jobs SET status = 'InProgress', supervisor_pid = ?, "
                    "supervisor_start = ? WHERE name = ?", (pid, start, job.name)))
    (tmp_path / "s3" / "mlopskit-local" / ".upload-abc").write_bytes(b"half")
    code, report = doctor(tmp_path)
    assert code == 0 and report["ok"] and report["problems"] == []
    assert report["settled"] == [
        f"training job {job.name}: Failed: InternalServerError: the process running the job "
        f"(pid {pid}) exited before it finished"]
    assert report["leftovers"] == [str(tmp_path / "s3" / "mlopskit-local" / ".upload-abc")]
    assert job.describe().status == "Failed"
    session.close()


def test_broken_invariants_exit_1(tmp_path, capsys):
    group = mlopskit.ModelPackageGroup("g", session=mlopskit.LocalSession(root=tmp_path))
    group.create()
    # A gap in the version numbers, and an endpoint whose server is gone (and whose config,
    # too: a row the describe pass cannot read is reported, not a crash).
    _sql(tmp_path,
         ("INSERT INTO model_packages VALUES ('g', 2, 'arn', 'Approved', '{}', 'now')", ()),
         ("INSERT INTO endpoints (name, config_name, status, servers, weights, created) "
          "VALUES ('ep', 'cfg', 'InService', ?, '{}', 'now')",
          (json.dumps({"AllTraffic": {"pid": _dead_process()[0], "port": 1}}),)))
    assert main(["--root", str(tmp_path), "doctor"]) == 1
    captured = capsys.readouterr()
    assert "problem: model package group g: versions 2..2 with 1 packages" in captured.out
    assert "problem: endpoint ep (InService) variant AllTraffic: its server" in captured.out
    assert "problem: endpoint ep cannot be described: " in captured.out
    assert captured.out.rstrip().endswith("3 problems")
    assert captured.err.startswith("mlopskit: MlopsKitError: the store at ")


def test_doctor_is_for_the_local_backend(capsys):
    assert main(["--backend", "aws", "doctor"]) == 2
    assert "doctor checks the local backend's store" in capsys.readouterr().err


def test_a_store_made_before_owners_were_recorded_opens_and_reads(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path)
    Pipeline("p", steps=[FailStep("F", "no")], session=session).upsert()  # its tables
    script = tmp_path / "noop.py"
    script.write_text("print('hi')\n")
    job = mlopskit.Estimator(str(script), image_uri="img:1", instance_type="ml.m5.large",
                             session=session).fit(logs=False)
    session.close()
    old = {"training_jobs": ["supervisor_start"], "processing_jobs": ["supervisor_start"],
           "transform_jobs": ["owner_pid", "owner_start", "servers"],
           "endpoints": ["owner_pid", "owner_start"],
           "pipeline_executions": ["owner_pid", "owner_start"]}
    pid = _dead_process()[0]
    _sql(tmp_path, *[(f"ALTER TABLE {table} DROP COLUMN {column}", ())
                     for table, columns in old.items() for column in columns],
         ("UPDATE meta SET value = '2' WHERE key = 'schema_version'", ()),
         # As an older mlopskit left a job whose supervisor died: host pids as bare numbers.
         ("UPDATE training_jobs SET status = 'InProgress', supervisor_pid = ?, host_pids = "
          "'[999999]' WHERE name = ?", (pid, job.name)))
    session = mlopskit.LocalSession(root=tmp_path)
    backend = session.backend
    from mlopskit.pipeline.execution import pipeline_engine

    pipeline_engine(session)  # the engine adds its own columns
    for table, columns in old.items():
        have = {r["name"] for r in backend.store.query_all(f"PRAGMA table_info({table})")}
        assert set(columns) <= have, table
    from mlopskit.backends.local.store import SCHEMA_VERSION

    assert backend.store.query_one("SELECT value FROM meta")["value"] == str(SCHEMA_VERSION)
    # No start time was recorded: liveness falls back to the pid, and nothing is signalled.
    assert job.describe().status == "Failed"
    assert backend.check_store().ok
    session.close()
