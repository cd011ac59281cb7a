"""The chaos suite's harness: run a workflow in a process of its own, meet it at a chosen
point, SIGKILL it (or the worker it started), and check what is left.

Nothing here sleeps for a fixed time. The program under test reports where it is through a
FIFO (:class:`Gate`: it writes a line, the test is blocked reading it); processes are
awaited through pidfds (the kernel says when one exits); the store is polled in a bounded
loop whose pauses also end when the process being watched exits.

Every process a scenario starts has ``MLOPSKIT_ROOT=<root>`` in its environment (the
caller's, inherited by supervisors, hosts, their children and inference servers), so
:func:`processes_of` finds all of them, recorded or not.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

# What every caller program starts with: a session on the scenario's root, and `gate(...)`
# to say where it is.
PRELUDE = """\
import os, sys, threading
import mlopskit

ROOT = os.environ["MLOPSKIT_ROOT"]
session = mlopskit.LocalSession(root=ROOT)


def gate(message):
    with open(os.environ["CHAOS_GATE"], "w") as fifo:
        fifo.write(message + "\\n")


def hold():
    with open(os.environ["CHAOS_GO"]) as fifo:
        fifo.readline()


"""

# Job-side code (training and processing scripts, inference handlers) reports the same way.
GATE_FUNCTION = """\
import os, threading


def gate(message):
    with open(os.environ["CHAOS_GATE"], "w") as fifo:
        fifo.write(message + "\\n")


"""


class Gate:
    """A FIFO the program under test writes one line into when it reaches a point.

    The test keeps both ends open (so a writer that has come and gone never reads as
    end-of-file), and :meth:`wait` blocks in ``select`` until a line arrives.
    """

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self._read = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._keep = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        self._buffer = b""

    def wait(self, timeout: float = 90.0, *, watch: int | None = None) -> str:
        """The next line written; fails after ``timeout`` s, or when process ``watch``
        exits first (it will never write it)."""
        deadline = time.monotonic() + timeout
        pidfd = _pidfd(watch) if watch is not None else None
        try:
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                assert left > 0, f"nothing came through {self.path.name} in {timeout} s"
                fds = [self._read] + ([pidfd] if pidfd is not None else [])
                ready, _, _ = select.select(fds, [], [], left)
                if self._read in ready:
                    self._buffer += os.read(self._read, 4096)
                elif pidfd is not None and pidfd in ready:
                    raise AssertionError(f"process {watch} exited before writing to "
                                         f"{self.path.name}")
        finally:
            if pidfd is not None:
                os.close(pidfd)
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def close(self) -> None:
        os.close(self._read)
        os.close(self._keep)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def wait_exit(pid: int, timeout: float) -> bool:
    """Block until ``pid`` exits (True) or ``timeout`` passes (False)."""
    fd = _pidfd(pid)
    if fd is None:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def kill(pid: int) -> None:
    """SIGKILL ``pid`` and wait until it has exited (the kernel's word, not a delay)."""
    os.kill(pid, signal.SIGKILL)
    assert wait_exit(pid, 30), f"process {pid} survived SIGKILL"


def poll(read: Callable[[], T], done: Callable[[T], bool], *, watch: int,
         timeout: float = 60.0, what: str = "the condition") -> T:
    """Read until ``done(value)``, bounded by ``timeout``. Between reads it waits on the
    exit of ``watch``, the process expected to make it true (20 ms at most): if that
    process dies, the wait ends there."""
    deadline = time.monotonic() + timeout
    pidfd = _pidfd(watch)
    try:
        while True:
            value = read()
            if done(value):
                return value
            assert time.monotonic() < deadline, f"{what}: still {value!r} after {timeout} s"
            if pidfd is None or select.select([pidfd], [], [], 0.02)[0]:
                value = read()
                assert done(value), f"{what}: process {watch} exited; last seen {value!r}"
                return value
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _read(pid: int, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _zombie(pid: int) -> bool:
    stat = _read(pid, "stat")
    return not stat or stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X")


def processes_of(root: Path) -> dict[int, str]:
    """Live processes whose command line or environment mentions ``root``: pid -> command."""
    mark = str(root).encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        cmdline = _read(pid, "cmdline")
        if (mark in cmdline or mark in _read(pid, "environ")) and not _zombie(pid):
            found[pid] = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
    return found


def assert_no_processes(root: Path, timeout: float = 15.0) -> None:
    """Nothing of ``root`` still runs; processes already dying get ``timeout`` to exit."""
    deadline = time.monotonic() + timeout
    for pid in processes_of(root):
        wait_exit(pid, max(0.0, deadline - time.monotonic()))
    left = processes_of(root)
    assert not left, f"processes of the store still run: {left}"


def stop_everything(root: Path) -> None:
    """Safety net for a failed scenario: kill whatever of ``root`` still runs."""
    for pid in processes_of(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def doctor(root: Path) -> tuple[int, dict[str, Any]]:
    """``mlopskit --root ROOT doctor --json``: its exit code and report."""
    from mlopskit.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--root", str(root), "doctor", "--json"])
    return code, json.loads(out.getvalue())


def temporary_files(root: Path) -> list[Path]:
    """Half-written files anywhere under ``root``: interrupted uploads and partial copies."""
    return sorted(p for pattern in (".upload-*", "*.part", "*.tmp")
                  for p in root.rglob(pattern))


def assert_settled(root: Path) -> dict[str, Any]:
    """The end state every scenario must reach: the doctor finds the store sound with no
    problem left, no process of the store runs, and nothing half-written lies around."""
    code, report = doctor(root)
    assert (code, report["problems"], report["integrity"]) == (0, [], []), report
    assert_no_processes(root)
    assert temporary_files(root) == []
    return report


class Caller:
    """A Python program run as a process of its own against the scenario's root."""

    def __init__(self, root: Path, folder: Path, source: str, env: dict[str, str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.program = folder / "caller.py"
        self.program.write_text(PRELUDE + textwrap.dedent(source))
        self.output = folder / "caller.log"
        with open(self.output, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(self.program)], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env, "MLOPSKIT_ROOT": str(root),
                     "MLOPSKIT_PROGRESS": "0"})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)

    def finish(self, timeout: float = 90.0) -> str:
        """Wait for a normal exit; its output (a failure shows it)."""
        code = self.proc.wait(timeout=timeout)
        text = self.output.read_text()
        assert code == 0, f"the caller exited {code}:\n{text}"
        return text


def store_row(root: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """One row of the metadata, read with plain SQLite (for synchronising, never judging)."""
    with contextlib.closing(sqlite3.connect(root / "metadata.db", timeout=30)) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, params).fetchone()


@contextlib.contextmanager
def write_lock(root: Path) -> Iterator[None]:
    """Hold the store's write lock: every writer blocks at its next write until released,
    so a process can be caught between two of its writes."""
    db = sqlite3.connect(root / "metadata.db", timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("ROLLBACK")
    finally:
        db.close()
