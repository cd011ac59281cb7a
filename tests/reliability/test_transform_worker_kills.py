"""Batch transforms whose workers were forked from a kept zygote (_transform_workers.py):
a worker or the caller SIGKILLed while a request is held."""

from __future__ import annotations

import io
import tarfile

import pytest

from mlopskit.serving.transform import TransformJob

from .chaos import GATE_FUNCTION, IMAGE, assert_settled, kill

pytestmark = pytest.mark.slow

# Notes each load; echoes each request; once CHAOS_FLAG exists, the request carrying
# record 0 says so and is held for ever.
HANDLER = GATE_FUNCTION + """\
def model_fn(model_dir):
    with open(os.environ["CHAOS_LOADS"], "a") as handle:
        handle.write(f"{os.getpid()}\\n")
    return "echo"


def transform_fn(model, body, content_type, accept):
    if body.startswith("0,") and os.path.exists(os.environ["CHAOS_FLAG"]):
        gate(f"request {os.getpid()} {os.getppid()}")
        threading.Event().wait()
    return body, "text/csv"
"""


def _caller(scenario, jobs: str):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
    bucket = scenario.session.default_bucket
    model_uri = scenario.session.write_bytes(buffer.getvalue(),
                                             f"s3://{bucket}/chaos-model/model.tar.gz")
    data = scenario.session.write_bytes(b"".join(b"%d,1,2\n" % i for i in range(200)),
                                        f"s3://{bucket}/chaos-in/rows.csv")
    code = scenario.code("handler.py", HANDLER)
    return scenario.caller(f"""\
model = mlopskit.Model({model_uri!r}, image_uri={IMAGE!r}, entry_point='handler.py',
                       source_dir={str(code)!r}, session=session)
transformer = model.transformer(2, "ml.m5.large", strategy="SingleRecord")
data = {data!r}
""" + jobs, CHAOS_FLAG=str(scenario.tmp / "hold"), CHAOS_LOADS=str(scenario.tmp / "loads"))


def test_a_worker_killed_mid_request_fails_the_job(scenario):
    (scenario.tmp / "hold").touch()
    caller = _caller(scenario, """\
try:
    transformer.transform(data, job_name="batch")
except mlopskit.errors.JobFailedError as exc:
    print("FAILED", exc)
""")
    worker = int(scenario.gate.wait(watch=caller.pid).split()[1])
    kill(worker)
    assert "FAILED" in caller.finish()
    described = TransformJob("batch", session=scenario.session).describe()
    assert described.status == "Failed"
    assert described.failure_reason.startswith("InvocationError: ")
    assert described.end_time is not None
    assert_settled(scenario.root)  # the other workers stopped; the zygote went with its caller


def test_caller_killed_during_a_job_on_a_kept_zygote(scenario):
    caller = _caller(scenario, """\
transformer.transform(data, job_name="warm")
open(os.environ["CHAOS_FLAG"], "w").close()
transformer.transform(data, job_name="batch")
""")
    _, worker, zygote = (int(x) if x.isdigit() else x
                         for x in scenario.gate.wait(watch=caller.pid).split())
    assert TransformJob("warm", session=scenario.session).describe().status == "Completed"
    caller.kill()  # the zygote dies with it, and its workers with the zygote
    described = TransformJob("batch", session=scenario.session).describe()
    assert described.status == "Failed"
    assert f"(pid {caller.pid}) exited before the job finished" in described.failure_reason
    # One load: the second job's workers were forked from the zygote kept after the first.
    assert (scenario.tmp / "loads").read_text().split() == [str(zygote)]
    assert worker != zygote
    assert_settled(scenario.root)
