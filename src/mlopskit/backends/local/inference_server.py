"""One local endpoint variant: an HTTP server on 127.0.0.1 with SageMaker's inference API.

Started as ``python -m mlopskit.backends.local.inference_server CONFIG.json READY_FD``, with
its standard output and error already sent to the variant's log file by the parent, so
whatever the inference script prints (at import, in ``model_fn``, per request) lands in the
log and nowhere else. It imports the user's inference script, loads the model, binds a free
port on 127.0.0.1 and then writes ``READY <port>`` (or ``FAILED <reason>``, after printing
the traceback to the log) as the only line on ``READY_FD``, a pipe the parent reads: a
channel of its own, which user code never writes to. ``GET /ping`` answers 200;
``POST /invocations`` runs the handlers; ``GET /mlopskit/metrics`` reports request counts and
latency. SIGTERM stops it.

Limits, so that no client can hold the server or make it misbehave (docs/serving.md):

- **Framing.** A ``Content-Length`` that is not a whole number, or several that disagree, is
  answered 400; a ``Transfer-Encoding`` (chunked bodies) 411. A body over ``max_payload``
  (6 MB, SageMaker's limit) is answered 413 from its headers alone, never read. Each of
  these answers closes the connection (the body's end is unknown, or unwanted), after
  discarding what the client is still sending for at most :data:`LINGER_SECONDS`, so it
  reads the answer rather than a reset.
- **Slow clients.** A request's line, headers and body must arrive within ``read_timeout``
  seconds (default 60) of its first byte, however slowly they trickle in; an idle kept-alive
  connection is closed after ``read_timeout`` too. A late body gets 408; late headers, or
  silence, a closed connection.
- **Connections.** At most ``max_connections`` (default :data:`MAX_CONNECTIONS`) are served
  at once, one thread each; one more is answered 503 at once and closed, without a thread.
- **Slow models.** A handler call that has not returned after ``invocation_timeout`` seconds
  (default 60, SageMaker's limit; a variant's ``invocation_timeout``) is answered 504 (within
  a quarter of a second of the limit) and its connection closed; the server goes on serving
  other connections. The call itself cannot be interrupted in a thread: it runs on in its
  connection's thread (a daemon, so it never delays the server's exit), which holds one of
  the ``max_connections`` until it returns, and its result is dropped.
- **Serverless concurrency.** With ``max_concurrency``, a request beyond that many handler
  calls still running (stuck ones included) gets 429 at once.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ...sagemaker_api.inference.frameworks import serving_framework
from ...sagemaker_api.inference.handlers import (
    HandlerError,
    InferenceHandler,
    Reply,
    load_handler,
)

__all__ = ["DEFAULT_INVOCATION_TIMEOUT", "DEFAULT_READ_TIMEOUT", "LINGER_SECONDS",
           "MAX_CONNECTIONS", "main", "make_server"]

BIND_ADDRESS = "127.0.0.1"  # never a public interface
DEFAULT_INVOCATION_TIMEOUT = 60.0  # SageMaker's limit for a realtime request
DEFAULT_READ_TIMEOUT = 60.0  # for a request to arrive whole, and for an idle connection
# One thread per connection: enough for a caller's thread pool, a batch transform's
# concurrent requests (at most 100 per instance) and serverless max_concurrency (200).
MAX_CONNECTIONS = 256
LINGER_SECONDS = 2.0  # discarding a refused body before closing, so the answer is read
_LINGER_BYTES = 16 * 1024 * 1024
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
         b"Connection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s")


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = self.errors_4xx = self.errors_5xx = self.refused = 0
        self.latency_sum = 0.0

    def record(self, status: int, seconds: float) -> None:
        with self.lock:
            self.requests += 1
            self.latency_sum += seconds
            if 400 <= status < 500:
                self.errors_4xx += 1
            elif status >= 500:
                self.errors_5xx += 1

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.requests, "errors_4xx": self.errors_4xx,
                    "errors_5xx": self.errors_5xx, "connections_refused": self.refused,
                    "mean_latency_ms": (1000 * self.latency_sum / self.requests)
                    if self.requests else 0.0}


class _RequestReader:
    """A connection's input with one deadline per request, in place of ``rfile``.

    A socket timeout alone bounds each ``recv``, so a client sending a byte every few
    seconds would hold its thread forever: here a request's bytes must all arrive within
    ``timeout`` of its first one. Waiting for that first byte (an idle kept-alive
    connection) is bounded by ``timeout`` as well. Only what ``http.server`` and the
    handler use is provided: ``readline``, ``read`` and ``close``.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock, self._timeout = sock, timeout
        self._buffer = bytearray()
        self._deadline: float | None = None

    def begin(self) -> None:
        """A new request: its clock starts with its first byte (now, if one is here)."""
        self._deadline = time.monotonic() + self._timeout if self._buffer else None

    def _fill(self) -> bool:
        if self._deadline is None:
            wait = self._timeout
        else:
            wait = self._deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError(f"the request did not arrive within {self._timeout:g} s")
        self._sock.settimeout(wait)
        chunk = self._sock.recv(65536)
        if not chunk:
            return False
        if self._deadline is None:
            self._deadline = time.monotonic() + self._timeout
        self._buffer += chunk
        return True

    def _take(self, count: int) -> bytes:
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def readline(self, limit: int = -1) -> bytes:
        while True:
            newline = self._buffer.find(b"\n", 0, limit if limit >= 0 else len(self._buffer))
            if newline >= 0:
                return self._take(newline + 1)
            if 0 <= limit <= len(self._buffer):
                return self._take(limit)
            if not self._fill():
                return self._take(len(self._buffer))

    def read(self, count: int) -> bytes:
        while len(self._buffer) < count and self._fill():
            pass
        return self._take(min(count, len(self._buffer)))

    def close(self) -> None:
        self._buffer.clear()


