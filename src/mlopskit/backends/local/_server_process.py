"""The inference server processes of local endpoints, seen from the process that started
them: readiness, liveness, exit codes and logs.

A server started by this process is kept here (:data:`CHILDREN`), so that when it exits its
exit code can be read and quoted ("exited with code 3", "was killed by SIGKILL"); a server
another process started can only be found gone.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["CHILDREN", "death", "gone", "kill", "log_tail", "read_answer"]

# Every server process this process started, by pid: their exit codes, once they exit.
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def gone(pid: int) -> bool:
    """True once ``pid`` has exited (reaping it when it is our child)."""
    child = CHILDREN.get(pid)
    if child is not None:
        return child.poll() is not None  # keeps the exit code, unlike a bare waitpid
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" in status.read_text()
    except OSError:
        return False


def kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _exit_text(pid: int) -> str:
    """How server ``pid`` ended, as precisely as this process can tell."""
    child = CHILDREN.get(pid)
    code = child.returncode if child is not None else None
    if code is None:
        return f"exited (pid {pid} is gone; it was not started by this process, so its " \
               "exit code is unknown)"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name} (pid {pid})"
        return f"was killed by signal {-code} (pid {pid})"
    return f"exited with code {code} (pid {pid})"


def death(variant: str, server: dict[str, Any]) -> str:
    """Why an endpoint failed when the server of ``variant`` has died."""
    log = Path(server["log"])
    return (f"variant {variant!r}: its inference server {_exit_text(int(server['pid']))}; "
            f"its log is {log}{log_tail(log)}")


def read_answer(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The server's line on its readiness pipe; if none comes, why (``FAILED ...``)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"FAILED no answer within {timeout:g} s"
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # the server closed the pipe without a word: it has exited
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                return "FAILED the server closed its readiness pipe without an answer"
            return f"FAILED the server exited with code {code} before it was ready"
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace")


def log_tail(log: Path, lines: int = 8) -> str:
    """The last lines of a server log, to quote in an error (empty when there are none)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").rstrip()
    except OSError:
        return ""
    tail = text.splitlines()[-lines:]
    return (", which ends with:\n" + "\n".join(tail)) if tail else ""
