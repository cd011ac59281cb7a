"""The hosts of a local job: one subprocess per instance, its output pumped, supervised to
the end. Training and processing runners share this, so both stop, time out and fail the
same way.

Each host runs in its own process group (a container's worth of processes). When a host's
main process exits, whatever it left running in its group is killed, as a container ends
with its entry process. One failing host fails the job: the others get ``SIGTERM``, then
``SIGKILL`` after :data:`STOP_GRACE_SECONDS`. On Linux a host also dies with the process
supervising it (``PR_SET_PDEATHSIG``), so killing a supervisor or a ``fit(wait=True)``
caller never leaves the user's script running; what the script started in its group is
stopped by the next ``describe`` (see :mod:`._processes`).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ._processes import identity, start_time

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = [
    "STOP_GRACE_SECONDS",
    "HostProcesses",
    "HostsOutcome",
    "JobRecord",
    "host_share",
    "resource_config",
]

STOP_GRACE_SECONDS = 10.0


class JobRecord:
    """What a training or processing runner does with its job's row: the time on the
    backend's clock, and claiming the job as its supervisor."""

    _table: ClassVar[str]  # training_jobs, processing_jobs
    backend: LocalBackend
    name: str
    creator: int | None

    def _now(self) -> str:
        return self.backend.clock.now().isoformat()

    def _claim(self) -> bool:
        """Record this process as the job's supervisor; False when the job already ended
        (a ``describe`` saw its creator die before this process started) or, for a
        detached supervisor (``creator`` given), when the job is no longer its creator's
        nor this process's: another supervisor has it. Two supervisors for one job can
        only come from a supervisor server lost between its fork and its answer (see
        :mod:`._supervisor_server`); the first to claim runs the job, the other stops here.
        """
        pid, start = identity()
        guard, owners = "", tuple[int, ...]()
        if self.creator is not None:
            guard = " AND (supervisor_pid IS NULL OR supervisor_pid IN (?, ?))"
            owners = (self.creator, pid)
        with self.backend.store.transaction() as db:
            return db.execute(
                f"UPDATE {self._table} SET supervisor_pid = ?, supervisor_start = ? WHERE "  # noqa: S608
                f"name = ? AND status IN ('InProgress', 'Stopping'){guard}",
                (pid, start, self.name, *owners)).rowcount == 1
_POLL_SECONDS = 0.5
_STDERR_TAIL_LINES = 100

T = TypeVar("T")


def host_share(items: Sequence[T], *, distribution: str, index: int, count: int) -> list[T]:
    """The part of an input's objects host ``index`` (0-based) of ``count`` gets.

    ``FullyReplicated`` gives every host everything; ``ShardedByS3Key`` deals the objects
    (sorted by key) out round-robin: host k gets items k, k+N, k+2N, ...

    Example:
        >>> host_share(["a", "b", "c"], distribution="ShardedByS3Key", index=1, count=2)
        ['b']
    """
    if distribution == "ShardedByS3Key":
        return list(items[index::count])
    return list(items)


def resource_config(host: str, hosts: Sequence[str], instance_type: str) -> dict[str, Any]:
    """``resourceconfig.json`` of one host, as SageMaker writes it for a homogeneous cluster.

    Example:
        >>> resource_config("algo-2", ["algo-1", "algo-2"], "ml.m5.large")["current_host"]
        'algo-2'
    """
    group = "homogeneousCluster"
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": group,
        "hosts": list(hosts),
        "instance_groups": [{"instance_group_name": group, "instance_type": instance_type,
                             "hosts": list(hosts)}],
        "network_interface_name": "eth0",
    }


@dataclasses.dataclass(frozen=True)
class HostsOutcome:
    """How the hosts ended: ran out of time, were stopped, or ``(host, exit code)`` failed."""

    timed_out: bool
    stopped: bool
    failed: tuple[str, int] | None


_PR_SET_PDEATHSIG = 1


