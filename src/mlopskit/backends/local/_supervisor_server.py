"""A pre-started process that forks the supervisors of detached jobs.

A detached job (``fit(wait=False)``, ``run(wait=False)``) runs in a supervisor process of
its own (:mod:`._supervise`), so that it outlives the process that created it. Started as a
new interpreter, that process spends about 200 ms importing mlopskit's specs (pydantic),
the backend and the runners before the job moves: the whole ``Starting`` phase of a short
job. So the second detached job a process creates also starts this server, beside its own
supervisor (spawned as before; a process that creates one detached job, a script that
launches a job and exits, never starts a server, and its supervisor does not compete with
one for the CPU)::

    python -m mlopskit.backends.local._supervisor_server REQUESTS_FD REPLIES_FD

The server imports what a supervisor runs, once, says ``READY`` and waits. Every later
detached job of that process is a request on the server's pipe, and the server forks a
child that is the job's supervisor, exactly as a spawned one would be: in a session and
process group of its own, standard input from ``/dev/null``, standard output and error to
the job's ``supervisor.log``, the caller's environment and working folder *at the time of
the call* (sent with the request, not the server's), then :func:`._supervise.run_job`.
The server answers with the child's pid and start time, which the caller records as
before; the child claims the job and runs it. A fork takes a few milliseconds.

Rules that keep this as safe as the spawned path:

- **Linux only.** Elsewhere (and with ``MLOPSKIT_SUPERVISOR_SERVER=0`` in the caller's
  environment) every supervisor is spawned, as before.
- **Nothing shared across the fork.** The server opens no store, no file and no socket,
  and runs no thread besides its main one (it checks before each fork and refuses, so the
  caller spawns instead): each child opens its own SQLite connection after the fork.
- **Nothing else can talk to it.** Requests come through an anonymous pipe made by the
  process that started it; there is no socket or file to connect to.
- **It goes when its creator goes.** It exits when that process closes its end of the
  pipe (it exits, or is killed) or after :data:`IDLE_SECONDS` without a request. The
  supervisors it forked go on: they are detached jobs, reparented like any orphan.
- **One supervisor per job, whatever happens.** If the server dies between a fork and its
  answer, the caller spawns a supervisor as a fallback and the orphaned child may also be
  running: a supervisor claims a job only while the job is still its creator's (see
  ``TrainingRunner._claim``), so exactly one of them runs it.
- **Any failure of the server is the spawned path.** A server that is not up yet, is gone,
  refuses or does not answer within :data:`REPLY_TIMEOUT` means the job's supervisor is
  spawned as before; a server that died is started again on the next job.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ._processes import start_time

__all__ = ["IDLE_SECONDS", "REPLY_TIMEOUT", "SERVER_VARIABLE", "main", "start_supervisor"]

SERVER_VARIABLE = "MLOPSKIT_SUPERVISOR_SERVER"  # "0": spawn every supervisor
IDLE_SECONDS = 600.0  # the server exits after this long without a request
REPLY_TIMEOUT = 10.0  # a fork answers in milliseconds; past this the server is taken as hung
_MODULE = "mlopskit.backends.local._supervisor_server"
_SUPERVISE = "mlopskit.backends.local._supervise"


# -- the caller's side -------------------------------------------------------------------


def _spawn(root: Path, name: str, region: str, python: str, kind: str,
           log_path: Path) -> subprocess.Popen[bytes]:
    """A supervisor as a new interpreter (the path without a server)."""
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", _SUPERVISE, str(root), name, region, python, kind,
             str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    finally:
        log.close()


class _Server:
    """The caller's handle on its server: the process and the two pipe ends it keeps."""

    def __init__(self) -> None:
        requests_r, self.requests = os.pipe()
        self.replies, replies_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", _MODULE, str(requests_r), str(replies_w)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True,
                pass_fds=(requests_r, replies_w))
        except BaseException:
            os.close(self.requests)
            os.close(self.replies)
            raise
        finally:
            os.close(requests_r)
            os.close(replies_w)
        os.set_blocking(self.requests, False)
        self.owner = os.getpid()
        self.ready = False
        self.dead = False
        self._buffer = b""

    def _line(self, timeout: float) -> str | None:
        """The server's next line; None when none came within ``timeout`` (or it is gone:
        then :attr:`dead` is set)."""
        while b"\n" not in self._buffer:
            readable, _, _ = select.select([self.replies], [], [], timeout)
            if not readable:
                return None
            chunk = os.read(self.replies, 4096)
            if not chunk:
                self.dead = True
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def is_ready(self) -> bool:
        """True once the server said READY (never blocks)."""
        if not self.ready and not self.dead:
            line = self._line(0.0)
            if line == "READY":
                self.ready = True
            elif line is not None:
                self.close()  # a line other than READY: not a server we understand
        return self.ready and not self.dead

    def fork(self, request: dict[str, Any]) -> tuple[int, int | None] | None:
        """Ask for a supervisor: its (pid, start time), or None (spawn one instead)."""
        view = memoryview(json.dumps(request).encode() + b"\n")
        deadline = time.monotonic() + REPLY_TIMEOUT
        try:
            while view:  # the pipe is non-blocking: a hung server cannot hold the caller
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [self.requests], [], left)[1]:
                    raise TimeoutError
                view = view[os.write(self.requests, view):]
        except TimeoutError:  # hung: it is ours, and of no use any more
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.close()
            return None
        except OSError:  # BrokenPipeError: it exited (idle, or killed)
            self.close()
            return None
        line = self._line(REPLY_TIMEOUT)
        if line is None:
            if not self.dead:  # hung: it is ours, and of no use any more
                with contextlib.suppress(OSError):
                    self.proc.kill()
            self.close()  # the caller spawns, and the next job starts a new server
            return None
        fields = line.split()
        if len(fields) == 3 and fields[0] == "OK":
            return int(fields[1]), None if fields[2] == "-" else int(fields[2])
        return None  # "REFUSED <why>": this one is spawned, the server stays

    def close(self) -> None:
        """Let the server go (it exits when its request pipe closes) and forget it."""
        self.dead = True
        for fd in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.requests = self.replies = -1
        with contextlib.suppress(OSError):
            self.proc.poll()  # reaped if it has exited


