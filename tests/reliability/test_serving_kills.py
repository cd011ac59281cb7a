"""Batch transforms and endpoints whose caller is SIGKILLed while servers start or work."""

from __future__ import annotations

import io
import tarfile

import pytest

import mlopskit
from mlopskit.serving.transform import TransformJob

from .chaos import GATE_FUNCTION, IMAGE, assert_settled

pytestmark = pytest.mark.slow

# Echoes each request; holds (for ever, after saying so) where CHAOS_HOLD says: while
# loading the model, or in the first request.
HANDLER = GATE_FUNCTION + """\
def model_fn(model_dir):
    if os.environ.get("CHAOS_HOLD") == "load":
        gate(f"loading {os.getpid()}")
        threading.Event().wait()
    return "echo"


def transform_fn(model, body, content_type, accept):
    if os.environ.get("CHAOS_HOLD") == "request":
        gate(f"request {os.getpid()}")
        threading.Event().wait()
    return body, "text/csv"
"""


def _model_uri(scenario) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
    return scenario.session.write_bytes(
        buffer.getvalue(), f"s3://{scenario.session.default_bucket}/chaos-model/model.tar.gz")


def _caller_model(scenario) -> str:
    code = scenario.code("handler.py", HANDLER)
    return (f"model = mlopskit.Model({_model_uri(scenario)!r}, image_uri={IMAGE!r}, "
            f"entry_point='handler.py', source_dir={str(code)!r}, session=session)\n")


def _transform(scenario, hold: str):
    data = scenario.session.write_bytes(
        b"".join(b"%d,1,2\n" % i for i in range(200)),
        f"s3://{scenario.session.default_bucket}/chaos-in/rows.csv")
    return scenario.caller(_caller_model(scenario) + f"""\
model.transformer(2, "ml.m5.large", strategy="SingleRecord").transform(
    {data!r}, job_name="batch")
""", CHAOS_HOLD=hold)


def _failed_by_death(scenario, pid: int) -> None:
    described = TransformJob("batch", session=scenario.session).describe()
    assert described.status == "Failed"
    assert f"(pid {pid}) exited before the job finished" in described.failure_reason
    assert described.end_time is not None


def test_transform_caller_killed_while_servers_start(scenario):
    caller = _transform(scenario, "load")
    assert scenario.gate.wait(watch=caller.pid).startswith("loading")
    caller.kill()  # its servers are still loading the model: none is recorded yet
    _failed_by_death(scenario, caller.pid)
    assert_settled(scenario.root)


def test_transform_caller_killed_mid_way(scenario):
    caller = _transform(scenario, "request")
    assert scenario.gate.wait(watch=caller.pid).startswith("request")
    caller.kill()  # both servers are up and recorded; one holds a request
    _failed_by_death(scenario, caller.pid)
    assert_settled(scenario.root)


def test_endpoint_caller_killed_while_the_server_starts(scenario):
    caller = scenario.caller(_caller_model(scenario) + """\
model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="chaos-ep")
""", CHAOS_HOLD="load")
    assert scenario.gate.wait(watch=caller.pid).startswith("loading")
    caller.kill()
    described = mlopskit.Endpoint("chaos-ep", session=scenario.session).describe()
    assert described.status == "Failed"
    assert described.failure_reason
    assert_settled(scenario.root)
