"""Local serverless endpoints: cold start on first request, idle stop, max_concurrency."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import mlopskit
from mlopskit.errors import ThrottledError, ValidationError

from ..helpers import constant_model, model_in_store

ROW = b"0.5,0.5,0.5"


def _model(session, tmp_path: Path, script: str = "dict_output.py") -> mlopskit.Model:
    return model_in_store(session, tmp_path, constant_model(7), script,
                          key=f"serverless/{script}")


def _pid(session, name: str) -> int | None:
    row = session.backend.store.query_one("SELECT servers FROM endpoints WHERE name = ?", (name,))
    entry = next(iter(json.loads(row["servers"]).values()))
    return entry["pid"]


def _wait_until(predicate, seconds: float) -> bool:
    """Poll a real condition (a real process exiting) with a bounded wait."""
    done = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        done.wait(0.05)
    return predicate()


def test_cold_start_on_first_request_then_warm(local_session, tmp_path):
    _model(local_session, tmp_path).deploy(mlopskit.ServerlessConfig(2048, max_concurrency=5),
                                           endpoint_name="sls")
    endpoint = mlopskit.Endpoint("sls", session=local_session)
    assert _pid(local_session, "sls") is None  # nothing runs until a request comes
    assert endpoint.cold_starts() == {"AllTraffic": {"cold_starts": 0,
                                                     "last_cold_start_ms": None}}
    assert json.loads(endpoint.invoke(ROW).body) == {"predictions": [7]}
    first = endpoint.cold_starts()["AllTraffic"]
    assert first["cold_starts"] == 1
    assert first["last_cold_start_ms"] > 0
    endpoint.invoke(ROW)
    assert endpoint.cold_starts()["AllTraffic"]["cold_starts"] == 1
    variant = endpoint.variants[0]
    assert (variant.instance_type, variant.serverless.memory_size_mb) == ("serverless", 2048)
    endpoint.delete()


def test_stops_when_idle_and_starts_again(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path / "root", serverless_idle_seconds=1)
    try:
        _model(session, tmp_path).deploy(mlopskit.ServerlessConfig(1024, max_concurrency=1),
                                         endpoint_name="sls-idle")
        endpoint = mlopskit.Endpoint("sls-idle", session=session)
        endpoint.invoke(ROW)
        pid = _pid(session, "sls-idle")
        from mlopskit.backends.local.endpoints import _gone

        assert _wait_until(lambda: _gone(pid), 20), "the idle server did not stop"
        assert json.loads(endpoint.invoke(ROW).body) == {"predictions": [7]}
        assert endpoint.cold_starts()["AllTraffic"]["cold_starts"] == 2
        endpoint.delete()
    finally:
        session.close()


def test_max_concurrency_throttles_instead_of_hanging(local_session, tmp_path):
    _model(local_session, tmp_path, "slow.py").deploy(
        mlopskit.ServerlessConfig(1024, max_concurrency=1, provisioned_concurrency=1),
        endpoint_name="sls-busy")
    endpoint = mlopskit.Endpoint("sls-busy", session=local_session)
    outcomes: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            endpoint.invoke(ROW)
            result = "ok"
        except ThrottledError:
            result = "throttled"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 6  # every request got an answer: none hung
    assert outcomes.count("ok") >= 1
    assert outcomes.count("throttled") >= 1
    endpoint.delete()


def test_provisioned_concurrency_starts_warm(local_session, tmp_path):
    _model(local_session, tmp_path).deploy(
        mlopskit.ServerlessConfig(1024, max_concurrency=2, provisioned_concurrency=1),
        endpoint_name="sls-warm")
    assert _pid(local_session, "sls-warm") is not None
    mlopskit.Endpoint("sls-warm", session=local_session).delete()


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"memory_size_mb": 1000, "max_concurrency": 1}, "memory_size_mb: 1000 is not allowed"),
    ({"memory_size_mb": 1024, "max_concurrency": 0}, "max_concurrency"),
    ({"memory_size_mb": 1024, "max_concurrency": 201}, "max_concurrency"),
    ({"memory_size_mb": 1024, "max_concurrency": 2, "provisioned_concurrency": 3},
     "provisioned_concurrency: 3 is over max_concurrency 2"),
])
def test_bad_serverless_config(kwargs, text):
    with pytest.raises(ValidationError, match=text):
        mlopskit.ServerlessConfig(**kwargs)
