"""The process batch transform workers are forked from: the model loaded once, then copied.

Started as ``python -m mlopskit.backends.local._zygote CONFIG.json CONTROL_FD ANSWER_FD`` in
a prepared model folder (the artifact and code checked against their recorded SHA-256
before either was extracted, as for any server; see ``LocalEndpoints._prepare``), with the
model's environment and its output already in its log. It does what an inference server
does before it serves (:mod:`.inference_server`): imports the inference script and runs
``model_fn`` through :func:`~mlopskit.sagemaker_api.inference.handlers.load_handler`, so
the model's libraries (numpy, scikit-learn, xgboost, ...) are imported and the model is
loaded once. Then it writes one line on ``ANSWER_FD``, a pipe of the parent's that user
code never writes to:

- ``LOADED``: ready to fork workers;
- ``FAILED <reason>``: the load failed (the traceback is in the log); it exits;
- ``NOFORK <reason>``: loaded, but a fork would not be safe (``model_fn`` left Python
  threads running, which a fork would not copy): it exits, and the parent starts
  inference servers the usual way.

Each line on ``CONTROL_FD`` (JSON: ``{"workers": N, "log": PATH}``) forks ``N`` workers.
A worker is an inference server whose model is already loaded: in a session and process
group of its own, killed with the zygote (``PR_SET_PDEATHSIG``), output in ``PATH``, it
binds a free port on 127.0.0.1 and serves ``/invocations`` with the limits of
:func:`.inference_server.make_server`. About each worker, the zygote writes ``FORKED <pid>
<start time>`` when it has forked it and ``EXITED <pid> <code>`` when it has reaped it; the
worker writes ``READY <pid> <port>`` once it serves (``FAILED <pid> <reason>`` if it could
not). A worker exits at once on SIGTERM: a transform stops its workers when every request
has been answered. Lines are written whole, under the pipe's atomic size.

The zygote exits when the parent closes ``CONTROL_FD`` (it ended, or died), or after
``zygote_idle_seconds`` (config) without a command and with no worker left; its workers
die with it. It forks only while it runs no thread besides its main one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from ...sagemaker_api.inference.frameworks import serving_framework
from ...sagemaker_api.inference.handlers import InferenceHandler, load_handler
from ._hosts import die_with_parent_hook
from ._processes import start_time
from .inference_server import DEFAULT_INVOCATION_TIMEOUT, DEFAULT_READ_TIMEOUT, MAX_CONNECTIONS

__all__ = ["main"]

_DEFAULT_IDLE_SECONDS = 120.0


def _say(fd: int, line: str) -> None:
    """One whole line on the answer pipe (newlines in ``line`` folded)."""
    os.write(fd, (" ".join(line.split())[:3000] + "\n").encode("utf-8", "replace"))


def _worker(handler: InferenceHandler, config: dict[str, Any], command: dict[str, Any],
            answer: int, inherited: tuple[int, ...], die_with_zygote: Any) -> int:
    """In a forked worker: serve the loaded model until SIGTERM."""
    from .inference_server import make_server

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)
    os.setsid()  # its own session and group, as every inference server has
    if die_with_zygote is not None:
        die_with_zygote()
    log = os.open(command["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    pid = os.getpid()
    try:
        server = make_server(
            handler, variant=config["variant"], max_payload=int(config["max_payload_bytes"]),
            invocation_timeout=float(config.get("invocation_timeout")
                                     or DEFAULT_INVOCATION_TIMEOUT),
            read_timeout=float(config.get("read_timeout") or DEFAULT_READ_TIMEOUT),
            max_connections=int(config.get("max_connections") or MAX_CONNECTIONS))
    except BaseException as exc:
        traceback.print_exc()
        _say(answer, f"FAILED {pid} {type(exc).__name__}: {exc}")
        return 1

    def stop(*_: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    _say(answer, f"READY {pid} {server.server_address[1]}")
    os.close(answer)
    try:
        server.serve_forever(poll_interval=0.5)  # SIGTERM exits from its handler, at once
    finally:
        server.server_close()
    return 0


def _fork_workers(handler: InferenceHandler, config: dict[str, Any], command: dict[str, Any],
                  answer: int, inherited: tuple[int, ...], live: set[int]) -> None:
    count = int(command["workers"])
    if threading.active_count() != 1:  # a thread started since the load: do not fork
        for _ in range(count):
            _say(answer, "FAILED - the zygote runs threads; a fork would not be safe")
        return
    die_with_zygote = die_with_parent_hook()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the zygote's loop
            code = 1
            try:
                code = _worker(handler, config, command, answer, inherited, die_with_zygote)
            except BaseException:
                with contextlib.suppress(BaseException):
                    traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(BaseException):
                        stream.flush()
                os._exit(code)
        live.add(pid)
        start = start_time(pid)
        _say(answer, f"FORKED {pid} {'-' if start is None else start}")


def _reap(answer: int, live: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        live.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):  # the parent may be gone
            _say(answer, f"EXITED {pid} {code}")


def serve(config: dict[str, Any], control: int, answer: int) -> int:
    """Load the model, then fork workers on request until the control pipe closes."""
    try:
        code_dir = Path(config["code_dir"]) if config.get("code_dir") else None
        handler = load_handler(code_dir, config.get("program"), Path(config["model_dir"]),
                               config.get("default_accept"),
                               framework=serving_framework(config.get("framework"),
                                                           config.get("image_uri")))
    except BaseException as exc:  # the traceback to the log, the reason to the parent
        traceback.print_exc()
        _say(answer, f"FAILED {type(exc).__name__}: {exc}")
        return 1
    if threading.active_count() != 1:
        names = ", ".join(t.name for t in threading.enumerate()
                          if t is not threading.current_thread())
        _say(answer, f"NOFORK the inference script left threads running ({names})")
        return 0
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)  # SIGCHLD wakes the select below: a worker exited
    signal.signal(signal.SIGCHLD, lambda *_: None)
    inherited = (control, wake_r, wake_w)
    idle = float(config.get("zygote_idle_seconds") or _DEFAULT_IDLE_SECONDS)
    live: set[int] = set()
    _say(answer, "LOADED")
    buffer = b""
    while True:
        readable, _, _ = select.select([control, wake_r], [], [], idle)
        if not readable:
            _reap(answer, live)
            if not live:
                return 0  # idle, no worker left: the parent starts another when needed
            continue
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
            _reap(answer, live)
        if control not in readable:
            continue
        chunk = os.read(control, 65536)
        if not chunk:
            return 0  # the parent closed its end, or died: the workers die with this process
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                command = json.loads(line)
                _fork_workers(handler, config, command, answer, inherited, live)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                _say(answer, f"FAILED - {type(exc).__name__}: {exc}")


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    # Line by line, so the log shows prints as they happen, not when a buffer fills.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)
    return serve(config, int(argv[1]), int(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