class _Watchdog:
    """Answers for handler calls that run past the invocation timeout.

    A call runs in its connection's own thread: no hand-off on the way, which would cost
    two thread switches on every request. This thread looks at the calls in flight a few
    times a second and answers one past its deadline itself (504, connection closed). The
    call cannot be interrupted: it runs on, in its connection's thread, and its result is
    dropped.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._tick = min(0.25, timeout / 4)
        self._lock = threading.Lock()
        self._calls: dict[int, tuple[float, Callable[[], None]]] = {}
        self._stopped = threading.Event()
        threading.Thread(target=self._watch, name="watchdog", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def begin(self, key: int, answer_late: Callable[[], None]) -> None:
        with self._lock:
            self._calls[key] = (time.monotonic() + self.timeout, answer_late)

    def end(self, key: int) -> bool:
        """Whether the call is still the caller's to answer (False: answered late)."""
        with self._lock:
            return self._calls.pop(key, None) is not None

    def _watch(self) -> None:
        while not self._stopped.wait(self._tick):
            now = time.monotonic()
            with self._lock:
                late = [key for key, (deadline, _) in self._calls.items() if deadline <= now]
                answers = [self._calls.pop(key)[1] for key in late]
            for answer in answers:  # in threads of their own: a client may be slow to read
                threading.Thread(target=answer, name="late-answer", daemon=True).start()


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on connections served at once."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 max_connections: int, stats: _Stats, watchdog: _Watchdog) -> None:
        super().__init__(address, handler)
        self.max_connections = max_connections
        self._connections = threading.BoundedSemaphore(max_connections)
        self.stats = stats
        self.watchdog = watchdog
        self.last_request = time.monotonic()

    def server_close(self) -> None:
        super().server_close()
        self.watchdog.stop()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._connections.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._connections.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def _refuse(self, request: socket.socket) -> None:
        """503 and close, from the accepting thread: no thread, no waiting on the client."""
        with self.stats.lock:
            self.stats.refused += 1
        body = json.dumps({"error": f"the server is serving {self.max_connections} "
                                    "connections, its limit; retry later"}).encode()
        try:
            request.setblocking(False)
            with contextlib.suppress(OSError):  # what arrived, so closing does not reset
                request.recv(65536)
            request.settimeout(1.0)
            request.sendall(_BUSY % (len(body), body))
        except OSError:
            pass
        finally:
            self.shutdown_request(request)