def die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get ``SIGKILL`` when the thread that started it
    ends (Linux ``PR_SET_PDEATHSIG``); ``None`` where that does not exist.

    ``preexec_fn`` runs in the child between ``fork`` and ``exec``, and CPython warns that it
    can deadlock when another thread held, at the fork, a lock the function needs. This one
    needs none: ``prctl`` is looked up here, before the fork, and the child only calls it
    once and ``os.getppid`` once: no import, no logging, no I/O, no Python-level lock (the
    interpreter re-creates the GIL in the child, and glibc's malloc is fork-safe).
    The runner's thread that starts the hosts waits for them to end, so "the thread ends"
    means "the supervisor, or the ``fit(wait=True)`` caller, died". The signal is not
    inherited by the script's own children; those stay in its process group, which the
    supervisor (or, when it died, the next ``describe``) kills.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above: go too
            os._exit(1)

    return hook


def _report_exit(host: str, proc: subprocess.Popen[bytes],
                 exited: queue.Queue[tuple[str, int]]) -> None:
    exited.put((host, proc.wait()))


class HostProcesses:
    """Starts each host's process, pumps its output, and supervises them all to the end.

    ``emit(line, raw)`` receives every output line: ``line`` carries a ``[algo-N] `` prefix
    when ``prefix_hosts``, ``raw`` is the line as the script wrote it. Each host's lines also
    go, unprefixed, to ``<log_dir>/<host>.log``. With ``separate_stderr`` the script's
    standard error is read apart from its standard output (both still reach ``emit`` in
    arrival order), and its last lines are kept for :meth:`stderr_tail`; otherwise it is
    merged into standard output.
    """

    def __init__(self, job_name: str, log_dir: Path, emit: Callable[[str, str], None], *,
                 prefix_hosts: bool, separate_stderr: bool = False) -> None:
        self.job_name = job_name
        self.log_dir = log_dir
        self.emit = emit
        self.prefix_hosts = prefix_hosts
        self.separate_stderr = separate_stderr
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._pumps: list[threading.Thread] = []
        self._exited: queue.Queue[tuple[str, int]] = queue.Queue()
        self._stderr: dict[str, collections.deque[str]] = {}
        self._starts: dict[int, int | None] = {}
        self._die_with_parent = die_with_parent_hook()

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs.values()]

    @property
    def identities(self) -> list[list[int | None]]:
        """``[pid, start time]`` of each host, as the store records them."""
        return [[pid, start] for pid, start in self._starts.items()]

    def start(self, host: str, command: Sequence[str], *, cwd: Path,
              env: Mapping[str, str]) -> None:
        """Start ``host``'s process in its own process group."""
        proc = subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if self.separate_stderr else subprocess.STDOUT,
            start_new_session=True, preexec_fn=self._die_with_parent)
        self._procs[host] = proc
        self._starts[proc.pid] = start_time(proc.pid)
        self._stderr[host] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        # One thread reads the output, another waits for the exit: a background child that
        # keeps the pipe open must not keep the job alive after its host exits.
        pump = threading.Thread(target=self._pump, args=(host, proc), daemon=True,
                                name=f"mlopskit-{self.job_name}-{host}-log")
        pump.start()
        self._pumps.append(pump)
        threading.Thread(target=_report_exit, args=(host, proc, self._exited), daemon=True,
                         name=f"mlopskit-{self.job_name}-{host}-wait").start()

    def stderr_tail(self, host: str) -> list[str]:
        """The last lines ``host`` wrote to standard error (with ``separate_stderr``)."""
        return list(self._stderr.get(host, ()))

    def _pump(self, host: str, proc: subprocess.Popen[bytes]) -> None:
        prefix = f"[{host}] " if self.prefix_hosts else ""
        streams = {proc.stdout: False, proc.stderr: True}
        with open(self.log_dir / f"{host}.log", "a", encoding="utf-8") as host_log, \
                selectors.DefaultSelector() as selector:
            pending: dict[int, bytes] = {}
            for stream, is_stderr in streams.items():
                if stream is not None:
                    selector.register(stream, selectors.EVENT_READ, is_stderr)
                    pending[stream.fileno()] = b""

            def deliver(data: bytes, is_stderr: bool) -> None:
                line = data.decode("utf-8", "replace").rstrip("\r\n")
                host_log.write(line + "\n")
                host_log.flush()
                if is_stderr:
                    self._stderr[host].append(line)
                self.emit(prefix + line, line)

            while selector.get_map():
                for key, _ in selector.select():
                    fd = key.fd
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        if pending[fd]:
                            deliver(pending[fd], key.data)
                        selector.unregister(key.fileobj)
                        continue
                    *lines, pending[fd] = (pending[fd] + chunk).split(b"\n")
                    for line in lines:
                        deliver(line, key.data)
        for stream in streams:
            if stream is not None:
                stream.close()

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def terminate(self, sig: signal.Signals) -> None:
        """Signal every host's whole process group (the host itself may have exited)."""
        for proc in self._procs.values():
            self._kill_group(proc, sig)

    def supervise(self, *, deadline: float, stop_requested: Callable[[], bool],
                  on_timeout: Callable[[], None]) -> HostsOutcome:
        """Wait for every host to exit, stopping them all on a stop request, at ``deadline``
        (``time.monotonic()``; ``on_timeout`` runs once then) or when one host fails."""
        remaining = set(self._procs)
        failed: tuple[str, int] | None = None
        stopped = timed_out = False
        terminating_since: float | None = None
        while remaining:
            now = time.monotonic()
            if terminating_since is None and now >= deadline:
                timed_out = True
                on_timeout()
            elif terminating_since is None and stop_requested():
                stopped = True
            if terminating_since is None and (timed_out or stopped):
                terminating_since = now
                self.terminate(signal.SIGTERM)
            if terminating_since is not None and now - terminating_since > STOP_GRACE_SECONDS:
                self.terminate(signal.SIGKILL)
            wait_for = _POLL_SECONDS if terminating_since is not None else \
                max(0.0, min(_POLL_SECONDS, deadline - now))
            try:
                host, code = self._exited.get(timeout=wait_for)
            except queue.Empty:
                continue
            remaining.discard(host)
            # The container ends with its entry process: clear whatever it left running.
            self._kill_group(self._procs[host], signal.SIGKILL)
            if code != 0 and failed is None and terminating_since is None:
                failed = (host, code)
                terminating_since = time.monotonic()
                self.terminate(signal.SIGTERM)  # one failed host fails the job
        for pump in self._pumps:
            pump.join(timeout=5)
        return HostsOutcome(timed_out=timed_out, stopped=stopped or stop_requested(),
                            failed=failed)
