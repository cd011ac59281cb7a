"""Detached supervisors forked by the pre-started supervisor server (_supervisor_server.py):
the same process, environment and claim rules as a spawned one."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import mlopskit
from mlopskit.backends.local import _supervisor_server
from mlopskit.backends.local._supervise import run_job

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the supervisor server forks, on Linux only")

# What the script sees of its supervisor (its parent): who started it, in which session,
# from which folder, and what the caller's environment held at the call.
REPORT = """\
import json, os
supervisor = os.getppid()
with open(f"/proc/{supervisor}/stat", "rb") as handle:
    stat = handle.read()
fields = stat[stat.rfind(b")") + 2:].split()
print("REPORT " + json.dumps({
    "supervisor": supervisor, "supervisor_parent": int(fields[1]),
    "supervisor_session": int(fields[3]), "supervisor_cwd": os.readlink(f"/proc/{supervisor}/cwd"),
    "mark": os.environ.get("MLOPSKIT_TEST_MARK")}))
"""


def _report(job: mlopskit.TrainingJob) -> dict[str, object]:
    log = Path(job.describe().raw["JobDir"]) / "logs" / "training.log"
    line = next(x for x in log.read_text().splitlines() if x.startswith("REPORT "))
    found: dict[str, object] = json.loads(line.removeprefix("REPORT "))
    return found


def _estimator(session: mlopskit.LocalSession, tmp_path: Path, script: str,
               **kwargs: object) -> mlopskit.Estimator:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "train.py").write_text(script)
    return mlopskit.Estimator("train.py", source_dir=str(code), instance_type="ml.m5.large",
                              session=session, **kwargs)


def test_a_forked_supervisor_has_the_callers_environment_and_folder_at_the_call(
        local_session, tmp_path, monkeypatch):
    assert _supervisor_server.wait_ready(60)
    folder = tmp_path / "called-from"
    folder.mkdir()
    # Set after the server started: what counts is the caller's state at the call.
    monkeypatch.setenv("MLOPSKIT_TEST_MARK", "at-the-call")
    monkeypatch.chdir(folder)
    job = _estimator(local_session, tmp_path, REPORT).fit(wait=False, logs=False).wait()
    report = _report(job)
    assert report["supervisor_parent"] == _supervisor_server.server_pid() != os.getpid()
    assert report["supervisor_session"] == report["supervisor"]  # a session of its own
    assert report["supervisor_cwd"] == str(folder)
    assert report["mark"] == "at-the-call"
    row = local_session.backend.store.query_one(
        "SELECT supervisor_pid FROM training_jobs WHERE name = ?", (job.name,))
    assert row["supervisor_pid"] == report["supervisor"]
    assert (Path(job.describe().raw["JobDir"]) / "supervisor.log").is_file()


def test_without_the_server_the_supervisor_is_spawned(local_session, tmp_path, monkeypatch):
    monkeypatch.setenv(_supervisor_server.SERVER_VARIABLE, "0")
    monkeypatch.setenv("MLOPSKIT_TEST_MARK", "spawned")
    job = _estimator(local_session, tmp_path, REPORT).fit(wait=False, logs=False).wait()
    report = _report(job)
    assert report["supervisor_parent"] == os.getpid()
    assert report["supervisor_session"] == report["supervisor"]
    assert report["mark"] == "spawned"


def test_a_second_supervisor_for_a_claimed_job_stops_at_its_claim(local_session, tmp_path):
    from ..reliability.chaos import Gate

    gate = Gate(tmp_path / "gate")
    go = tmp_path / "go"
    os.mkfifo(go)
    script = ("import os\n"
              "with open(os.environ['GATE'], 'w') as fifo:\n"
              "    fifo.write('running\\n')\n"
              "with open(os.environ['GO']) as fifo:\n"
              "    fifo.readline()\n"
              "print('ran once')\n")
    estimator = _estimator(local_session, tmp_path, script,
                           environment={"GATE": str(gate.path), "GO": str(go)})
    try:
        job = estimator.fit(wait=False, logs=False)
        assert gate.wait() == "running"
        query = "SELECT status, supervisor_pid FROM training_jobs WHERE name = ?"
        before = tuple(local_session.backend.store.query_one(query, (job.name,)))
        # Another supervisor of the same creator (as a fallback spawned after a lost
        # server answer would be): the job is no longer its creator's, so it stops there.
        backend = local_session.backend
        assert run_job(backend.root, job.name, backend.region, backend.python, "training",
                       os.getpid()) == 0
        assert tuple(local_session.backend.store.query_one(query, (job.name,))) == before
        assert before[0] == "InProgress" and before[1] != os.getpid()
        with open(go, "w") as fifo:
            fifo.write("go\n")
        job.wait()
        log = (Path(job.describe().raw["JobDir"]) / "logs" / "training.log").read_text()
        assert log.count("ran once") == 1
    finally:
        gate.close()
