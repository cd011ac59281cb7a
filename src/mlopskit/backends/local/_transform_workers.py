"""The processes that answer a batch transform's requests, seen from the job.

On Linux they are forked from a zygote (:mod:`._zygote`): one process that imported the
inference script and ran ``model_fn`` once, so each worker starts with the model's
libraries imported and the model loaded, in milliseconds, where a new interpreter takes a
second or more (scikit-learn alone imports in about a second). Each instance gets
``min(max_concurrent_transforms, CPUs)`` workers, as a SageMaker serving container runs
several model server workers per instance; requests go to whichever worker is free.

A zygote started by the main thread is kept for the next transform of the same model
(same artifact and code, by their recorded SHA-256, same interpreter, environment and
settings) while this process runs: a repeated transform forks its workers at once instead
of loading the model again. At most :data:`MAX_KEPT` are kept per backend; one exits after
:data:`IDLE_SECONDS` without a job, when the backend closes, and with the thread that
started it (``PR_SET_PDEATHSIG``, so nothing outlives a killed caller; hence only the
main thread's are kept). A model without recorded digests, or a job run by another
thread, gets a zygote of its own, in the job's server folder, stopped at the job's end.

Elsewhere than Linux, with ``MLOPSKIT_TRANSFORM_FORK=0`` in the environment, or when the
zygote finds that forking would not be safe (``model_fn`` left threads running), each
instance is an inference server started as a new interpreter, as for an endpoint.

Every worker is recorded in the job's row (pid and start time) as soon as it is forked,
runs in a process group of its own and dies with its zygote; the job stops its workers
when it ends, whatever the outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import DeploymentFailedError
from ._hosts import die_with_parent_hook
from ._processes import identity, running, stop_group
from ._server_process import log_tail
from .environments import python_path

if TYPE_CHECKING:
    from ...specs.serving import DeployedModelSpec, TransformJobSpec, VariantSpec
    from .backend import LocalBackend
    from .endpoints import LocalEndpoints

__all__ = ["FORK_VARIABLE", "IDLE_SECONDS", "MAX_KEPT", "TransformWorkers"]

FORK_VARIABLE = "MLOPSKIT_TRANSFORM_FORK"  # "0": every instance a new interpreter
IDLE_SECONDS = 120.0  # a kept zygote exits after this long without a job
MAX_KEPT = 2  # zygotes kept per backend
START_TIMEOUT = 120.0  # for the model to load, as for an endpoint's server
STOP_GRACE = 10.0  # SIGTERM, then SIGKILL
_ZYGOTES = "_zygotes"  # under <root>/endpoints/: not a resource name (no "_" in those)


def fork_enabled() -> bool:
    """Whether transform workers are forked here (Linux, not turned off)."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and os.environ.get(FORK_VARIABLE, "1") != "0")


@dataclass(frozen=True)
class _Worker:
    pid: int
    start: int | None
    port: int


class _NoFork(Exception):
    """The zygote loaded the model but will not fork: start servers the usual way."""


class _Gone(Exception):
    """A kept zygote had exited (idle, or killed) before it forked anything: use another."""


