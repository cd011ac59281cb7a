"""The local backend's HTTP client sends a request at most once: it tries again only when
the request provably never reached the server. Served by a real socket server in the test
that counts what it receives."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mlopskit.errors import InvocationError

from .support import wait_until


class CountingServer:
    """Accepts connections on 127.0.0.1, reads whole requests and counts them; ``mode`` says
    what it does next: ``drop`` closes without answering, ``silent`` never answers,
    ``answer-then-close`` answers (keep-alive) and closes the connection at once."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        self.closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(body) < length:
            body += conn.recv(65536)
        self.requests += 1
        if self.mode == "drop":
            conn.close()
        elif self.mode == "answer-then-close":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 2\r\n\r\nok")
            conn.close()  # as a server closing an idle kept-alive connection does
            self.closed.set()

    def close(self) -> None:
        self._listener.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def counting() -> Iterator[type[CountingServer]]:
    made: list[CountingServer] = []

    def make(mode: str) -> CountingServer:
        server = CountingServer(mode)
        made.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in made:
        server.close()


def test_a_request_the_server_dropped_is_not_sent_again(local_session, counting):
    server = counting("drop")
    with pytest.raises(InvocationError, match="not sent again") as info:
        local_session.backend.serving._post(server.port, b"x", "text/plain", None, timeout=1)
    assert info.value.status == 503
    assert server.requests == 1


@pytest.mark.slow
def test_a_request_without_an_answer_times_out_after_invocation_timeout(local_session,
                                                                        counting):
    server = counting("silent")
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            local_session.backend.serving._post(server.port, b"x", "text/plain", None,
                                                timeout=1)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(timeout=30)  # the read timeout follows invocation_timeout, not 60 s
    assert not caller.is_alive(), "the client still waits"
    assert time.monotonic() - started < 15
    assert isinstance(outcome[0], InvocationError) and outcome[0].status == 504
    assert server.requests == 1


def test_a_kept_alive_connection_the_server_closed_is_replaced_before_sending(local_session,
                                                                             counting):
    server = counting("answer-then-close")
    post = local_session.backend.serving._post
    assert post(server.port, b"x", "text/plain", None)[:2] == (200, b"ok")
    assert wait_until(server.closed.is_set, 5)
    assert post(server.port, b"y", "text/plain", None)[:2] == (200, b"ok")
    assert server.requests == 2  # each sent once, the second on a new connection
