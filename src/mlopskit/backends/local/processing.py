"""Runs one local processing job under the SageMaker processing container contract.

The runner plays SageMaker: it downloads every input (the script is the input ``code``)
into each host's own folder laid out like ``/opt/ml``, creates every output folder, writes
``/opt/ml/config/processingjobconfig.json`` and ``resourceconfig.json``, starts
``command + [script] + arguments`` once per host, and uploads the outputs when the job
completes. Scripts that hard-code ``/opt/ml/processing/...`` run unmodified: each host
process runs through :mod:`._pathmap`, which sends those paths to the host's folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ...errors import MlopsKitError
from ...sagemaker_api.processing import create_processing_job_request, python_options
from ...specs.processing import CODE_DIR, ProcessingJobSpec
from ._hosts import HostProcesses, JobRecord, host_share, resource_config
from .environments import python_path
from .objectstore import objects_under
from .store import dumps

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["ROOT_VARIABLE", "ProcessingRunner", "container_path"]

ROOT_VARIABLE = "MLOPSKIT_OPT_ML_ROOT"
LIMIT = 1024  # FailureReason and ExitMessage: the first 1 KB
_BOOTSTRAP = "mlopskit.backends.local._pathmap"
# The folder holding the mlopskit package, so a job's interpreter finds the bootstrap even
# when it is not the one mlopskit is installed in (LocalSession(python=...)).
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[3])


def container_path(base: Path, path: str) -> Path:
    """Where the container path ``/opt/ml/...`` lives in a host folder ``base``.

    Example:
        >>> container_path(Path("/j/hosts/algo-1"), "/opt/ml/processing/input/data")
        PosixPath('/j/hosts/algo-1/processing/input/data')
    """
    return base / path[len("/opt/ml/"):]


class _JobError(Exception):
    """Ends the job as Failed with ``reason`` (a ClientError-style text)."""


class ProcessingRunner(JobRecord):
    """Drives one processing job from InProgress to Completed, Failed or Stopped."""

    _table = "processing_jobs"

    def __init__(self, backend: LocalBackend, name: str,
                 on_log: Callable[[str], None] | None = None, *,
                 creator: int | None = None) -> None:
        self.backend = backend
        self.name = name
        self.on_log = on_log
        self.creator = creator
        row = backend.store.query_one("SELECT * FROM processing_jobs WHERE name = ?", (name,))
        if row is None:
            raise MlopsKitError(f"processing job {name!r} vanished from the local store")
        self.spec = ProcessingJobSpec.model_validate_json(row["spec"])
        self.arn = str(row["arn"])
        self.job_dir = Path(row["job_dir"])
        self.hosts = self.spec.hosts
        # Each host's folder stands in for its container's "/" (the scripts' working
        # folder, as processing containers start them there) and holds its /opt/ml.
        self.roots = {host: self.job_dir / "hosts" / host for host in self.hosts}
        self.bases = {host: root / "opt" / "ml" for host, root in self.roots.items()}
        self._hosts = HostProcesses(name, self.job_dir / "logs", self._log,
                                    prefix_hosts=len(self.hosts) > 1, separate_stderr=True)
        self._downloaded: list[Path] = []
        self._log_lock = threading.Lock()
        self._log_file: IO[str] | None = None

    # -- bookkeeping ---------------------------------------------------------------------

    def _set(self, *, only_active: bool = False, **fields: Any) -> None:
        """Update the job's row; with ``only_active``, only while it is still running (a
        ``describe`` may have settled it meanwhile, and its word stands)."""
        columns = ", ".join(f"{key} = ?" for key in fields)
        guard = " AND status IN ('InProgress', 'Stopping')" if only_active else ""
        with self.backend.store.transaction() as db:
            db.execute(f"UPDATE processing_jobs SET {columns} WHERE name = ?{guard}",  # noqa: S608
                       (*fields.values(), self.name))

    def _stop_requested(self) -> bool:
        row = self.backend.store.query_one(
            "SELECT stop_requested FROM processing_jobs WHERE name = ?", (self.name,))
        return bool(row and row["stop_requested"])

    def _log(self, line: str, raw: str | None = None) -> None:
        with self._log_lock:
            if self._log_file is not None:
                self._log_file.write(line + "\n")
                self._log_file.flush()
        if self.on_log is not None:
            self.on_log(line)

    # -- the phases ----------------------------------------------------------------------

    def run(self) -> None:
        """Run the job to its end; never raises for the job's own failures."""
        if not self._claim():
            return
        (self.job_dir / "logs").mkdir(parents=True, exist_ok=True)
        # Closed in the finally below; a with-block would not fit the phases' structure.
        self._log_file = open(  # noqa: SIM115
            self.job_dir / "logs" / "processing.log", "a", encoding="utf-8")
        deadline = time.monotonic() + self.spec.runtime_limit
        try:
            self._set(started=self._now())
            self._prepare()
            if self._stop_requested():
                self._finish("Stopped", None)
                return
            status, reason = self._process(deadline)
            self._finish(status, reason)
        except _JobError as exc:
            self._finish("Failed", str(exc))
        except KeyboardInterrupt:
            self._hosts.terminate(signal.SIGKILL)
            self._finish("Stopped", "interrupted by the user")
            raise
        except BaseException as exc:
            self._hosts.terminate(signal.SIGKILL)
            self._finish("Failed", f"InternalServerError: {type(exc).__name__}: {exc}")
            if not isinstance(exc, Exception):
                raise
        finally:
            if self._log_file is not None:
                self._log_file.close()
            self._cleanup_inputs()

    def _objects(self, uri: str, what: str) -> list[tuple[str, str]]:
        found = objects_under(self.backend.objects, uri)
        if not found:
            raise _JobError(f"ClientError: no S3 objects found under S3 URL {uri!r} "
                            f"({what})")
        return found

    def _prepare(self) -> None:
        """Every host's folders, inputs and config files, as the container finds them."""
        objects = self.backend.objects
        code = self._objects(self.spec.code_uri, "the input 'code'")
        inputs = {i.name: self._objects(i.s3_uri, f"the input {i.name!r}")
                  for i in self.spec.inputs}
        config = self._job_config()
        for index, host in enumerate(self.hosts):
            base = self.bases[host]
            for folder in ("config", "output", "processing"):
                (base / folder).mkdir(parents=True, exist_ok=True)
            for spec_input in self.spec.inputs:
                target = container_path(base, spec_input.local_path)
                target.mkdir(parents=True, exist_ok=True)
                share = host_share(inputs[spec_input.name], distribution=spec_input.distribution,
                                   index=index, count=len(self.hosts))
                for uri, relative in share:
                    objects.download(uri, target / relative)
                    self._downloaded.append(target / relative)
            code_dir = container_path(base, CODE_DIR)
            code_dir.mkdir(parents=True, exist_ok=True)
            for uri, relative in code:
                objects.download(uri, code_dir / relative)
            if not (code_dir / self.spec.script).is_file():
                raise _JobError(f"ClientError: the script {self.spec.script!r} is not in the "
                                f"input 'code' ({self.spec.code_uri!r})")
            for output in self.spec.outputs:
                container_path(base, output.local_path).mkdir(parents=True, exist_ok=True)
            self._write_json(base / "config" / "processingjobconfig.json", config)
            self._write_json(base / "config" / "resourceconfig.json",
                             resource_config(host, self.hosts, self.spec.instance_type))

    def _job_config(self) -> dict[str, Any]:
        """``processingjobconfig.json``: the CreateProcessingJob request as the container
        sees it (every optional part present), plus the job's ARN."""
        request = create_processing_job_request(
            self.spec, role_arn="", image_uri=self.spec.image_uri or "mlopskit-local")
        request.pop("Tags", None)
        cluster = request["ProcessingResources"]["ClusterConfig"]
        cluster.setdefault("VolumeKmsKeyId", None)
        request["ProcessingJobArn"] = self.arn
        request["RoleArn"] = None  # local jobs assume no role
        request["AppSpecification"].setdefault("ContainerArguments", None)
        request["AppSpecification"]["ImageUri"] = self.spec.image_uri
        request.setdefault("Environment", {})
        request["NetworkConfig"] = {"EnableInterContainerTrafficEncryption": False,
                                    "EnableNetworkIsolation": False, "VpcConfig": None}
        request.setdefault("ProcessingOutputConfig", {"Outputs": []})
        request["ProcessingOutputConfig"]["KmsKeyId"] = None
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": self.spec.runtime_limit}
        return request

    @staticmethod
    def _write_json(path: Path, value: Any) -> None:
        path.write_text(json.dumps(value, indent=2), encoding="utf-8")

    def _environment(self, base: Path) -> dict[str, str]:
        # The processing contract sets no SM_* variables: none leak in from this process.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
        env.update(self.spec.environment)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = python_path()  # sagemaker_containers' stand-in, then yours
        if not self._same_interpreter():
            # Another interpreter (LocalSession(python=...)) may not have mlopskit: let it
            # find the bootstrap (standard library only) after its own paths.
            env["PYTHONPATH"] += os.pathsep + _PACKAGE_PARENT
        # The real folder behind /opt/ml, for code that opens paths outside Python (a C
        # library, another process); absent on SageMaker, where /opt/ml is real.
        env[ROOT_VARIABLE] = str(base)
        return env

    def _same_interpreter(self) -> bool:
        found = shutil.which(self.backend.python) or self.backend.python
        return os.path.abspath(found) == os.path.abspath(sys.executable)

    def _command(self, host: str) -> list[str]:
        return [self.backend.python, *python_options(self.spec.command), "-m", _BOOTSTRAP,
                "--fs-root", str(self.roots[host]), str(self.bases[host]),
                self.spec.script_path, *self.spec.arguments]

    def _process(self, deadline: float) -> tuple[str, str | None]:
        for host in self.hosts:
            self._hosts.start(host, self._command(host), cwd=self.roots[host],
                              env=self._environment(self.bases[host]))
        self._set(host_pids=dumps(self._hosts.identities))
        limit = self.spec.runtime_limit

        def timed_out() -> None:
            self._log(f"MaxRuntimeExceeded: stopping after max_runtime={limit}s")

        outcome = self._hosts.supervise(deadline=deadline, stop_requested=self._stop_requested,
                                        on_timeout=timed_out)
        if outcome.timed_out:
            return "Stopped", f"MaxRuntimeExceeded: the job ran longer than max_runtime={limit}s"
        if outcome.stopped:
            return "Stopped", None
        if outcome.failed is not None:
            return "Failed", self._failure_reason(*outcome.failed)
        return "Completed", None

    def _message(self, host: str) -> str:
        path = self.bases[host] / "output" / "message"
        if not path.is_file():
            return ""
        return path.read_text(encoding="utf-8", errors="replace").strip()

    def _failure_reason(self, host: str, code: int) -> str:
        message = self._message(host)
        if message:
            return message[:LIMIT]
        head = f"AlgorithmError: ExitCode {code} on {host}; last lines of standard error:"
        tail = self._hosts.stderr_tail(host) or ["(nothing was written to standard error)"]
        kept: list[str] = []
        room = LIMIT - len(head)
        for line in reversed(tail):  # the end of a traceback says the most: keep it
            if len(line) + 1 > room:
                break
            kept.insert(0, line)
            room -= len(line) + 1
        return "\n".join([head, *kept]) if kept else (head + "\n" + tail[-1])[:LIMIT]

    def _finish(self, status: str, reason: str | None) -> None:
        if status == "Completed":
            try:
                self._upload()
            except (MlopsKitError, OSError) as exc:
                status, reason = "Failed", f"ClientError: uploading the outputs failed: {exc}"
        messages = [m for m in (self._message(h) for h in self.hosts) if m]
        self._set(status=status, failure_reason=reason,
                  exit_message="\n".join(messages)[:LIMIT] if messages else None,
                  ended=self._now(), host_pids="[]", only_active=True)

    def _upload(self) -> None:
        """Each output folder's files under its destination; algo-1's file wins a clash
        (hosts upload last to first)."""
        objects = self.backend.objects
        for output in self.spec.outputs:
            prefix = output.s3_uri.rstrip("/") + "/"
            for host in reversed(self.hosts):
                folder = container_path(self.bases[host], output.local_path)
                if not folder.is_dir():
                    continue
                for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                    objects.put_file(file, prefix + file.relative_to(folder).as_posix())

    def _cleanup_inputs(self) -> None:
        """Drop the input copies (the store holds them); code, config, outputs and logs stay."""
        for path in self._downloaded:
            path.unlink(missing_ok=True)
        for host in self.hosts:
            for spec_input in self.spec.inputs:
                top = container_path(self.bases[host], spec_input.local_path)
                if not top.is_dir():
                    continue
                for folder in sorted((p for p in top.rglob("*") if p.is_dir()), reverse=True):
                    with contextlib.suppress(OSError):
                        folder.rmdir()  # only empty ones go
                with contextlib.suppress(OSError):
                    top.rmdir()
