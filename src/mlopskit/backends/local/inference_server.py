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
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ...serving.frameworks import serving_framework
from ...serving.handlers import HandlerError, InferenceHandler, load_handler

__all__ = ["main"]

BIND_ADDRESS = "127.0.0.1"  # never a public interface


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = self.errors_4xx = self.errors_5xx = 0
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
                    "errors_5xx": self.errors_5xx,
                    "mean_latency_ms": (1000 * self.latency_sum / self.requests)
                    if self.requests else 0.0}


def make_server(handler: InferenceHandler, *, variant: str, max_payload: int,
                port: int = 0, max_concurrency: int | None = None) -> ThreadingHTTPServer:
    """An HTTP server for ``handler`` bound to 127.0.0.1 (``port`` 0 picks a free one).

    With ``max_concurrency``, requests beyond that many in flight get a 429 at once.
    """
    stats = _Stats()
    slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
        # Headers and body leave in two writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK hold the body back ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would dominate the cost of a small prediction

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Mlopskit-Variant", variant)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, json.dumps({"error": message}).encode(), "application/json")

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._send(200, b"", "text/plain")
            elif self.path == "/mlopskit/metrics":
                self._send(200, json.dumps(stats.as_dict()).encode(), "application/json")
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            started = time.perf_counter()
            self.server.last_request = time.monotonic()  # type: ignore[attr-defined]
            status = 500
            try:
                if self.path != "/invocations":
                    status = 404
                    self._error(404, f"no route {self.path}")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > max_payload:
                    status = 413
                    self.rfile.read(length)
                    self._error(413, f"payload of {length} bytes is over the {max_payload} "
                                     "byte limit")
                    return
                body = self.rfile.read(length)
                if slots is not None and not slots.acquire(blocking=False):
                    status = 429
                    self._error(429, f"ThrottlingException: more than {max_concurrency} "
                                     "concurrent requests (max_concurrency)")
                    return
                try:
                    reply = handler.invoke(body, self.headers.get("Content-Type"),
                                           self.headers.get("Accept"))
                finally:
                    if slots is not None:
                        slots.release()
                status = reply.status
                self._send(status, reply.body, reply.content_type)
            except HandlerError as exc:
                status = exc.status
                self._error(exc.status, str(exc))
            except Exception as exc:  # the user's handler failed: answer, keep serving
                status = 500
                traceback.print_exc()
                self._error(500, f"{type(exc).__name__}: {exc}")
            finally:
                stats.record(status, time.perf_counter() - started)

    server = ThreadingHTTPServer((BIND_ADDRESS, port), Handler)
    server.daemon_threads = True
    server.last_request = time.monotonic()  # type: ignore[attr-defined]
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
            server = make_server(handler, variant=config["variant"],
                                 max_payload=int(config["max_payload_bytes"]),
                                 max_concurrency=config.get("max_concurrency"))
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
