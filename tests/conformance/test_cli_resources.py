"""``mlopskit jobs|endpoints|pipelines`` on both backends: output, --json, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

import mlopskit
from mlopskit.cli import main
from mlopskit.errors import JobFailedError
from mlopskit.testing import cli_environment
from mlopskit.testing.conformance import ResourcesCliConformance
from mlopskit.testing.conformance.cli import PREPARE, train

from ..helpers import IMAGE


class TestResourcesCli(ResourcesCliConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _train(session, tmp_path, **kwargs) -> mlopskit.TrainingJob:
    return train(session, tmp_path, **kwargs)


@pytest.fixture
def cli(any_session, moto_service, monkeypatch):
    """The CLI pointed at ``any_session``'s backend through the environment (moto patched
    as for the conformance classes)."""
    for key, value in cli_environment(any_session).items():
        monkeypatch.setenv(key, value)
    return any_session


@pytest.mark.parametrize("any_session", ["aws"], indirect=True)
def test_logs_read_every_line_of_a_job_on_aws(cli, tmp_path, capsys):
    """On AWS the lines come from CloudWatch Logs (``/aws/sagemaker/ProcessingJobs``);
    moto writes none for its jobs, so the test puts two hosts' lines there itself."""
    script = tmp_path / "prepare.py"
    script.write_text(PREPARE)
    job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                             session=cli).run(script, logs=False)
    logs = cli.boto3_session.client("logs")
    group = "/aws/sagemaker/ProcessingJobs"
    logs.create_log_group(logGroupName=group)
    for host, words in (("algo-1", ["first", "second"]), ("algo-2", ["third"])):
        stream = f"{job.name}/{host}-1700000000"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now_ms = int(time.time() * 1000)  # CloudWatch (and moto) drop events days old
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now_ms + i, "message": w} for i, w in enumerate(words)])
    code, out, _ = run(capsys, "jobs", "logs", job.name)
    assert code == 0
    assert out.splitlines() == ["[algo-1] first", "[algo-1] second", "[algo-2] third"]


def test_stopping_a_running_job(local_session, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLOPSKIT_ROOT", str(local_session.root))
    monkeypatch.setenv("MLOPSKIT_BACKEND", "local")
    job = _train(local_session, tmp_path, wait=False,
                 script="import time\nprint('started', flush=True)\ntime.sleep(120)\n")
    code, out, _ = run(capsys, "jobs", "stop", job.name, "--json")
    assert code == 0
    assert json.loads(out)["status"] in ("Stopping", "Stopped")
    attached = mlopskit.TrainingJob.attach(job.name, session=local_session)
    with pytest.raises(JobFailedError, match="ended Stopped"):
        attached.wait(timeout=60)
    assert attached.status == "Stopped"
    code, _, err = run(capsys, "jobs", "stop", job.name)
    assert code == 1 and "only an InProgress job can be stopped" in err


# -- the installed command --------------------------------------------------------------------


def test_the_command_runs_as_a_module(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mlopskit", "--root", str(tmp_path),
                           "jobs", "list"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "(no jobs)")
    bad = subprocess.run([sys.executable, "-m", "mlopskit", "jobs", "list", "--type", "x"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid choice: 'x'" in bad.stderr


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    """`mlopskit jobs list | head -1`: the reader leaves early; no traceback."""
    root = tmp_path / "store"
    session = mlopskit.LocalSession(root=root)
    for index in range(3):
        _train(session, tmp_path / f"code-{index}")
    session.close()
    reader = subprocess.Popen([sys.executable, "-m", "mlopskit", "--root", str(root), "jobs",
                               "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as `head` does once it has its lines
    errors = reader.stderr.read().decode()
    assert reader.wait(timeout=60) in (0, 1)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors
