"""Runs one local training job under the SageMaker training contract.

The runner plays both SageMaker (download channels, write config, upload artifacts, keep
status) and the training toolkit inside the container (decode hyperparameters, set
``SM_*``, start the script). Each host is a subprocess in its own process group with its own
``/opt/ml``-shaped folder under the job's directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..._archive import make_tar_gz, safe_extract
from ...errors import MlopsKitError
from ...sagemaker_api.metrics import parse_metric
from ...specs.training import TrainingJobSpec
from ._hosts import STOP_GRACE_SECONDS, HostProcesses, JobRecord, host_share, resource_config
from ._processes import METRIC_SERIES
from .environments import RequirementsError, layered_python, python_path
from .objectstore import objects_under
from .store import dumps
from .toolkit import ContainerPaths, to_cmd_args, training_environment, user_hyperparameters

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["STOP_GRACE_SECONDS", "TrainingRunner"]

FAILURE_REASON_LIMIT = 1024


class _JobError(Exception):
    """Ends the job as Failed with ``reason`` (a ClientError/AlgorithmError-style text)."""


class TrainingRunner(JobRecord):
    """Drives one job from InProgress to Completed, Failed or Stopped."""

    _table = "training_jobs"

    def __init__(self, backend: LocalBackend, name: str,
                 on_log: Callable[[str], None] | None = None, *,
                 creator: int | None = None) -> None:
        self.backend = backend
        self.name = name
        self.on_log = on_log
        self.creator = creator
        row = backend.store.query_one("SELECT * FROM training_jobs WHERE name = ?", (name,))
        if row is None:
            raise MlopsKitError(f"training job {name!r} vanished from the local store")
        self.spec = TrainingJobSpec.model_validate_json(row["spec"])
        self.region = str(row["region"])
        self.job_dir = Path(row["job_dir"])
        self.encoded = self.spec.encoded_hyperparameters(self.region)
        self.hosts = self.spec.hosts
        self.paths = {host: ContainerPaths(self.job_dir / "hosts" / host) for host in self.hosts}
        self._hosts = HostProcesses(name, self.job_dir / "logs", self._log,
                                    prefix_hosts=len(self.hosts) > 1)
        self._metrics: dict[str, tuple[float, str]] = {}
        self._metric_patterns = [(m.name, re.compile(m.regex))
                                 for m in self.spec.metric_definitions]
        self._log_lock = threading.Lock()
        self._log_file: IO[str] | None = None
        self._series_file: IO[str] | None = None  # every metric value, as it was logged

    # -- bookkeeping ---------------------------------------------------------------------

    def _set(self, *, only_active: bool = False, **fields: Any) -> None:
        """Update the job's row; with ``only_active``, only while it is still running (a
        ``describe`` may have settled it meanwhile, and its word stands)."""
        secondary = fields.get("secondary_status")
        guard = " AND status IN ('InProgress', 'Stopping')" if only_active else ""
        with self.backend.store.transaction() as db:
            if secondary is not None:
                row = db.execute("SELECT transitions FROM training_jobs WHERE name = ?",
                                 (self.name,)).fetchone()
                transitions = json.loads(row["transitions"])
                now = self._now()
                if transitions:
                    transitions[-1]["EndTime"] = now
                transitions.append({"Status": secondary, "StartTime": now})
                fields["transitions"] = dumps(transitions)
            columns = ", ".join(f"{key} = ?" for key in fields)
            db.execute(f"UPDATE training_jobs SET {columns} WHERE name = ?{guard}",  # noqa: S608
                       (*fields.values(), self.name))

    def _stop_requested(self) -> bool:
        row = self.backend.store.query_one(
            "SELECT stop_requested FROM training_jobs WHERE name = ?", (self.name,))
        return bool(row and row["stop_requested"])

    def _log(self, line: str, raw: str | None = None) -> None:
        """Record one log line; metrics are matched on ``raw`` (the line without host prefix)."""
        with self._log_lock:
            if self._log_file is not None:
                self._log_file.write(line + "\n")
                self._log_file.flush()
            for metric, pattern in self._metric_patterns:
                value = parse_metric(line if raw is None else raw, pattern)
                if value is not None:
                    now = self._now()
                    self._metrics[metric] = (value, now)
                    if self._series_file is not None:
                        self._series_file.write(json.dumps(
                            {"MetricName": metric, "Value": value, "Timestamp": now}) + "\n")
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
            self.job_dir / "logs" / "training.log", "a", encoding="utf-8")
        self._series_file = open(  # noqa: SIM115
            self.job_dir / "logs" / METRIC_SERIES, "a", encoding="utf-8")
        deadline = time.monotonic() + self.spec.max_run
        try:
            self._set(started=self._now(), secondary_status="Downloading")
            self._prepare()
            python = self._install_requirements()
            if self._stop_requested():
                self._finish("Stopped", "Stopped", None, upload=False)
                return
            self._set(secondary_status="Training")
            outcome, reason = self._train(python, deadline)
            self._finish(*outcome, reason, upload=outcome[0] != "Failed")
        except _JobError as exc:
            self._finish("Failed", "Failed", str(exc), upload=False)
        except KeyboardInterrupt:
            self._hosts.terminate(signal.SIGKILL)
            self._finish("Stopped", "Stopped", "interrupted by the user", upload=True)
            raise
        except BaseException as exc:
            self._hosts.terminate(signal.SIGKILL)
            self._finish("Failed", "Failed", f"InternalServerError: {type(exc).__name__}: {exc}",
                         upload=False)
            if not isinstance(exc, Exception):
                raise
        finally:
            for handle in (self._log_file, self._series_file):
                if handle is not None:
                    handle.close()
            self._cleanup_inputs()

    def _prepare(self) -> None:
        objects = self.backend.objects
        source = self.job_dir / "sourcedir.tar.gz"
        try:
            objects.download(self.spec.source_uri, source)
        except MlopsKitError as exc:
            raise _JobError(f"ClientError: cannot read the source archive: {exc}") from None
        channel_files = {c.name: self._channel_objects(c.s3_uri) for c in self.spec.channels}
        input_data_config = {c.name: c.data_config() for c in self.spec.channels}
        for index, host in enumerate(self.hosts):
            paths = self.paths[host]
            paths.make([c.name for c in self.spec.channels])
            safe_extract(source, paths.code)
            self._write_json(paths.input_config / "hyperparameters.json", self.encoded)
            self._write_json(paths.input_config / "inputdataconfig.json", input_data_config)
            self._write_json(paths.input_config / "resourceconfig.json",
                             self._resource_config(host))
            for channel in self.spec.channels:
                files = host_share(channel_files[channel.name],
                                   distribution=channel.distribution, index=index,
                                   count=len(self.hosts))
                for uri, relative in files:
                    objects.download(uri, paths.channel(channel.name) / relative)

    def _channel_objects(self, prefix: str) -> list[tuple[str, str]]:
        """(object URI, path inside the channel folder) for every object the prefix names."""
        found = objects_under(self.backend.objects, prefix)
        if not found:
            raise _JobError(f"ClientError: no S3 objects found under S3 URL {prefix!r}")
        return found

    def _resource_config(self, host: str) -> dict[str, Any]:
        return resource_config(host, self.hosts, self.spec.instance_type)

    @staticmethod
    def _write_json(path: Path, value: Any) -> None:
        path.write_text(json.dumps(value, indent=2), encoding="utf-8")

    def _install_requirements(self) -> str:
        """The interpreter the job runs with: the backend's, or a layer over it holding the
        code's ``requirements.txt`` (see :mod:`.environments`)."""
        requirements = self.paths[self.hosts[0]].code / "requirements.txt"
        if not requirements.is_file():
            return self.backend.python
        try:
            return layered_python(self.backend.python, requirements,
                                  self.backend.root / "cache" / "requirements", self._log)
        except RequirementsError as exc:
            raise _JobError(f"AlgorithmError: {exc}") from None

    def _train(self, python: str, deadline: float) -> tuple[tuple[str, str], str | None]:
        user, _ = user_hyperparameters(self.encoded)
        args = to_cmd_args(user)
        input_data_config = {c.name: c.data_config() for c in self.spec.channels}
        for host in self.hosts:
            paths = self.paths[host]
            env = dict(os.environ)
            env.update(self.spec.environment)
            env.update(training_environment(
                paths=paths, encoded_hyperparameters=self.encoded,
                input_data_config=input_data_config,
                resource_config=self._resource_config(host)))
            env["PYTHONPATH"] = python_path(paths.code)
            env["PYTHONUNBUFFERED"] = "1"
            # `python` in a .sh entry point (or a subprocess) is the job's, as in the image.
            env["PATH"] = os.pathsep.join(filter(None, (os.path.dirname(python),
                                                        env.get("PATH"))))
            self._hosts.start(host, self._command(python, args), cwd=paths.code, env=env)
        self._set(host_pids=dumps(self._hosts.identities))

        def timed_out() -> None:
            self._log(f"MaxRuntimeExceeded: stopping after max_run={self.spec.max_run}s")

        outcome = self._hosts.supervise(deadline=deadline, stop_requested=self._stop_requested,
                                        on_timeout=timed_out)
        if outcome.timed_out:
            return ("Stopped", "MaxRuntimeExceeded"), (
                f"MaxRuntimeExceeded: the job ran longer than max_run={self.spec.max_run}s")
        if outcome.stopped:
            return ("Stopped", "Stopped"), None
        if outcome.failed is not None:
            return ("Failed", "Failed"), self._failure_reason(*outcome.failed)
        return ("Completed", "Completed"), None

    def _command(self, python: str, args: list[str]) -> list[str]:
        entry = self.spec.entry_point
        if entry.endswith(".sh"):
            return ["/bin/sh", entry, *args]
        return [python, entry, *args]

    def _failure_reason(self, host: str, code: int) -> str:
        failure = self.paths[host].failure
        if failure.is_file():
            text = failure.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                return text[:FAILURE_REASON_LIMIT]
        log = self.job_dir / "logs" / f"{host}.log"
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:] \
            if log.is_file() else []
        reason = (f"AlgorithmError: ExecuteUserScriptError: ExitCode {code} on {host}; "
                  "last log lines:\n" + "\n".join(tail))
        return reason[:FAILURE_REASON_LIMIT]

    def _finish(self, status: str, secondary: str, reason: str | None, *, upload: bool) -> None:
        model_data = output_data = None
        if upload and self.paths[self.hosts[0]].model.is_dir():
            self._set(secondary_status="Uploading")
            model_data, output_data = self._upload()
        metrics = [{"MetricName": k, "Value": v, "Timestamp": ts}
                   for k, (v, ts) in sorted(self._metrics.items())]
        self._set(status=status, secondary_status=secondary, failure_reason=reason,
                  model_data=model_data, output_data=output_data, metrics=dumps(metrics),
                  ended=self._now(), host_pids="[]", only_active=True)

    def _merged(self, kind: str) -> Path:
        """One folder with every host's model (or output data); algo-1 wins a clash."""
        dirs = [getattr(self.paths[h], kind) for h in self.hosts]
        if len(dirs) == 1:
            return Path(dirs[0])
        merged = self.job_dir / f"merged-{kind}"
        shutil.rmtree(merged, ignore_errors=True)
        for folder in reversed(dirs):
            if Path(folder).is_dir():
                shutil.copytree(folder, merged, dirs_exist_ok=True)
        merged.mkdir(exist_ok=True)
        return merged

    def _upload(self) -> tuple[str, str | None]:
        objects = self.backend.objects
        archive = self.job_dir / "model.tar.gz"
        make_tar_gz(self._merged("model"), archive, skip_caches=False)
        model_uri = self.spec.model_data_uri()
        objects.put_file(archive, model_uri)
        output_dir = self._merged("output_data")
        output_uri: str | None = None
        if any(output_dir.iterdir()):
            output_archive = self.job_dir / "output.tar.gz"
            make_tar_gz(output_dir, output_archive, skip_caches=False)
            output_uri = self.spec.output_data_uri()
            objects.put_file(output_archive, output_uri)
        return model_uri, output_uri

    def _cleanup_inputs(self) -> None:
        """Drop copies the store already holds (input data, archives); logs and config stay."""
        for paths in self.paths.values():
            shutil.rmtree(paths.input_data, ignore_errors=True)
        for name in ("merged-model", "merged-output_data"):
            shutil.rmtree(self.job_dir / name, ignore_errors=True)
        for name in ("sourcedir.tar.gz", "model.tar.gz", "output.tar.gz"):
            (self.job_dir / name).unlink(missing_ok=True)