class _Zygote:
    """The parent's handle on one zygote process."""

    def __init__(self, serving: LocalEndpoints, model: DeployedModelSpec, variant: VariantSpec,
                 group: str) -> None:
        # The folder, model and code, checked against their digests before extraction.
        entry = serving._prepare(group, variant, model)
        self.folder = Path(entry["dir"])
        self.log = Path(entry["log"])
        config_path = self.folder / "config.json"
        config = json.loads(config_path.read_text())
        config["zygote_idle_seconds"] = IDLE_SECONDS
        config_path.write_text(json.dumps(config))
        env = dict(os.environ)
        env.update(model.environment)
        env["PYTHONPATH"] = python_path()  # sagemaker_containers' stand-in, then yours
        self.log.parent.mkdir(parents=True, exist_ok=True)
        control_r, self.control = os.pipe()
        self.answers, answer_w = os.pipe()
        try:
            with open(self.log, "ab") as output:
                self.proc = subprocess.Popen(
                    [serving.backend.python, "-m", "mlopskit.backends.local._zygote",
                     str(config_path), str(control_r), str(answer_w)],
                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                    env=env, cwd=self.folder, start_new_session=True,
                    pass_fds=(control_r, answer_w), preexec_fn=die_with_parent_hook())
        except BaseException:
            for fd in (self.control, self.answers):
                os.close(fd)
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        finally:
            os.close(control_r)
            os.close(answer_w)
        self.identity = identity(self.proc.pid)
        (self.folder / "owner.json").write_text(json.dumps(list(self.identity)))
        self.lock = threading.Lock()
        self.users = 0
        self.loaded = False
        self.gone = False
        self.last_used = time.monotonic()
        self._buffer = b""

    def _line(self, deadline: float) -> str | None:
        """The next answer line; None at the deadline; ``EOF`` when the zygote is gone."""
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([self.answers], [], [], left)[0]:
                return None
            chunk = os.read(self.answers, 65536)
            if not chunk:
                self.gone = True
                return "EOF"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def _failed(self, reason: str) -> DeploymentFailedError:
        return DeploymentFailedError(f"variant 'transform' did not start: {reason}; its log "
                                     f"is {self.log}{log_tail(self.log)}")

    def _exit_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "the model's process closed its answer pipe without an answer"
        return f"the model's process exited with code {code} before it was ready"

    def ensure_loaded(self) -> None:
        """Wait for the model to load; DeploymentFailedError, or _NoFork."""
        if self.loaded:
            return
        line = self._line(time.monotonic() + START_TIMEOUT)
        if line == "LOADED":
            self.loaded = True
            return
        self.gone = True
        if line is None:
            raise self._failed(f"no answer within {START_TIMEOUT:g} s")
        if line == "EOF":
            raise self._failed(self._exit_reason())
        kind, _, reason = line.partition(" ")
        if kind == "NOFORK":
            raise _NoFork(reason)
        raise self._failed(reason)

    def fork(self, count: int, log: Path,
             record: Callable[[int, int | None], None]) -> list[_Worker]:
        """Fork ``count`` workers logging to ``log``; each is handed to ``record`` as soon
        as it exists. Returns them once all serve."""
        self.ensure_loaded()
        self.last_used = time.monotonic()
        try:
            data = json.dumps({"workers": count, "log": str(log)}).encode() + b"\n"
            os.write(self.control, data)
        except OSError:  # it exited (idle) or was killed
            self.gone = True
            raise _Gone from None
        forked: dict[int, int | None] = {}
        ports: dict[int, int] = {}
        deadline = time.monotonic() + START_TIMEOUT
        while len(forked) < count or any(pid not in ports for pid in forked):
            line = self._line(deadline)
            if line is None:
                raise self._failed(f"its workers did not answer within {START_TIMEOUT:g} s")
            if line == "EOF":
                if not forked:
                    raise _Gone
                raise self._failed("the model's process exited while forking workers")
            kind, *fields = line.split(" ", 2)
            if kind == "FORKED":
                pid = int(fields[0])
                forked[pid] = None if fields[1] == "-" else int(fields[1])
                record(pid, forked[pid])
            elif kind == "READY":
                ports[int(fields[0])] = int(fields[1])
            elif kind == "FAILED":
                raise self._failed(fields[1] if len(fields) > 1 else "a worker failed")
            elif kind == "EXITED" and int(fields[0]) in forked and int(fields[0]) not in ports:
                raise self._failed(f"a worker (pid {fields[0]}) exited with code {fields[1]} "
                                   "before it was ready")
            # EXITED of an earlier job's worker: already stopped, nothing to do
        return [_Worker(pid, start, ports[pid]) for pid, start in forked.items()]

    def usable(self) -> bool:
        """Alive, and not about to exit for idleness (in use counts as not idle)."""
        return not self.gone and self.proc.poll() is None and (
            self.users > 0 or time.monotonic() - self.last_used < IDLE_SECONDS - 5)

    def stop(self) -> None:
        """Close its pipe (it exits, its workers with it), wait, remove its folder. One
        still loading the model reads no pipe, and has nothing to finish: it is killed."""
        self.gone = True
        for fd in (self.control, self.answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.control = self.answers = -1
        if not self.loaded:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


# -- kept zygotes --------------------------------------------------------------------------

_LOCK = threading.Lock()
_KEPT: weakref.WeakKeyDictionary[LocalBackend, dict[str, _Zygote]] = \
    weakref.WeakKeyDictionary()


def _key(serving: LocalEndpoints, model: DeployedModelSpec) -> str | None:
    """What a zygote's loaded model depends on; None when it cannot be proven the same
    (no recorded digest of the artifact, or of a code archive)."""
    code = model.environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if model.sha256 is None or (code.startswith("s3://") and model.code_sha256 is None):
        return None
    return json.dumps({
        "python": serving.backend.python, "environ": dict(os.environ),
        "model": model.model_dump(mode="json", exclude={"name", "tags", "instance_type"}),
        "pythonpath": python_path()}, sort_keys=True)


def _close_kept(backend: LocalBackend) -> None:
    with _LOCK:
        kept = _KEPT.pop(backend, {})
    for zygote in kept.values():
        zygote.stop()


def _stale_folders(serving: LocalEndpoints) -> None:
    """Remove kept zygotes' folders whose process is gone (killed with a dead caller)."""
    for owner in (serving.root / _ZYGOTES).glob("*/owner.json"):
        with contextlib.suppress(OSError, ValueError, TypeError):
            pid, start = json.loads(owner.read_text())
            if not running(int(pid), None if start is None else int(start)):
                shutil.rmtree(owner.parent, ignore_errors=True)


def _acquire(serving: LocalEndpoints, model: DeployedModelSpec, variant: VariantSpec,
             group: str) -> _Zygote:
    """A zygote for ``model``: a kept one when there is one, else a new one (kept when
    the model's digests are recorded, this is the main thread and there is room; else the
    job's own, in the job's server folder ``group``). Release it with :func:`_release`."""
    key = _key(serving, model)
    # A zygote dies with the thread that started it (PR_SET_PDEATHSIG): only one started
    # by the main thread lives long enough to be kept for other jobs.
    if key is None or threading.current_thread() is not threading.main_thread():
        zygote = _Zygote(serving, model, variant, group)
        zygote.users = 1
        return zygote
    backend = serving.backend
    dropped: list[_Zygote] = []
    try:
        with _LOCK:
            kept = _KEPT.get(backend)
            if kept is None:
                kept = _KEPT[backend] = {}
                backend.on_close(lambda: _close_kept(backend))
                _stale_folders(serving)
            found = kept.get(key)
            if found is not None and found.usable():
                found.users += 1
                found.last_used = time.monotonic()
                return found
            # Make room: forget gone or idle-expired zygotes, then the least recently used
            # idle ones; a busy one is forgotten only here and stopped by its last user.
            for name, zygote in list(kept.items()):
                if name == key or not zygote.usable():
                    del kept[name]
                    if not zygote.users:
                        dropped.append(zygote)
            idle = sorted((z.last_used, k) for k, z in kept.items() if not z.users)
            while len(kept) >= MAX_KEPT and idle:
                dropped.append(kept.pop(idle.pop(0)[1]))
            zygote = _Zygote(serving, model, variant, _ZYGOTES)
            zygote.users = 1
            if len(kept) < MAX_KEPT:  # else every kept one is busy: this one is the job's
                kept[key] = zygote
            return zygote
    finally:
        for old in dropped:
            old.stop()


def _release(zygote: _Zygote) -> None:
    """A job is done with ``zygote``: stop it unless it is kept (and still alive)."""
    with _LOCK:
        zygote.users -= 1
        zygote.last_used = time.monotonic()
        kept = next((k for k in _KEPT.values() if zygote in k.values()), None)
        if kept is not None and zygote.gone:
            for name in [n for n, z in kept.items() if z is zygote]:
                del kept[name]
            kept = None
        drop = kept is None and not zygote.users
    if drop:
        zygote.stop()


# -- a job's workers -----------------------------------------------------------------------


class TransformWorkers:
    """What answers one transform job's requests: forked workers, or spawned servers.

    ``start()`` (in the job's own thread) begins; ``wait_ready()`` returns once every
    worker serves; ``post()`` sends one request to a free worker; ``stop()`` stops them
    all, whatever happened. ``record(pid, start)`` is called for every process as soon as
    it exists, so the job's row names it.
    """

    def __init__(self, serving: LocalEndpoints, spec: TransformJobSpec,
                 model: DeployedModelSpec, variant: VariantSpec, group: str,
                 record: Callable[[int, int | None], None]) -> None:
        self.serving = serving
        self.spec = spec
        self.group = group  # the job's server folder: <root>/endpoints/<group>/
        self.model = model
        self.variant = variant
        self.record = record
        # As many requests in flight as SageMaker sends: MaxConcurrentTransforms each.
        self.slots = spec.instance_count * (spec.max_concurrent_transforms or 1)
        self._zygote: _Zygote | None = None
        self._workers: list[_Worker] = []
        self._servers: list[dict[str, Any]] = []  # spawned servers (no fork)
        self._starting: list[Future[dict[str, Any]]] = []
        self._starter: ThreadPoolExecutor | None = None
        self._free: queue.Queue[tuple[int, int | None]] = queue.Queue()

    def start(self) -> None:
        if fork_enabled():
            self._zygote = _acquire(self.serving, self.model, self.variant, self.group)
        else:
            self._spawn()

    def _spawn(self) -> None:
        """Start one inference server per instance, side by side, as an endpoint would."""
        def start_server() -> dict[str, Any]:
            server = self.serving._start(self.group, self.variant, self.model)
            self.record(*identity(int(server["pid"])))
            return server

        self._starter = ThreadPoolExecutor(max_workers=self.spec.instance_count)
        self._starting = [self._starter.submit(start_server)
                          for _ in range(self.spec.instance_count)]

    def wait_ready(self) -> None:
        if self._zygote is not None:
            try:
                try:
                    self._fork()
                except _Gone:  # a kept zygote that exited meanwhile: once more, anew
                    self._drop_zygote()
                    self._zygote = _acquire(self.serving, self.model, self.variant,
                                            self.group)
                    self._fork()
                return
            except _NoFork:
                self._drop_zygote()
                self._spawn()
            except _Gone:
                raise DeploymentFailedError("variant 'transform' did not start: the model's "
                                            "process exited before it forked its workers"
                                            ) from None
        self._wait_spawned()

    def _fork(self) -> None:
        assert self._zygote is not None
        per_instance = max(1, min(self.spec.max_concurrent_transforms or 1,
                                  os.cpu_count() or 1))
        log = self.serving.backend.root / "logs" / "endpoints" / self.group / \
            f"transform-workers-{os.urandom(4).hex()}.log"
        log.parent.mkdir(parents=True, exist_ok=True)

        def forked(pid: int, start: int | None) -> None:
            self._workers.append(_Worker(pid, start, 0))
            self.record(pid, start)

        with self._zygote.lock:
            workers = self._zygote.fork(self.spec.instance_count * per_instance, log, forked)
        self._workers = workers
        for slot in range(self.slots):
            worker = workers[slot % len(workers)]
            self._free.put((worker.port, worker.pid))

    def _wait_spawned(self) -> None:
        try:
            for future in self._starting:
                with contextlib.suppress(Exception):
                    self._servers.append(future.result())
            for future in self._starting:
                future.result()  # re-raise the first failure, after keeping what started
        finally:
            self._starting = []  # each one that started is in _servers, to be stopped
            if self._starter is not None:
                self._starter.shutdown()
        for slot in range(self.slots):
            server = self._servers[slot % len(self._servers)]
            self._free.put((int(server["port"]), None))

    def post(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes]:
        """Send one request to a free worker: (HTTP status, answer body)."""
        port, pid = self._free.get()
        try:
            status, reply, _ = self.serving._post(port, body, content_type, accept, pid=pid)
        finally:
            self._free.put((port, pid))
        return status, reply

    def _drop_zygote(self) -> None:
        if self._zygote is not None:
            zygote, self._zygote = self._zygote, None
            zygote.gone = True
            _release(zygote)

    def stop(self) -> None:
        """Stop every worker and server of the job (and its zygote unless it is kept)."""
        try:
            if self._starting:
                self._wait_spawned_quietly()
            _stop_workers(self._workers)
            if self._servers:
                self.serving._stop({str(i): s for i, s in enumerate(self._servers)})
        finally:
            if self._zygote is not None:
                zygote, self._zygote = self._zygote, None
                _release(zygote)

    def _wait_spawned_quietly(self) -> None:
        """Keep every server that did start (to stop it), whatever the others did."""
        for future in self._starting:
            with contextlib.suppress(Exception):
                server = future.result()
                if server not in self._servers:
                    self._servers.append(server)
        self._starting = []
        if self._starter is not None:
            self._starter.shutdown()


def _stop_workers(workers: list[_Worker]) -> None:
    """SIGTERM each worker (they exit at once), SIGKILL what is left after the grace."""
    alive = [w for w in workers if w.start is not None and running(w.pid, w.start)]
    for worker in alive:
        stop_group(worker.pid, worker.start, sig=signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for worker in alive:
        _wait_exit(worker, deadline)
    for worker in alive:
        if running(worker.pid, worker.start):
            stop_group(worker.pid, worker.start, sig=signal.SIGKILL)
            _wait_exit(worker, time.monotonic() + STOP_GRACE)


def _wait_exit(worker: _Worker, deadline: float) -> None:
    """Until ``worker`` has exited or ``deadline``: the kernel's word through a pidfd."""
    try:
        fd = os.pidfd_open(worker.pid)
    except (AttributeError, OSError):
        fd = None
    try:
        while running(worker.pid, worker.start):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if fd is not None:
                select.select([fd], [], [], left)
            else:  # no pidfd (kernel before 5.3): look again shortly
                time.sleep(min(left, 0.005))
    finally:
        if fd is not None:
            os.close(fd)
