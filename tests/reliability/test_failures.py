"""Failures that are not kills: every one must end the job with a reason and stop what it
started; and recorded pids must never reach a process that merely reuses the number."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import mlopskit
from mlopskit.backends.local import _processes

from .chaos import assert_settled, wait_exit

SCRIPTS = Path(__file__).parent.parent / "scripts" / "inference"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _model(session: mlopskit.LocalSession, tmp_path: Path) -> mlopskit.Model:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
    uri = session.write_bytes(buffer.getvalue(), "s3://mlopskit-local/m/model.tar.gz")
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(SCRIPTS / "echo_rows.py", code / "echo_rows.py")
    return mlopskit.Model(uri, image_uri=IMAGE, entry_point="echo_rows.py", source_dir=code,
                          session=session)


@pytest.mark.parametrize(("body", "content_type", "options", "reason"), [
    (b"1,2\n\xff\xfe,3\n", "text/csv", {}, "is not UTF-8 text (byte 4: invalid start byte)"),
    (b'{"features": [1, 2]}\n{"features": \n', "application/json",
     {"input_filter": "$.features"}, "filter '$.features': a record is not JSON"),
], ids=["non-utf8-csv", "bad-json-with-filter"])
def test_a_transform_whose_input_does_not_decode_fails_with_a_reason(
        tmp_path, body, content_type, options, reason):
    root = tmp_path / "root"
    with mlopskit.LocalSession(root=root) as session:
        data = session.write_bytes(body, "s3://mlopskit-local/in/rows")
        job = _model(session, tmp_path).transformer(1, "ml.m5.large", **options).transform(
            data, content_type=content_type, job_name="undecodable", wait=False)
        described = job.describe()
        assert described.status == "Failed"
        assert described.failure_reason.startswith(f"ClientError: input {data}: ")
        assert reason in described.failure_reason
        assert described.end_time is not None
    assert_settled(root)  # its server was stopped


def _own_group(*extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A process in its own group that waits (and, with ``extra``, first starts a child)."""
    code = "import subprocess, sys, threading\n" + "".join(extra) + \
        "threading.Event().wait()\n"
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE)


def test_a_recorded_pid_whose_start_time_differs_is_never_signalled():
    proc = _own_group()
    try:
        pid, start = _processes.identity(proc.pid)
        assert start is not None and _processes.running(pid, start)
        assert not _processes.stop_group(pid, start + 1)  # "the same pid, reused": untouched
        assert not _processes.stop_group(pid, None)  # unknown start time: untouched
        assert proc.poll() is None
        assert _processes.stop_group(pid, start)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert not _processes.running(pid, start)
    finally:
        proc.kill()
        proc.wait()


def test_a_group_whose_leader_died_is_stopped_by_its_mark_only():
    mark = "SM_MODEL_DIR=/chaos/jobs/training/j/hosts/algo-1/model"
    # The child prints its own pid: once it is read, the child runs (past its exec).
    leader = _own_group("subprocess.Popen([sys.executable, '-c', 'import os, threading; "
                        "print(os.getpid(), flush=True); threading.Event().wait()'])\n",
                        env={"SM_MODEL_DIR": mark.split("=", 1)[1]})
    try:
        child = int(leader.stdout.readline())
        pid, start = _processes.identity(leader.pid)
        leader.kill()
        leader.wait()  # the leader is gone; its child is still in group `pid`
        assert _processes.running(child, None)
        other = (b"SM_MODEL_DIR=/chaos/jobs/training/other/",)
        assert not _processes.stop_group(pid, start, environ_entries=other)
        assert _processes.running(child, None)
        assert _processes.stop_group(pid, start, environ_entries=(
            b"SM_MODEL_DIR=/chaos/jobs/training/j/hosts/",))
        assert wait_exit(child, 30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(leader.pid, signal.SIGKILL)  # what is left of the group, if anything
