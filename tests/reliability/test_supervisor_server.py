"""Detached jobs whose supervisor was forked by the pre-started supervisor server, with the
supervisor, the server or the caller SIGKILLed (see _supervisor_server.py)."""

from __future__ import annotations

import os

import pytest

import mlopskit

from .chaos import GATE_FUNCTION, assert_settled, kill, poll, store_row, wait_exit

pytestmark = pytest.mark.slow

# Runs, says so (with a child left in its process group), then waits on CHAOS_GO2.
RUNNING = GATE_FUNCTION + """\
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "print('up', flush=True); "
                          "import threading; threading.Event().wait()"], stdout=subprocess.PIPE)
child.stdout.readline()
gate(f"running {os.getpid()} {child.pid}")
with open(os.environ["CHAOS_GO2"]) as fifo:
    fifo.readline()
"""

# A first detached job makes the caller start its server (that job's supervisor is
# spawned); once the server is up, the second job's supervisor is forked by it.
CALLER = """\
from mlopskit.backends.local import _supervisor_server

def estimator(folder):
    return mlopskit.Estimator("train.py", source_dir=folder, image_uri="img:1",
                              instance_type="ml.m5.large", session=session)

estimator(os.environ["CHAOS_WARM"]).fit(wait=False, logs=False, job_name="warm").wait()
assert _supervisor_server.wait_ready(60), "the supervisor server did not come up"
estimator(os.environ["CHAOS_CODE"]).fit(wait=False, logs=False, job_name="forked")
gate(f"server {_supervisor_server.server_pid()}")
hold()
"""


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    return int(stat[stat.rfind(b")") + 2:].split()[1])


def _start(scenario):
    """A caller whose job "forked" runs under a forked supervisor; (caller, server pid,
    supervisor pid, go2 FIFO) once the script runs."""
    go2 = scenario.tmp / "go2"
    os.mkfifo(go2)
    warm = scenario.tmp / "code-warm"
    warm.mkdir()
    (warm / "train.py").write_text("print('warm')\n")
    code = scenario.code("train.py", RUNNING)
    caller = scenario.caller(CALLER, CHAOS_WARM=str(warm), CHAOS_CODE=str(code),
                             CHAOS_GO2=str(go2))
    lines = sorted(scenario.gate.wait(watch=caller.pid) for _ in range(2))
    assert lines[0].startswith("running") and lines[1].startswith("server"), lines
    server = int(lines[1].split()[1])
    supervisor = int(store_row(scenario.root, "SELECT supervisor_pid FROM training_jobs "
                                              "WHERE name = 'forked'")[0])
    # The forked supervisor is the server's child, in a session and group of its own.
    assert _ppid(supervisor) == server
    assert os.getsid(supervisor) == supervisor and os.getpgid(supervisor) == supervisor
    warm_job = mlopskit.TrainingJob.attach("warm", session=scenario.session)
    assert warm_job.describe().status == "Completed"
    return caller, server, supervisor, go2


def test_forked_supervisor_killed_while_the_script_runs(scenario):
    caller, _, supervisor, _ = _start(scenario)
    kill(supervisor)
    job = mlopskit.TrainingJob.attach("forked", session=scenario.session)
    described = job.describe()
    assert described.status == "Failed"
    assert f"(pid {supervisor}) exited before it finished" in described.failure_reason
    scenario.release()  # the caller exits; its server goes with it
    caller.finish()
    assert_settled(scenario.root)


def test_a_killed_server_leaves_its_jobs_running(scenario):
    caller, server, supervisor, go2 = _start(scenario)
    kill(server)
    scenario.release()
    caller.finish()
    with open(go2, "w") as fifo:  # the script ends: its job completes without the server
        fifo.write("go\n")
    status = poll(lambda: store_row(scenario.root, "SELECT status FROM training_jobs WHERE "
                                                   "name = 'forked'")[0],
                  lambda value: value != "InProgress", watch=supervisor, what="the job")
    assert status == "Completed"
    job = mlopskit.TrainingJob.attach("forked", session=scenario.session)
    assert job.describe().status == "Completed" and job.model_data
    assert_settled(scenario.root)


def test_the_server_exits_with_its_caller(scenario):
    caller, server, supervisor, go2 = _start(scenario)
    caller.kill()  # SIGKILL: its end of the server's pipe closes with it
    assert wait_exit(server, 30), "the supervisor server outlived the process that made it"
    with open(go2, "w") as fifo:
        fifo.write("go\n")
    assert wait_exit(supervisor, 30)
    job = mlopskit.TrainingJob.attach("forked", session=scenario.session)
    assert job.describe().status == "Completed"
    assert_settled(scenario.root)
