"""The local inference server against hostile or broken clients, over raw sockets: framing
errors, oversize bodies, slow clients, too many connections and slow models."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import mlopskit
from mlopskit.backends.local.inference_server import make_server
from mlopskit.errors import InvocationError, ValidationError
from mlopskit.sagemaker_api.inference.handlers import load_handler

from .support import echo_model, wait_until

SLOW = """\
import threading

RELEASE = threading.Event()


def model_fn(model_dir):
    return None


def transform_fn(model, body, content_type, accept):
    body = body if isinstance(body, str) else body.decode()
    if body == "slow":
        RELEASE.wait(30)  # a model stuck far past the invocation timeout
    return "done:" + body, "text/plain"
"""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Start a real server (its own threads, a real socket) with the given limits."""
    started = []

    def start(**limits: object) -> int:
        code = tmp_path / f"code-{len(started)}"
        code.mkdir()
        (code / "serve.py").write_text(SLOW)
        model_dir = tmp_path / "model"
        model_dir.mkdir(exist_ok=True)
        handler = load_handler(code, "serve.py", model_dir)
        server = make_server(handler, variant="AllTraffic", **limits)  # type: ignore[arg-type]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        started.append((server, handler))
        return int(server.server_address[1])

    yield start
    for server, handler in started:
        handler.transform_fn.__globals__["RELEASE"].set()
        server.shutdown()
        server.server_close()


def _connect(port: int, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response off the socket: status, headers (lower-case names), body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response; got {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1)
                                                         for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def _post(length: str, body: bytes = b"", extra: str = "") -> bytes:
    return (f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode() + body


def _ping(port: int) -> int:
    with _connect(port) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        return _response(sock)[0]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "+7", "0x10", "5 5"])
def test_a_bad_content_length_is_400_and_closes(serve, length):
    port = serve(max_payload=1024)
    with _connect(port) as sock:
        sock.sendall(_post(length, b"hello"))
        status, headers, body = _response(sock)
        assert status == 400, body
        assert "Content-Length" in json.loads(body)["error"]
        assert headers["connection"] == "close"
        assert _closed_within(sock, 5)
    assert _ping(port) == 200  # still serving


def test_conflicting_content_lengths_are_400(serve):
    port = serve(max_payload=1024)
    with _connect(port) as sock:
        sock.sendall(_post("5", b"hello", extra="Content-Length: 50\r\n"))
        status, _, body = _response(sock)
        assert status == 400 and "conflicting" in json.loads(body)["error"]


def test_a_chunked_body_is_411(serve):
    port = serve(max_payload=1024)
    with _connect(port) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                     b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        assert _response(sock)[0] == 411


@pytest.mark.parametrize("expect", ["", "Expect: 100-continue\r\n"])
def test_an_oversize_body_is_413_without_being_read(serve, expect):
    port = serve(max_payload=1024)
    with _connect(port, timeout=5) as sock:
        # Only the headers: a server that reads the body first would wait for it forever.
        sock.sendall(_post(str(10**9), extra=expect))
        status, headers, body = _response(sock)
        assert status == 413
        assert "over the 1024 byte limit" in json.loads(body)["error"]
        assert headers["connection"] == "close"
        assert _closed_within(sock, 5)


def test_an_oversize_body_being_sent_still_gets_its_answer(serve):
    port = serve(max_payload=1024)
    with _connect(port, timeout=5) as sock:
        sock.sendall(_post(str(200_000), b"x" * 200_000))
        assert _response(sock)[0] == 413


def test_a_slowloris_client_is_cut_off_after_the_read_timeout(serve):
    port = serve(max_payload=1024, read_timeout=1.0)
    with _connect(port) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        # One header byte every 0.2 s: each arrives well within any per-read timeout.
        for byte in b"X-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            if _closed_within(sock, 0.2):
                closed = True
                break
        assert closed, "the server kept waiting for a request trickling in"
        assert time.monotonic() - started < 5


def test_a_silent_connection_is_closed_after_the_read_timeout(serve):
    port = serve(max_payload=1024, read_timeout=1.0)
    with _connect(port) as sock:
        assert _closed_within(sock, 5)


def test_a_stalled_body_gets_408(serve):
    port = serve(max_payload=1024, read_timeout=1.0)
    with _connect(port) as sock:
        sock.sendall(_post("100", b"only ten b"))
        sock.settimeout(5)
        status, _, body = _response(sock)
        assert status == 408 and "did not arrive" in json.loads(body)["error"]


def test_connections_beyond_the_cap_get_503_at_once(serve):
    port = serve(max_payload=1024, max_connections=2, read_timeout=10.0)
    held = [_connect(port), _connect(port)]
    try:
        for sock in held:  # both served: each holds one of the two connection threads
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _response(sock)[0] == 200
        with _connect(port, timeout=5) as third:
            status, headers, body = _response(third)  # answered before it says anything
            assert status == 503
            assert "limit" in json.loads(body)["error"]
            assert headers["connection"] == "close"
        held.pop().close()  # a slot frees up once its thread sees the close
        assert wait_until(lambda: _ping(port) == 200, 10)
    finally:
        for sock in held:
            sock.close()


def test_a_slow_model_gets_504_and_the_server_keeps_serving(serve):
    port = serve(max_payload=1024, invocation_timeout=1.0)
    with _connect(port, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(_post("4", b"slow"))
        status, _, body = _response(sock)
        assert status == 504
        assert "invocation_timeout" in json.loads(body)["error"]
        assert time.monotonic() - started < 5
        assert _closed_within(sock, 5)  # that connection is done; the call still runs
    with _connect(port, timeout=10) as other:  # while it does, others are served
        other.sendall(_post("4", b"fast"))
        assert _response(other)[:3:2] == (200, b"done:fast")
    with _connect(port) as other:
        other.sendall(b"GET /mlopskit/metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        metrics = json.loads(_response(other)[2])
        assert (metrics["requests"], metrics["errors_5xx"]) == (2, 1)


def test_invocation_timeout_reaches_a_deployed_server(local_session, tmp_path):
    model = echo_model(local_session, tmp_path, script=SLOW)
    endpoint = mlopskit.Endpoint.create("slow-ep", [mlopskit.ProductionVariant(
        model, config=mlopskit.RealtimeConfig("ml.m5.large", invocation_timeout=1))],
        session=local_session)
    assert endpoint.variants[0].invocation_timeout == 1
    started = time.monotonic()
    with pytest.raises(InvocationError, match="did not answer within 1 s") as info:
        endpoint.invoke(b"slow", content_type="text/plain")
    assert info.value.status == 504
    assert time.monotonic() - started < 10
    assert endpoint.invoke(b"fast", content_type="text/plain").body == b"done:fast"
    endpoint.delete()


@pytest.mark.parametrize("value", [0, 3601, 1.5, True, "60"])
def test_invocation_timeout_is_checked(value):
    with pytest.raises(ValidationError, match="invocation_timeout"):
        mlopskit.RealtimeConfig("ml.m5.large", invocation_timeout=value)  # type: ignore[arg-type]


def test_invocation_timeout_defaults_to_sagemakers_60_seconds():
    assert mlopskit.RealtimeConfig("ml.m5.large").invocation_timeout == 60