_LOCK = threading.Lock()  # one request and its answer at a time
_SERVER: _Server | None = None
_JOBS = 0  # detached jobs this process has started supervisors for


def _enabled() -> bool:
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and os.environ.get(SERVER_VARIABLE, "1") != "0")


def _usable_server(start: bool) -> _Server | None:
    """This process's server once it is READY; else None, after starting one (when
    ``start``) if there is none, or the one there was has gone. Called with :data:`_LOCK`
    held."""
    global _SERVER
    server = _SERVER
    if server is not None and server.owner != os.getpid():
        server = _SERVER = None  # a forked copy of the process that started it: not ours
    if server is not None and server.dead:
        server = _SERVER = None
    if server is None:
        if not start:
            return None
        try:
            _SERVER = _Server()
        except OSError:
            return None
        return None  # it is importing: this job's supervisor is spawned
    return server if server.is_ready() else None


def start_supervisor(root: Path, name: str, region: str, python: str, kind: str,
                     log_path: Path) -> tuple[int, int | None, subprocess.Popen[bytes] | None]:
    """Start the detached supervisor of job ``name`` (``kind`` "training" or "processing").

    Forked by this process's server when it is up, else spawned. Returns the supervisor's
    pid and start time (``None`` when unknown), and the ``Popen`` when it was spawned here.
    The supervisor claims the job only while it is still this process's (its creator's).
    """
    global _JOBS
    if _enabled():
        with _LOCK:
            _JOBS += 1
            server = _usable_server(start=_JOBS >= 2)  # not for a one-job process
            if server is not None:
                found = server.fork({
                    "root": str(root), "name": name, "region": region, "python": python,
                    "kind": kind, "log": str(log_path), "creator": os.getpid(),
                    "cwd": _cwd(), "env": dict(os.environ)})
                if found is not None:
                    return found[0], found[1], None
    proc = _spawn(root, name, region, python, kind, log_path)
    return proc.pid, start_time(proc.pid), proc


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the working folder was removed: the child keeps the server's
        return None


def wait_ready(timeout: float) -> bool:
    """Block until this process's server is READY (starting one if needed); False if it
    is not within ``timeout`` seconds or cannot run here. For tests and benchmarks that
    want the forked path from the first job."""
    if not _enabled():
        return False
    with _LOCK:
        _usable_server(start=True)
        server = _SERVER
        if server is None:
            return False
        if not server.ready and not server.dead:
            line = server._line(timeout)
            server.ready = line == "READY"
        return server.ready and not server.dead


def server_pid() -> int | None:
    """The pid of this process's server, if one runs (for tests)."""
    server = _SERVER
    return None if server is None or server.dead else server.proc.pid


# -- the server's side -------------------------------------------------------------------


def _reap() -> None:
    """Collect the supervisors that have exited (they are this process's children)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _child(request: dict[str, Any], inherited: tuple[int, ...]) -> int:
    """In the forked child: become the job's detached supervisor and run the job."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)
    os.setsid()  # a session and process group of its own, as start_new_session=True gives
    null = os.open(os.devnull, os.O_RDONLY)
    # As open(log, "ab") in the spawned path: created with the default mode, appended to.
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    if request.get("cwd"):
        with contextlib.suppress(OSError):
            os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    from ._supervise import run_job

    return run_job(Path(request["root"]), request["name"], request["region"],
                   request["python"], request["kind"], int(request["creator"]))


def _fork(request: dict[str, Any], inherited: tuple[int, ...]) -> str:
    """Fork the supervisor ``request`` asks for; the answer line for the caller."""
    if threading.active_count() != 1:
        return "REFUSED the server runs threads; a fork is not safe"
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the server's loop
        code = 1
        try:
            code = _child(request, inherited)
        except BaseException:
            with contextlib.suppress(BaseException):
                traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(BaseException):
                    stream.flush()
            os._exit(code)
    start = start_time(pid)
    return f"OK {pid} {'-' if start is None else start}"


def serve(requests: int, replies: int) -> int:
    """The server's loop: fork a supervisor per request line, until the pipe closes."""
    # Every module a supervisor runs, imported once here so that each fork has them.
    from . import _supervise, processing, runner  # noqa: F401

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)  # SIGCHLD wakes the select below: exited children
    signal.signal(signal.SIGCHLD, lambda *_: None)
    inherited = (requests, replies, wake_r, wake_w)
    os.write(replies, b"READY\n")
    buffer = b""
    while True:
        readable, _, _ = select.select([requests, wake_r], [], [], IDLE_SECONDS)
        if not readable:
            return 0  # idle: the caller starts another server when it needs one
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
            _reap()
        if requests not in readable:
            continue
        chunk = os.read(requests, 65536)
        if not chunk:
            return 0  # the caller closed its end, or exited
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                answer = _fork(json.loads(line), inherited)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                answer = f"REFUSED {type(exc).__name__}: {exc}"
            os.write(replies, " ".join(answer.split()).encode() + b"\n")


def main(argv: list[str]) -> int:
    return serve(int(argv[0]), int(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