def make_server(handler: InferenceHandler, *, variant: str, max_payload: int,
                port: int = 0, max_concurrency: int | None = None,
                invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT,
                read_timeout: float = DEFAULT_READ_TIMEOUT,
                max_connections: int = MAX_CONNECTIONS) -> ThreadingHTTPServer:
    """An HTTP server for ``handler`` bound to 127.0.0.1 (``port`` 0 picks a free one).

    With ``max_concurrency``, requests beyond that many in flight get a 429 at once. The
    other limits are the module's (its docstring lists them).
    """
    stats = _Stats()
    slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
    watchdog = _Watchdog(invocation_timeout)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
        # Headers and body leave in two writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK hold the body back ~40 ms.
        disable_nagle_algorithm = True
        timeout = read_timeout
        _started: float | None = None  # an invocation not counted yet: when it began
        rfile: Any

        def setup(self) -> None:
            super().setup()
            self.rfile.close()
            self.rfile = _RequestReader(self.connection, read_timeout)

        def handle_one_request(self) -> None:
            self.rfile.begin()
            super().handle_one_request()

        def handle_expect_100(self) -> bool:
            # A body that will be refused is not invited: the refusal is the answer.
            if self._framing_error() is not None:
                return True
            return super().handle_expect_100()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would dominate the cost of a small prediction

        def _send(self, status: int, body: bytes, content_type: str, *,
                  close: bool = False) -> None:
            # An invocation is counted before its answer leaves, so a client that reads
            # the metrics after its answer always finds its request there.
            started, self._started = self._started, None
            if started is not None:
                stats.record(status, time.perf_counter() - started)
            self.connection.settimeout(read_timeout)  # a client that never reads
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Mlopskit-Variant", variant)
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str, *, close: bool = False) -> None:
            self._send(status, json.dumps({"error": message}).encode(), "application/json",
                       close=close)

        def _refuse(self, status: int, message: str) -> None:
            """Answer without reading the body, then close the connection."""
            self._error(status, message, close=True)
            self._linger()

        def _linger(self) -> None:
            """Discard what the client still sends, briefly, so that it reads the answer:
            closing over unread bytes would reset the connection under it."""
            try:
                self.connection.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + min(LINGER_SECONDS, read_timeout)
                discarded = 0
                while discarded < _LINGER_BYTES:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self.connection.settimeout(remaining)
                    chunk = self.connection.recv(65536)
                    if not chunk:
                        break
                    discarded += len(chunk)
            except OSError:
                pass

        def _framing_error(self) -> tuple[int, str] | None:
            """Why the body cannot be read (status, message), or None: its length."""
            if self.headers.get("Transfer-Encoding"):
                return 411, ("Transfer-Encoding is not supported; send the body with a "
                             "Content-Length")
            lengths = {value.strip() for value in self.headers.get_all("Content-Length", [])}
            if len(lengths) > 1:
                return 400, f"conflicting Content-Length headers: {sorted(lengths)}"
            if lengths:
                (length,) = lengths
                if not _CONTENT_LENGTH.fullmatch(length):
                    return 400, (f"Content-Length {length[:40]!r} is not a whole number of "
                                 "bytes")
                if int(length) > max_payload:
                    return 413, (f"payload of {int(length)} bytes is over the {max_payload} "
                                 "byte limit")
            return None

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._send(200, b"", "text/plain")
            elif self.path == "/mlopskit/metrics":
                self._send(200, json.dumps(stats.as_dict()).encode(), "application/json")
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            started = self._started = time.perf_counter()
            server.last_request = time.monotonic()
            status: int | None = 500
            try:
                problem = self._framing_error()
                if problem is not None:
                    status = problem[0]
                    self._refuse(*problem)
                    return
                if self.path != "/invocations":
                    status = 404
                    self._refuse(404, f"no route {self.path}")
                    return
                try:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                except TimeoutError:
                    status = 408
                    self._error(408, f"the request body did not arrive within "
                                     f"{read_timeout:g} s", close=True)
                    return
                status = self._invoke(body, started)
            except HandlerError as exc:
                status = exc.status
                self._error(exc.status, str(exc))
            except Exception as exc:  # the user's handler failed: answer, keep serving
                status = 500
                traceback.print_exc()
                self._error(500, f"{type(exc).__name__}: {exc}")
            finally:  # counted already if an answer was sent
                if status is not None and self._started is not None:
                    stats.record(status, time.perf_counter() - started)
                    self._started = None

        def _invoke(self, body: bytes, started: float) -> int | None:
            """Run the handlers, answered within ``invocation_timeout``: the status sent,
            or None when the watchdog answered (and counted) a late call."""
            if slots is not None and not slots.acquire(blocking=False):
                self._error(429, f"ThrottlingException: more than {max_concurrency} "
                                 "concurrent requests (max_concurrency)")
                return 429
            answered = threading.Event()

            def answer_late() -> None:
                message = (f"the model did not answer within {invocation_timeout:g} s "
                           "(invocation_timeout); the call goes on in the background")
                sys.stderr.write(f"request timed out: {message}\n")  # the server log
                try:
                    self._error(504, message, close=True)
                    self.connection.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                finally:  # _error counted it
                    answered.set()

            key = id(self)
            watchdog.begin(key, answer_late)
            outcome: Reply | BaseException
            try:
                outcome = handler.invoke(body, self.headers.get("Content-Type"),
                                         self.headers.get("Accept"))
            except BaseException as exc:  # answered below, unless it was answered already
                outcome = exc
            finally:
                if slots is not None:
                    # Released when the call ends, not when it is answered late: a stuck
                    # call still holds its share of the concurrency.
                    slots.release()
            if not watchdog.end(key):
                answered.wait(LINGER_SECONDS)  # its answer is on the wire: then close
                self.close_connection = True
                return None
            if isinstance(outcome, Exception):
                raise outcome
            if isinstance(outcome, BaseException):  # sys.exit() in a handler
                raise RuntimeError(f"the handler raised {type(outcome).__name__}: "
                                   f"{outcome}") from outcome
            self._send(outcome.status, outcome.body, outcome.content_type)
            return outcome.status

    server = _Server((BIND_ADDRESS, port), Handler, max_connections, stats, watchdog)
    return server


