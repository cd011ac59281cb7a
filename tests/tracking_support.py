"""Real MLflow stores for the tracking tests: a SQLite store in a temporary folder and a
real ``mlflow server`` on 127.0.0.1 (a subprocess), each made once per test module.

Use them by importing the fixtures into a test module::

    from ..tracking_support import mlflow_server_fixture, sqlite_tracking_uri_fixture  # noqa: F401

(the fixtures are named ``mlflow_server`` and ``sqlite_tracking_uri``; importing them under
their function names keeps a test's argument from redefining the import).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlopskit
from mlopskit.testing import MotoEmulation, set_emulation
from mlopskit.tracking.recorder import _seed_sqlite_store

# A server starts in ~15 s on a busy 2-core machine (it migrates its database first).
SERVER_START_TIMEOUT = 180.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def start_mlflow_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``mlflow server`` with a SQLite store and an artifact folder under ``folder``
    and wait (bounded) until it answers ``/health``; returns the process and its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    # The store starts as a copy of an empty migrated one, as a LocalSession's does, so the
    # server does not spend its start-up running MLflow's schema migrations.
    _seed_sqlite_store(f"sqlite:///{folder / 's.db'}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mlflow = Path(sys.executable).with_name("mlflow")
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{folder / 's.db'}",
         "--default-artifact-root", str(folder / "art")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_mlflow_server(process)
            tail = (folder / "server.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"mlflow server on {url} did not answer /health within "
                        f"{SERVER_START_TIMEOUT:g} s (exit code {process.returncode}):\n{tail}")
        time.sleep(0.25)  # polling a server that is starting, not waiting out a race
    return process, url


def stop_mlflow_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and the workers it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=3)  # a test store: no need to wait long for a clean exit
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module", name="mlflow_server")
def mlflow_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real MLflow tracking server for this test module."""
    pytest.importorskip("mlflow")
    process, url = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield url
    finally:
        stop_mlflow_server(process)


@pytest.fixture(scope="module", name="sqlite_tracking_uri")
def sqlite_tracking_uri_fixture(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite MLflow store for this test module (made on first use by MLflow)."""
    pytest.importorskip("mlflow")
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow-sqlite') / 'mlflow.db'}"


# The fixtures under their own names too (for `from ..tracking_support import mlflow_server`).
mlflow_server = mlflow_server_fixture
sqlite_tracking_uri = sqlite_tracking_uri_fixture


def tracked_aws_session(session: mlopskit.AwsSession, tracking_uri: str
                        ) -> mlopskit.AwsSession:
    """The same moto account, bucket, role and clock as ``session``, tracking into
    ``tracking_uri`` (the stand-in for a SageMaker managed MLflow server)."""
    tracked = mlopskit.AwsSession(
        region=session.region, role_arn=session.role_arn, bucket=session.default_bucket,
        boto3_session=session.boto3_session, clock=session.clock, tracking_uri=tracking_uri)
    set_emulation(tracked, MotoEmulation(tracked.region))
    return tracked
