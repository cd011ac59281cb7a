"""Local endpoints fail totally: a broken artifact, a variant that cannot start, a server
that dies while serving. Real processes throughout, found by what they run."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import threading
from pathlib import Path

import pytest

import mlopskit
from mlopskit.errors import DeploymentFailedError, InvocationError
from mlopskit.serving.endpoint import deployed_model
from mlopskit.specs.serving import EndpointConfigSpec

SCRIPT = """\
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "weights.txt")) as handle:
        return handle.read()


def transform_fn(model, body, content_type, accept):
    body = body if isinstance(body, str) else body.decode()
    if body == "exit":
        print("about to exit with code 3")
        os._exit(3)
    return model + ":" + body, "text/plain"
"""
CONFIG = mlopskit.RealtimeConfig("ml.m5.large")


def _archive(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("weights.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _model(session: mlopskit.LocalSession, tmp_path: Path, name: str,
           artifact: bytes) -> mlopskit.Model:
    uri = f"s3://{session.default_bucket}/models/{name}/model.tar.gz"
    session.write_bytes(artifact, uri)
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "serve.py").write_text(SCRIPT)
    return mlopskit.Model(uri, entry_point="serve.py", source_dir=code, session=session)


def _servers(root: Path) -> list[int]:
    """Every live inference server process of this store, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "status").read_text()
        except OSError:
            continue
        if b"mlopskit.backends.local.inference_server" in cmdline and \
                any(str(root).encode() in part for part in cmdline) and "zombie" not in state:
            found.append(int(entry.name))
    return found


def _wait_until(predicate, seconds: float) -> bool:
    tick = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        tick.wait(0.05)
    return predicate()


def _nothing_left(session: mlopskit.LocalSession, endpoint: str) -> None:
    store = session.backend.store
    for table in ("endpoints", "endpoint_configs", "models"):
        assert store.query_all(f"SELECT name FROM {table}") == [], table
    assert not (session.backend.root / "endpoints" / endpoint).exists()


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_broken_artifact_fails_the_deployment_and_leaves_nothing(local_session, tmp_path,
                                                                    damage):
    good = _archive(b"weights" * 1000)
    artifact = good[: len(good) // 2] if damage == "truncated" else \
        good[:10] + bytes(255 - b for b in good[10:])
    model = _model(local_session, tmp_path, damage, artifact)
    with pytest.raises(DeploymentFailedError, match=r"model artifact .* cannot be unpacked"):
        model.deploy(CONFIG, endpoint_name="broken-ep")
    _nothing_left(local_session, "broken-ep")
    assert _servers(local_session.backend.root) == []


def test_a_failing_variant_stops_the_servers_already_started(local_session, tmp_path):
    good = _model(local_session, tmp_path, "good", _archive(b"good"))
    broken = _model(local_session, tmp_path, "broken", _archive(b"broken")[:40])
    with pytest.raises(DeploymentFailedError, match="variant 'B'"):
        mlopskit.Endpoint.create("ab-ep", [mlopskit.ProductionVariant(good, "A", CONFIG),
                                           mlopskit.ProductionVariant(broken, "B", CONFIG)],
                                 session=local_session)
    assert _servers(local_session.backend.root) == []  # A's server was stopped, not orphaned
    _nothing_left(local_session, "ab-ep")


def test_servers_are_in_the_row_as_soon_as_they_run(local_session, tmp_path):
    """The backend verb alone (no public clean-up): the Failed row still names A's server,
    so describe, delete and close can find it; and it has been stopped."""
    good = _model(local_session, tmp_path, "good", _archive(b"good"))
    broken = _model(local_session, tmp_path, "broken", _archive(b"broken")[:40])
    serving = local_session.backend.serving
    for index, model in enumerate((good, broken)):
        serving.create_model(deployed_model(
            local_session, model, f"m-{index}", instance_type="ml.m5.large", sha256=None))
    serving.create_endpoint_config(EndpointConfigSpec(
        name="c-ab", variants=[{"name": "A", "model_name": "m-0", "instance_type": "ml.m5.large"},
                               {"name": "B", "model_name": "m-1",
                                "instance_type": "ml.m5.large"}]))
    with pytest.raises(DeploymentFailedError, match="variant 'B'"):
        serving.create_endpoint("ab-raw", "c-ab")
    row = local_session.backend.store.query_one("SELECT * FROM endpoints WHERE name = 'ab-raw'")
    assert row["status"] == "Failed" and "variant 'B'" in row["failure_reason"]
    assert list(json.loads(row["servers"])) == ["A"]
    assert _servers(local_session.backend.root) == []
    serving.delete_endpoint("ab-raw")


def test_a_server_that_exits_fails_its_endpoint(local_session, tmp_path):
    model = _model(local_session, tmp_path, "exits", _archive(b"w"))
    endpoint = model.deploy(CONFIG, endpoint_name="exit-ep").endpoint
    assert endpoint.invoke(b"hi", content_type="text/plain").body == b"w:hi"
    with pytest.raises(InvocationError) as first:
        endpoint.invoke(b"exit", content_type="text/plain")  # the handler calls os._exit(3)
    assert first.value.status == 503
    assert _wait_until(lambda: endpoint.status == "Failed", 10)
    reason = endpoint.describe().failure_reason
    assert "variant 'AllTraffic'" in reason and "exited with code 3" in reason
    log = next((local_session.backend.root / "logs" / "endpoints" / "exit-ep").iterdir())
    assert str(log) in reason and "about to exit with code 3" in reason
    with pytest.raises(InvocationError, match="exited with code 3") as later:
        endpoint.invoke(b"hi", content_type="text/plain")
    assert later.value.status == 503
    endpoint.delete()
    _nothing_left(local_session, "exit-ep")


def test_describe_notices_a_dead_server_on_its_own(local_session, tmp_path):
    model = _model(local_session, tmp_path, "killed", _archive(b"w"))
    endpoint = model.deploy(CONFIG, endpoint_name="killed-ep").endpoint
    row = local_session.backend.store.query_one("SELECT servers FROM endpoints")
    pid = int(json.loads(row["servers"])["AllTraffic"]["pid"])
    os.kill(pid, signal.SIGKILL)
    assert _wait_until(lambda: endpoint.describe().status == "Failed", 10)
    described = endpoint.describe()
    assert "variant 'AllTraffic'" in described.failure_reason
    assert "SIGKILL" in described.failure_reason
    stored = local_session.backend.store.query_one("SELECT status FROM endpoints")
    assert stored["status"] == "Failed"  # recorded, not only reported
    with pytest.raises(InvocationError, match="SIGKILL") as info:
        endpoint.invoke(b"hi", content_type="text/plain")
    assert info.value.status == 503
    endpoint.delete()