def _stop_when_idle(server: ThreadingHTTPServer, idle_seconds: float) -> None:
    """Serverless: shut down after ``idle_seconds`` without a new connection."""
    while True:
        idle = time.monotonic() - server.last_request  # type: ignore[attr-defined]
        if idle >= idle_seconds:
            server.shutdown()
            return
        threading.Event().wait(min(1.0, idle_seconds - idle))


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    # Line by line, so the log shows prints as they happen, not when a buffer fills.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)
    with os.fdopen(int(argv[1]), "w", encoding="utf-8") as ready:
        try:
            code_dir = Path(config["code_dir"]) if config.get("code_dir") else None
            handler = load_handler(code_dir, config.get("program"), Path(config["model_dir"]),
                                   config.get("default_accept"),
                                   framework=serving_framework(config.get("framework"),
                                                               config.get("image_uri")))
            server = make_server(
                handler, variant=config["variant"],
                max_payload=int(config["max_payload_bytes"]),
                max_concurrency=config.get("max_concurrency"),
                invocation_timeout=float(config.get("invocation_timeout")
                                         or DEFAULT_INVOCATION_TIMEOUT),
                read_timeout=float(config.get("read_timeout") or DEFAULT_READ_TIMEOUT),
                max_connections=int(config.get("max_connections") or MAX_CONNECTIONS))
        except BaseException as exc:  # the traceback to the log, the reason to the parent
            traceback.print_exc()
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
            ready.write(f"FAILED {reason}\n")
            return 1
        ready.write(f"READY {server.server_address[1]}\n")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if config.get("idle_seconds"):
        threading.Thread(target=_stop_when_idle, args=(server, float(config["idle_seconds"])),
                         daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.05)  # SIGTERM -> exit within 50 ms
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
