"""Batch transform workers forked from a zygote that loaded the model once
(_transform_workers.py, _zygote.py): who answers, how often model_fn runs, what is kept
between jobs and what is left when the session closes."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import pytest

import mlopskit
from mlopskit.backends.local import _processes
from mlopskit.backends.local._transform_workers import FORK_VARIABLE
from mlopskit.errors import JobFailedError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="transform workers are forked on Linux only")

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

# model_fn notes each load (its pid) in LOADS; every answer line names the process that
# answered: its pid, its parent and its session.
SCRIPT = """\
import os, threading


def model_fn(model_dir):
    with open(os.environ["LOADS"], "a") as handle:
        handle.write(f"{os.getpid()}\\n")
    if os.environ.get("LOAD_FAILS") == "1":
        raise RuntimeError("cannot load weights")
    if os.environ.get("LOAD_STARTS_A_THREAD") == "1":
        threading.Thread(target=threading.Event().wait, daemon=True).start()
    return "model"


def transform_fn(model, body, content_type, accept):
    me = f"{os.getpid()},{os.getppid()},{os.getsid(0)}"
    return "".join(me + "\\n" for line in body.splitlines() if line.strip()), "text/csv"
"""


def _model(session: mlopskit.LocalSession, tmp_path: Path, **env: str) -> mlopskit.Model:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
    uri = session.write_bytes(buffer.getvalue(),
                              f"s3://{session.default_bucket}/workers/model.tar.gz")
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "serve.py").write_text(SCRIPT)
    return mlopskit.Model(uri, image_uri=IMAGE, entry_point="serve.py", source_dir=code,
                          environment={"LOADS": str(tmp_path / "loads.txt"), **env},
                          session=session)


def _transform(session: mlopskit.LocalSession, model: mlopskit.Model,
               name: str) -> list[tuple[int, int, int]]:
    """Run a 2-instance transform of 400 single-record requests; who answered each."""
    data = session.write_bytes(b"".join(b"%d,1\n" % i for i in range(400)),
                               f"s3://{session.default_bucket}/workers-in/{name}.csv")
    job = model.transformer(2, "ml.m5.large", strategy="SingleRecord",
                            max_concurrent_transforms=2).transform(data, job_name=name)
    lines = session.read_bytes(job.outputs[0]).decode().splitlines()
    assert len(lines) == 400
    return [tuple(int(x) for x in line.split(",")) for line in lines]  # type: ignore[misc]


def _loads(tmp_path: Path) -> list[int]:
    path = tmp_path / "loads.txt"
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_workers_are_forked_from_one_load_and_kept_for_the_next_job(tmp_path):
    root = tmp_path / "root"
    with mlopskit.LocalSession(root=root) as session:
        model = _model(session, tmp_path)
        first = _transform(session, model, "first")
        (zygote,) = _loads(tmp_path)  # model_fn ran once for all the job's workers
        assert zygote != os.getpid()
        workers = {pid for pid, _, _ in first}
        assert len(workers) >= 2  # each instance has its own workers
        for pid, parent, session_id in first:
            assert parent == zygote  # forked from the process that loaded the model
            assert session_id == pid  # each in a session (and group) of its own
        assert not any(_processes.running(pid, None) for pid in workers)  # stopped at the end
        # The same model again: the kept zygote forks fresh workers; no second load.
        second = _transform(session, model, "second")
        assert _loads(tmp_path) == [zygote]
        assert {parent for _, parent, _ in second} == {zygote}
        assert not workers & {pid for pid, _, _ in second}
        assert _processes.running(zygote, None)
    # Closing the session stops the kept zygote and removes its copy of the model.
    assert not _processes.running(zygote, None)
    assert list((root / "endpoints" / "_zygotes").iterdir()) == []


def test_without_forking_each_instance_loads_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv(FORK_VARIABLE, "0")
    with mlopskit.LocalSession(root=tmp_path / "root") as session:
        answers = _transform(session, _model(session, tmp_path), "spawned")
    loads = _loads(tmp_path)
    assert len(loads) == 2  # one inference server per instance, each loading the model
    assert {pid for pid, _, _ in answers} == set(loads)
    assert {parent for _, parent, _ in answers} == {os.getpid()}


def test_a_model_fn_that_leaves_a_thread_gets_servers_started_the_usual_way(tmp_path):
    with mlopskit.LocalSession(root=tmp_path / "root") as session:
        model = _model(session, tmp_path, LOAD_STARTS_A_THREAD="1")
        answers = _transform(session, model, "threads")
    zygote, *servers = _loads(tmp_path)  # loaded by the zygote, which then refused to fork
    assert len(servers) == 2
    assert {pid for pid, _, _ in answers} == set(servers)
    assert {parent for _, parent, _ in answers} == {os.getpid()}
    assert not _processes.running(zygote, None)


def test_a_failed_load_fails_the_job_and_leaves_nothing(tmp_path):
    root = tmp_path / "root"
    with mlopskit.LocalSession(root=root) as session:
        model = _model(session, tmp_path, LOAD_FAILS="1")
        with pytest.raises(JobFailedError, match="did not start: RuntimeError: cannot load "
                                                 "weights; its log is") as failed:
            _transform(session, model, "broken")
        assert "in model_fn" in str(failed.value)  # the tail of its log, quoted
        (zygote,) = _loads(tmp_path)
        assert not _processes.running(zygote, None)
        assert list((root / "endpoints" / "_zygotes").iterdir()) == []
        # A failed zygote is not kept: the next job loads anew (and fails the same way).
        with pytest.raises(JobFailedError, match="cannot load weights"):
            _transform(session, model, "broken-again")
        assert len(_loads(tmp_path)) == 2
