"""The processes the local backend records, and stopping them without hitting a stranger.

A pid alone is no identity: once a process has exited and been reaped, the kernel may give
its number to an unrelated process. So every pid the backend records goes with the
process's start time (field 22 of ``/proc/<pid>/stat``, clock ticks since boot), and a
recorded process counts as running, and is signalled, only while both still match.

Hosts and servers run in their own process groups (``pgid == pid``). A group can outlive
its leader (a script's background child): Linux never gives a number to a new process
while a group of that number exists, so the leaderless members of group ``pid`` are the
recorded leader's, provided they also carry the job's mark (an environment entry or a
command line only its processes have).

Without ``/proc`` (not Linux) start times are unknown: a process counts as running while
its pid exists, and nothing recorded is ever signalled by these helpers.

Example:
    >>> me = identity()
    >>> running(*me)
    True
    >>> running(me[0], (me[1] or 0) + 1)  # the same number, another start: not ours
    False
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator

__all__ = [
    "METRIC_SERIES",
    "identity",
    "parse_recorded",
    "processes_marked",
    "running",
    "runs_with",
    "start_time",
    "stop_group",
    "stop_marked",
]

_PROC = "/proc"
# In a training job's logs/ folder: every metric value its log reported, one JSON per line.
METRIC_SERIES = "metrics.jsonl"
HAVE_PROC = os.path.exists(f"{_PROC}/self/stat")


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 first)."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ")".
    return text[text.rfind(b")") + 2:].decode("ascii", "replace").split()


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot); ``None`` when unknown or gone."""
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def identity(pid: int | None = None) -> tuple[int, int | None]:
    """``(pid, start time)`` of ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return pid, start_time(pid)


def running(pid: int, start: int | None) -> bool:
    """True while the process recorded as ``(pid, start)`` runs (a zombie has ended).

    ``start=None`` (recorded by an older mlopskit, or without ``/proc``) falls back to
    "some process has that pid".
    """
    if not HAVE_PROC:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return start is None or int(fields[19]) == start


def parse_recorded(text: str | None) -> list[tuple[int, int | None]]:
    """A recorded pid list: ``[[pid, start], ...]``, or older stores' ``[pid, ...]``.

    Example:
        >>> parse_recorded("[[12, 345], 13]")
        [(12, 345), (13, None)]
    """
    found: list[tuple[int, int | None]] = []
    for item in json.loads(text or "[]"):
        if isinstance(item, list):
            found.append((int(item[0]), None if item[1] is None else int(item[1])))
        else:
            found.append((int(item), None))
    return found


def _pids() -> Iterator[int]:
    with contextlib.suppress(OSError):
        for entry in os.listdir(_PROC):
            if entry.isdigit():
                yield int(entry)


def _read(pid: int, name: str) -> bytes:
    try:
        with open(f"{_PROC}/{pid}/{name}", "rb") as handle:
            return handle.read()
    except OSError:  # gone, or not ours to read
        return b""


def _marked(pid: int, environ_entries: tuple[bytes, ...], cmdline_marker: bytes | None) -> bool:
    if cmdline_marker is not None and cmdline_marker in _read(pid, "cmdline"):
        return True
    if environ_entries:
        environ = b"\0" + _read(pid, "environ")
        return any(b"\0" + entry in environ for entry in environ_entries)
    return False


def stop_group(pid: int, start: int | None, *, environ_entries: tuple[bytes, ...] = (),
               sig: signal.Signals = signal.SIGKILL) -> bool:
    """Signal the process group a recorded host or server leads, if it is provably ours.

    The whole group when its leader ``(pid, start)`` still runs (or is an unreaped zombie
    with that start time); else, when the leader is gone, each remaining member of group
    ``pid`` whose environment holds one of ``environ_entries`` (a prefix such as
    ``b"SM_MODEL_DIR=/root/jobs/training/job/"``). Never anything when the start time is
    unknown. True when something was signalled.
    """
    if not HAVE_PROC or start is None:
        return False
    fields = _stat(pid)
    if fields is not None:
        if int(fields[19]) != start:
            return False  # the number went to another process: not ours
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
            return True
        return False
    members = [member for member in _pids()
               if (fields := _stat(member)) is not None and int(fields[2]) == pid
               and int(fields[19]) >= start]
    hit = False
    for attempt in range(10):
        unread = []
        for member in members:
            if not _read(member, "environ"):
                unread.append(member)  # in the middle of an exec: no environment yet
            elif _marked(member, environ_entries, None):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(member, sig)
                    hit = True
        if not unread:
            break
        members = unread
        time.sleep(0.005 * (attempt + 1))  # an exec takes milliseconds
    return hit


def processes_marked(cmdline_marker: bytes, environ_entries: tuple[bytes, ...] = ()
                     ) -> list[int]:
    """Every live process (not a zombie) whose command line holds ``cmdline_marker`` or
    whose environment holds one of ``environ_entries``."""
    found = []
    for pid in _pids():
        fields = _stat(pid)
        if fields is None or fields[0] in ("Z", "X") or pid == os.getpid():
            continue
        if _marked(pid, environ_entries, cmdline_marker):
            found.append(pid)
    return found


def stop_marked(cmdline_marker: bytes, sig: signal.Signals = signal.SIGKILL) -> int:
    """Signal every process whose command line holds ``cmdline_marker`` (a path only the
    job's own processes name, such as its servers' config folder); how many."""
    count = 0
    for pid in processes_marked(cmdline_marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            count += 1
    return count


def runs_with(pid: int, cmdline_marker: bytes) -> bool:
    """True while ``pid`` runs (not a zombie) with ``cmdline_marker`` in its command line:
    a recorded server is still the one recorded."""
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return cmdline_marker in _read(pid, "cmdline")
