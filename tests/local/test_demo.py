"""`mlopskit demo`, the README's first command: the whole lifecycle on the local backend."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlopskit
from mlopskit.cli import main
from mlopskit.demo import DEMO_NAMES, run_demo
from mlopskit.pipeline.execution import PipelineExecution, pipeline_engine

pytestmark = pytest.mark.slow


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


def test_the_demo_runs_end_to_end_and_leaves_no_server_behind(tmp_path):
    root = tmp_path / "store"
    done = subprocess.run([sys.executable, "-m", "mlopskit", "--root", str(root), "demo"],
                          capture_output=True, text=True, timeout=300, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for header in ("[1/7] Making data", "[2/7] Running the pipeline", "[3/7] Approving",
                   "[4/7] Deploying", "[5/7] Sending predictions", "[6/7] Scoring a file",
                   "[7/7] Training version 2"):
        assert header in out
    assert "Preprocess   Succeeded" in out and "from the cache" in out  # second run reuses it
    assert "canary 20% -> 100%: completed" in out
    assert f"Everything is stored under {root}" in out
    assert f"registry versions {DEMO_NAMES['group']}" in out

    session = mlopskit.LocalSession(root=root)
    group = mlopskit.ModelPackageGroup(DEMO_NAMES["group"], session=session)
    versions = sorted(group.versions(), key=lambda p: p.version)
    assert [(p.version, p.approval_status.value) for p in versions] == [
        (1, "Approved"), (2, "Approved")]
    assert versions[1].metrics["accuracy"] >= versions[0].metrics["accuracy"]
    engine = pipeline_engine(session)
    executions = [PipelineExecution(arn, session)
                  for arn in engine.list_executions(DEMO_NAMES["pipeline"])]
    assert [e.status for e in executions] == ["Succeeded", "Succeeded"]
    batch = [line for line in out.splitlines() if line.strip().startswith("= ")]
    predictions = Path(batch[0].strip()[2:]).read_text().splitlines()
    assert len(predictions) == 1000 and set(predictions) <= {"0", "1"}
    assert mlopskit.Endpoint.list(session) == []  # the endpoint is deleted
    assert processes_mentioning(str(root)) == []  # and no server of it is left running
    session.close()


def test_running_the_demo_again_in_the_same_store_adds_versions(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path / "store")
    first = run_demo(session, out=io.StringIO(), canary_wait=0.5)
    again = run_demo(session, out=io.StringIO(), canary_wait=0.5)
    assert (first.versions, again.versions) == ((1, 2), (3, 4))
    assert again.accuracies == first.accuracies  # same data, same models
    assert mlopskit.Endpoint.list(session) == []
    session.close()


@pytest.mark.parametrize(("argv", "message"), [
    (["--backend", "aws", "demo"], "--backend: the demo runs on the local backend only"),
    (["demo", "--rows", "10"], "--rows: between 500 and 200000, got 10"),
    (["demo", "--rows", "many"], "argument --rows: invalid int value: 'many'"),
])
def test_bad_demo_arguments_exit_2_and_make_nothing(argv, message, tmp_path, capsys):
    root = tmp_path / "store"
    assert main(["--root", str(root), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not root.exists()
