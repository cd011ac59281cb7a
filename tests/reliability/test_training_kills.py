"""Training and processing jobs whose supervisor or caller is SIGKILLed at each phase."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlopskit

from .chaos import GATE_FUNCTION, assert_settled, kill, poll, store_row, write_lock

pytestmark = pytest.mark.slow

# The script reaches the point, says so, and waits there for ever; it leaves a child in its
# process group first (and waits until that child runs), as a script that starts a helper
# process would.
RUNNING = GATE_FUNCTION + """\
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "print('up', flush=True); "
                          "import threading; threading.Event().wait()"], stdout=subprocess.PIPE)
child.stdout.readline()
gate(f"running {os.getpid()} {child.pid}")
threading.Event().wait()
"""

# A model whose archive takes seconds to make: a 1 GiB sparse file (no disk used).
BIG_MODEL = GATE_FUNCTION + """\
with open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.bin"), "wb") as handle:
    handle.truncate(1 << 30)
gate("trained")
"""

ESTIMATOR = """\
estimator = mlopskit.Estimator("train.py", source_dir=os.environ["CHAOS_CODE"],
                               image_uri="{image}", instance_type="ml.m5.large",
                               session=session)
"""


def _supervisor(root: Path, name: str, table: str = "training_jobs") -> int:
    """The detached supervisor's pid (recorded before the caller returned)."""
    return int(store_row(root, f"SELECT supervisor_pid FROM {table} WHERE name = ?",
                         (name,))[0])


def _detached(scenario, script: str, name: str, inputs: str = "None"):
    """Start a detached training job from a caller that exits at once; its supervisor."""
    code = scenario.code("train.py", script)
    caller = scenario.caller(
        ESTIMATOR.format(image="img:1") + f"estimator.fit({inputs}, wait=False, logs=False, "
        f"job_name={name!r})\n", CHAOS_CODE=str(code))
    caller.finish()
    return _supervisor(scenario.root, name)


def _failed_by_death(job: mlopskit.TrainingJob | mlopskit.ProcessingJob, pid: int) -> None:
    described = job.describe()
    assert described.status == "Failed"
    assert f"(pid {pid}) exited before it finished" in described.failure_reason


def test_supervisor_killed_while_downloading(scenario):
    bucket = scenario.session.default_bucket
    for index in range(1500):  # enough objects that the download takes a while
        scenario.session.write_bytes(b"1,2,3\n", f"s3://{bucket}/many/part-{index:04d}.csv")
    supervisor = _detached(scenario, RUNNING, "dl", inputs=f"{{'train': 's3://{bucket}/many/'}}")
    poll(lambda: store_row(scenario.root, "SELECT secondary_status FROM training_jobs WHERE "
                                          "name = 'dl'")[0],
         lambda status: status != "Starting", watch=supervisor, what="the download")
    with write_lock(scenario.root):  # it cannot record "Training" now: caught downloading
        assert store_row(scenario.root, "SELECT secondary_status FROM training_jobs WHERE "
                                        "name = 'dl'")[0] == "Downloading"
        kill(supervisor)
    job = mlopskit.TrainingJob.attach("dl", session=scenario.session)
    _failed_by_death(job, supervisor)
    assert job.secondary_status == "Failed" and job.model_data is None
    job_dir = Path(job.describe().raw["JobDir"])
    assert not (job_dir / "hosts" / "algo-1" / "input" / "data").exists()  # copies removed
    assert_settled(scenario.root)


def test_supervisor_killed_while_the_script_runs(scenario):
    supervisor = _detached(scenario, RUNNING, "running")
    assert scenario.gate.wait(watch=supervisor).startswith("running")
    kill(supervisor)
    job = mlopskit.TrainingJob.attach("running", session=scenario.session)
    _failed_by_death(job, supervisor)  # and the script and its child are gone:
    assert_settled(scenario.root)


def test_supervisor_killed_while_uploading(scenario):
    supervisor = _detached(scenario, BIG_MODEL, "uploading")
    scenario.gate.wait(watch=supervisor)
    poll(lambda: store_row(scenario.root, "SELECT secondary_status FROM training_jobs WHERE "
                                          "name = 'uploading'")[0],
         lambda status: status == "Uploading", watch=supervisor, what="the upload")
    kill(supervisor)
    job = mlopskit.TrainingJob.attach("uploading", session=scenario.session)
    _failed_by_death(job, supervisor)
    assert job.model_data is None
    # A Failed job uploads nothing: no archive, whole or partial, under its output prefix.
    output = f"s3://{scenario.session.default_bucket}/uploading/output/"
    assert scenario.session.list(output) == []
    assert not (Path(job.describe().raw["JobDir"]) / "model.tar.gz").exists()
    assert_settled(scenario.root)


def test_caller_of_fit_wait_true_killed(scenario):
    code = scenario.code("train.py", RUNNING)
    caller = scenario.caller(ESTIMATOR.format(image="img:1") + "estimator.fit(wait=True, "
                             "logs=False, job_name='inline')\n", CHAOS_CODE=str(code))
    assert scenario.gate.wait(watch=caller.pid).startswith("running")
    caller.kill()
    job = mlopskit.TrainingJob.attach("inline", session=scenario.session)
    _failed_by_death(job, caller.pid)
    assert_settled(scenario.root)


def test_processing_supervisor_killed_while_the_script_runs(scenario):
    script = scenario.tmp / "process.py"
    script.write_text(RUNNING)
    caller = scenario.caller(f"""\
        processor = mlopskit.Processor(image_uri="img:1", instance_type="ml.m5.large",
                                       session=session)
        processor.run({str(script)!r}, wait=False, logs=False, job_name="proc")
        """)
    caller.finish()
    supervisor = _supervisor(scenario.root, "proc", "processing_jobs")
    assert scenario.gate.wait(watch=supervisor).startswith("running")
    kill(supervisor)
    job = mlopskit.ProcessingJob.attach("proc", session=scenario.session)
    _failed_by_death(job, supervisor)
    assert_settled(scenario.root)
