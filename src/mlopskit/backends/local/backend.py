"""The local backend: SQLite metadata, a folder for S3, subprocess jobs."""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ...clock import Clock
from ...errors import ConflictError, MlopsKitError, NotFoundError
from ...specs.processing import ProcessingJobSpec
from ...specs.serving import TransformJobDescription, TransformJobSpec
from ...specs.training import TrainingJobSpec, decode_hyperparameter
from ...specs.tuning import TuningJobSpec
from ..base import (
    Capability,
    JobVerbs,
    LogSink,
    MetricValue,
    ProcessingJobDescription,
    TrainingJobDescription,
    TuningJobDescription,
)
from ._processes import METRIC_SERIES, identity, parse_recorded, running, stop_group
from .objectstore import LocalObjectStore
from .registry import LocalRegistry
from .store import Store, dumps

if TYPE_CHECKING:
    from ..base import StoreReport
    from .endpoints import LocalEndpoints
    from .monitoring import LocalMonitoringStore
    from .pipelines import LocalPipelines
    from .tuning import LocalTuning

__all__ = ["LOCAL_ACCOUNT", "LocalBackend"]

LOCAL_ACCOUNT = "000000000000"
_ACTIVE = ("InProgress", "Stopping")
SpecT = TypeVar("SpecT")
DescriptionT = TypeVar("DescriptionT")


def _parse_time(value: str | None) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(value) if value else None


class LocalBackend:
    """Runs everything on this machine; state lives under ``root``.

    Layout: ``metadata.db`` (SQLite), ``s3/<bucket>/<key>`` (objects),
    ``jobs/training/<name>/`` and ``jobs/processing/<name>/`` (each job's hosts, config and
    logs), ``cache/`` (installed requirements).
    """

    name = "local"
    capabilities = frozenset(Capability) - {Capability.CONTAINER_IMAGES,
                                            Capability.RECORDIO_SPLIT,
                                            Capability.TRANSFORM_STOP}

    def __init__(self, root: Path, *, region: str, clock: Clock,
                 python: str | None = None, serverless_idle_seconds: float = 300.0,
                 seed: int | None = None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.region = region
        self.clock = clock
        self.python = python or sys.executable
        self.store = Store(root / "metadata.db")
        self._objects = LocalObjectStore(root / "s3")
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._registry = LocalRegistry(self.store, region=region, account=LOCAL_ACCOUNT,
                                       clock=clock)
        self.serverless_idle_seconds = serverless_idle_seconds
        self.seed = seed  # of the random draws: variant routing, data capture sampling
        self._closers: list[Callable[[], None]] = []

    # The families below are made on first use: each creates its tables then.

    @functools.cached_property
    def pipelines(self) -> LocalPipelines:
        """The local pipeline engine."""
        from .pipelines import LocalPipelines

        return LocalPipelines(self)

    @functools.cached_property
    def monitoring(self) -> LocalMonitoringStore:
        """Monitoring schedules, kept for the local scheduler."""
        from .monitoring import LocalMonitoringStore

        return LocalMonitoringStore(self.store, self.clock)

    @functools.cached_property
    def _tuning(self) -> LocalTuning:
        from .tuning import LocalTuning

        return LocalTuning(self)

    @property
    def tuning(self) -> JobVerbs[TuningJobSpec, TuningJobDescription]:
        """Hyperparameter tuning jobs whose trials are local training jobs."""
        return self._tuning.verbs()

    @property
    def scheduler(self) -> LocalMonitoringStore:
        """The local scheduler's store: the same tables as :attr:`monitoring`."""
        return self.monitoring

    @property
    def registry(self) -> LocalRegistry:
        return self._registry

    @functools.cached_property
    def serving(self) -> LocalEndpoints:
        from .endpoints import LocalEndpoints

        return LocalEndpoints(self)

    @property
    def objects(self) -> LocalObjectStore:
        return self._objects

    @property
    def training(self) -> JobVerbs[TrainingJobSpec, TrainingJobDescription]:
        return self._verbs("training", self.check_training_job, self.create_training_job,
                           self.describe_training_job)

    @property
    def processing(self) -> JobVerbs[ProcessingJobSpec, ProcessingJobDescription]:
        return self._verbs("processing", self.check_processing_job,
                           self.create_processing_job, self.describe_processing_job)

    def _verbs(self, kind: str, check: Callable[[SpecT], None],
               create: Callable[..., None], describe: Callable[[str], DescriptionT]
               ) -> JobVerbs[SpecT, DescriptionT]:
        return JobVerbs(
            kind, check,
            lambda spec, attached, on_log, _: create(spec, attached=attached, on_log=on_log),
            describe, functools.partial(self._exists, kind), functools.partial(self._list, kind),
            functools.partial(self._read_logs, kind), functools.partial(self.stop_job, kind),
            self._metric_series if kind == "training" else None)

    def _metric_series(self, name: str) -> list[MetricValue]:
        """What the training job's runner recorded of each metric line (``metrics.jsonl``
        beside its log)."""
        series = Path(self._job_row("training", name)["job_dir"]) / "logs" / METRIC_SERIES
        if not series.is_file():
            return []
        found = []
        for line in series.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                entry = json.loads(line)
                found.append(MetricValue(str(entry["MetricName"]), float(entry["Value"]),
                                         _dt.datetime.fromisoformat(entry["Timestamp"])))
        return found

    @property
    def transforms(self) -> JobVerbs[TransformJobSpec, TransformJobDescription]:
        """Batch transform jobs. A local one always runs attached (in this process, its
        instances as child servers), so it cannot be stopped and has no log of its own."""
        serving = self.serving
        return JobVerbs(
            "transform", serving.check_transform_job,
            lambda spec, attached, on_log, on_progress: serving.create_transform_job(
                spec, on_progress),
            serving.describe_transform_job, serving.transform_job_exists,
            lambda contains: [n for n in reversed(serving.list_transform_jobs())
                              if not contains or contains in n])

    def training_job_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{LOCAL_ACCOUNT}:training-job/{name.lower()}"

    def job_dir(self, name: str) -> Path:
        return self.root / "jobs" / "training" / name

    # -- training ------------------------------------------------------------------------

    def check_training_job(self, spec: TrainingJobSpec) -> None:
        """Everything a valid spec asks for runs locally; images are recorded, not pulled."""

    def create_training_job(self, spec: TrainingJobSpec, *, attached: bool = False,
                            on_log: LogSink | None = None) -> None:
        now = self.clock.now().isoformat()
        self._create("training", spec.name, self.job_dir(spec.name), {
            "arn": self.training_job_arn(spec.name), "secondary_status": "Starting",
            "spec": spec.model_dump_json(),
            "transitions": dumps([{"Status": "Starting", "StartTime": now}])},
            attached=attached, on_log=on_log)

    def _create(self, kind: str, name: str, job_dir: Path, values: dict[str, Any], *,
                attached: bool, on_log: LogSink | None) -> None:
        """Record a new ``kind`` job (InProgress), then run it here to its end when
        ``attached`` (log lines to ``on_log``) or hand it to a detached supervisor."""
        # This process answers for the job until a supervisor takes it over, so a caller
        # killed before that is noticed like a dead supervisor.
        pid, start = identity()
        row = {"name": name, "status": "InProgress", "region": self.region,
               "job_dir": str(job_dir), "created": self.clock.now().isoformat(),
               "supervisor_pid": pid, "supervisor_start": start, **values}
        with self.store.transaction() as db:
            if db.execute(f"SELECT 1 FROM {kind}_jobs WHERE name = ?",  # noqa: S608
                          (name,)).fetchone():
                raise ConflictError(f"{kind} job {name!r} already exists; job names must be "
                                    "unique")
            db.execute(f"INSERT INTO {kind}_jobs ({', '.join(row)}) "  # noqa: S608
                       f"VALUES ({', '.join('?' for _ in row)})", tuple(row.values()))
        job_dir.mkdir(parents=True, exist_ok=True)
        if not attached:
            self._spawn_supervisor(kind, name, job_dir)
        elif kind == "training":
            from .runner import TrainingRunner

            TrainingRunner(self, name, on_log).run()
        else:
            from .processing import ProcessingRunner

            ProcessingRunner(self, name, on_log).run()

    def _spawn_supervisor(self, kind: str, name: str, job_dir: Path) -> None:
        """Run the job in a detached ``_supervise`` process that outlives this one (forked
        by this process's pre-started supervisor server once it is up, else spawned; see
        :mod:`._supervisor_server`)."""
        from ._supervisor_server import start_supervisor

        pid, start, proc = start_supervisor(self.root, name, self.region, self.python, kind,
                                            job_dir / "supervisor.log")
        if proc is not None:
            self._children[name] = proc
        with self.store.transaction() as db:
            # Only while the row still names this process, the job's creator: a supervisor
            # that claimed the job first keeps it (see TrainingRunner._claim).
            db.execute(f"UPDATE {kind}_jobs SET supervisor_pid = ?, supervisor_start = ? "  # noqa: S608
                       "WHERE name = ? AND status IN ('InProgress', 'Stopping') AND "
                       "supervisor_pid = ?", (pid, start, name, os.getpid()))

    def _supervisor_alive(self, row: Any) -> bool:
        pid = row["supervisor_pid"]
        if pid is None:
            return True  # a row an older mlopskit made before recording its creator
        child = self._children.get(row["name"])
        if child is not None and child.pid == pid:
            return child.poll() is None
        return running(pid, row["supervisor_start"])

    def _settle(self, kind: str, name: str) -> Any:
        """The job's row, after failing it if the process running it died meanwhile.

        A job whose supervisor (or ``fit(wait=True)``/``run(wait=True)`` caller) is gone ends
        ``Failed`` with the reason; its hosts' process groups are stopped (only while their
        recorded start times still match: never a process that got a recycled pid), and
        what it left half-done in its folder and its output prefix is removed.
        """
        table = f"{kind}_jobs"
        query = f"SELECT * FROM {table} WHERE name = ?"  # noqa: S608
        row = self.store.query_one(query, (name,))
        if row is None or row["status"] not in _ACTIVE or self._supervisor_alive(row):
            return row
        job_dir = Path(row["job_dir"])
        log = job_dir / "supervisor.log"
        reason = (f"InternalServerError: the process running the job (pid "
                  f"{row['supervisor_pid']}) exited before it finished"
                  + (f"; see {log}" if log.is_file() and log.stat().st_size else ""))
        secondary = ", secondary_status = 'Failed'" if kind == "training" else ""
        with self.store.transaction() as db:
            settled = db.execute(
                f"UPDATE {table} SET status = 'Failed'{secondary}, failure_reason = ?, "  # noqa: S608
                "ended = ?, host_pids = '[]' WHERE name = ? AND status IN ('InProgress', "
                "'Stopping')", (reason, self.clock.now().isoformat(), name)).rowcount
        if settled:  # this call made the change: it does the tidying once
            self._stop_hosts(kind, job_dir, row["host_pids"])
            self._tidy_dead_job(kind, job_dir, row["spec"])
        return self.store.query_one(query, (name,))

    @staticmethod
    def _stop_hosts(kind: str, job_dir: Path, recorded: str) -> None:
        # Every host process (and what it started) has the job's folder in one variable.
        variable = b"SM_MODEL_DIR=" if kind == "training" else b"MLOPSKIT_OPT_ML_ROOT="
        marks = (variable + str(job_dir / "hosts").encode() + b"/",)
        for pid, start in parse_recorded(recorded):
            stop_group(pid, start, environ_entries=marks)

    def _tidy_dead_job(self, kind: str, job_dir: Path, spec_json: str) -> None:
        """Remove what a job killed mid-way leaves: its archives and input copies, and, for
        training, interrupted or stray uploads under its own output prefix (a Failed job
        uploads nothing; nobody else writes under ``<output_path>/<job>/``)."""
        for leftover in ("sourcedir.tar.gz", "model.tar.gz", "output.tar.gz", "merged-model",
                         "merged-output_data"):
            path = job_dir / leftover
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        for host in (job_dir / "hosts").glob("algo-*"):
            shutil.rmtree(host / "input" / "data", ignore_errors=True)
        if kind != "training":
            return
        spec = TrainingJobSpec.model_validate_json(spec_json)
        with contextlib.suppress(MlopsKitError, OSError):
            folder = self._objects.path_for(spec.model_data_uri()).parent
            for path in folder.glob(".upload-*"):
                path.unlink(missing_ok=True)
            for uri in (spec.model_data_uri(), spec.output_data_uri()):
                self._objects.delete(uri)

    def describe_training_job(self, name: str) -> TrainingJobDescription:
        row = self._current_row("training", name)
        spec = TrainingJobSpec.model_validate_json(row["spec"])
        encoded = spec.encoded_hyperparameters(row["region"])
        return TrainingJobDescription(
            **self._common_fields(row, spec),
            secondary_status=row["secondary_status"],
            model_data=row["model_data"],
            output_data=row["output_data"],
            hyperparameters={k: decode_hyperparameter(v) for k, v in encoded.items()
                             if not k.startswith("sagemaker_")},
            metrics=tuple(
                MetricValue(m["MetricName"], float(m["Value"]),
                            _dt.datetime.fromisoformat(m["Timestamp"]))
                for m in json.loads(row["metrics"])),
            inputs={c.name: c.s3_uri for c in spec.channels},
            image_uri=spec.image_uri,
            framework=spec.framework,
            framework_version=spec.framework_version,
            max_run=spec.max_run,
            raw={"SecondaryStatusTransitions": json.loads(row["transitions"]),
                 "JobDir": row["job_dir"], "Spec": json.loads(row["spec"])},
        )

    # -- what training and processing jobs share ------------------------------------------

    def stop_job(self, kind: str, name: str) -> None:
        """Mark an InProgress job Stopping and SIGTERM its hosts, if it has any (its runner
        or, for a tuning job, its loop ends it)."""
        with self.store.transaction() as db:
            row = db.execute(f"SELECT * FROM {kind}_jobs WHERE name = ?",  # noqa: S608
                             (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"{kind} job {name!r} does not exist on the local backend")
            if row["status"] == "Stopping":
                return
            if row["status"] != "InProgress":
                raise ConflictError(f"{kind} job {name!r} is {row['status']}; only an "
                                    "InProgress job can be stopped")
            if kind == "training":  # training jobs keep SecondaryStatusTransitions too
                now = self.clock.now().isoformat()
                transitions = json.loads(row["transitions"])
                if transitions:
                    transitions[-1]["EndTime"] = now
                transitions.append({"Status": "Stopping", "StartTime": now})
                db.execute("UPDATE training_jobs SET secondary_status = 'Stopping', "
                           "transitions = ? WHERE name = ?", (dumps(transitions), name))
            db.execute(f"UPDATE {kind}_jobs SET status = 'Stopping', "  # noqa: S608
                       "stop_requested = 1 WHERE name = ?", (name,))
            hosts = parse_recorded(row["host_pids"]) if "host_pids" in row.keys() else []  # noqa: SIM118 - a Row
        _signal_hosts(hosts, signal.SIGTERM)

    def _read_logs(self, kind: str, name: str, cursor: Any) -> tuple[list[str], Any]:
        row = self._job_row(kind, name)
        return _read_log(Path(row["job_dir"]) / "logs" / f"{kind}.log", cursor)

    def _list(self, kind: str, name_contains: str | None) -> Sequence[str]:
        rows = self.store.query_all(
            f"SELECT name FROM {kind}_jobs ORDER BY created DESC")  # noqa: S608
        return [r["name"] for r in rows if not name_contains or name_contains in r["name"]]

    def _exists(self, kind: str, name: str) -> bool:
        return self.store.query_one(
            f"SELECT 1 FROM {kind}_jobs WHERE name = ?", (name,)) is not None  # noqa: S608

    def _current_row(self, kind: str, name: str) -> Any:
        """The job's row, after settling it if its process died (NotFoundError if none)."""
        row = self._settle(kind, name)
        return self._job_row(kind, name) if row is None else row

    @staticmethod
    def _common_fields(row: Any, spec: TrainingJobSpec | ProcessingJobSpec
                       ) -> dict[str, Any]:
        """The :class:`~mlopskit.backends.base.JobDescription` fields of a job's row."""
        return {"name": row["name"], "arn": row["arn"], "status": row["status"],
                "failure_reason": row["failure_reason"], "instance_type": spec.instance_type,
                "instance_count": spec.instance_count,
                "creation_time": _dt.datetime.fromisoformat(row["created"]),
                "start_time": _parse_time(row["started"]),
                "end_time": _parse_time(row["ended"]), "tags": dict(spec.tags)}

    def _job_row(self, kind: str, name: str) -> Any:
        row = self.store.query_one(f"SELECT * FROM {kind}_jobs WHERE name = ?",  # noqa: S608
                                   (name,))
        if row is None:
            raise NotFoundError(f"{kind} job {name!r} does not exist on the local backend "
                                f"(root {str(self.root)!r})")
        return row

    # -- processing ----------------------------------------------------------------------

    def processing_job_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{LOCAL_ACCOUNT}:processing-job/{name.lower()}"

    def processing_job_dir(self, name: str) -> Path:
        return self.root / "jobs" / "processing" / name

    def check_processing_job(self, spec: ProcessingJobSpec) -> None:
        """The script runs with this machine's Python: the command must be a python one."""
        from ...sagemaker_api.processing import python_options

        python_options(spec.command)

    def create_processing_job(self, spec: ProcessingJobSpec, *, attached: bool = False,
                              on_log: LogSink | None = None) -> None:
        self.check_processing_job(spec)
        self._create("processing", spec.name, self.processing_job_dir(spec.name), {
            "arn": self.processing_job_arn(spec.name), "spec": spec.model_dump_json()},
            attached=attached, on_log=on_log)

    def describe_processing_job(self, name: str) -> ProcessingJobDescription:
        row = self._current_row("processing", name)
        spec = ProcessingJobSpec.model_validate_json(row["spec"])
        inputs = {i.name: i.s3_uri for i in spec.inputs}
        inputs["code"] = spec.code_uri
        return ProcessingJobDescription(
            **self._common_fields(row, spec),
            exit_message=row["exit_message"],
            outputs={o.name: o.s3_uri for o in spec.outputs},
            inputs=inputs,
            entrypoint=tuple(spec.entrypoint),
            arguments=spec.arguments,
            environment=dict(spec.environment),
            image_uri=spec.image_uri,
            max_runtime=spec.max_runtime,
            raw={"JobDir": row["job_dir"], "Spec": json.loads(row["spec"])},
        )

    def check_store(self) -> StoreReport:
        """Check this root: SQLite's integrity check, then a describe pass that settles what
        dead processes left running, then mlopskit's invariants (``mlopskit doctor``).

        Example:
            >>> import tempfile
            >>> from ...clock import SystemClock
            >>> backend = LocalBackend(Path(tempfile.mkdtemp()), region="us-east-1",
            ...                        clock=SystemClock())
            >>> backend.check_store().ok
            True
        """
        from ._doctor import check_store

        return check_store(self)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the backend closes (the pipeline engine stops the
        executions this process runs)."""
        self._closers.append(callback)

    def close(self) -> None:
        """Stop what this process runs for the session: its pipeline executions and its
        endpoints (a transform stops its servers as it ends). Detached supervisors
        (``wait=False``) outlive it, as documented; they are recorded, so a later
        ``describe`` notices if they die."""
        for callback in reversed(self._closers):
            with contextlib.suppress(Exception):  # one failure must not keep the rest up
                callback()
        self._closers.clear()
        if "serving" in self.__dict__:  # made (cached_property keeps it there)
            self.serving.close()
        for proc in self._children.values():
            proc.poll()  # reap finished supervisors; running ones outlive the session
        self.store.close()


def _signal_hosts(hosts: list[tuple[int, int | None]], sig: signal.Signals) -> None:
    """Signal each recorded host's process group while the host is still the one recorded
    (rows without a start time, from older stores, as before)."""
    for pid, start in hosts:
        if start is not None and not running(pid, start):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def _read_log(log: Path, cursor: Any) -> tuple[list[str], int]:
    """Whole lines of ``log`` after byte offset ``cursor``, and the offset after them."""
    offset = int(cursor or 0)
    if not log.is_file():
        return [], offset
    with open(log, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    lines = data[: end + 1].decode("utf-8", "replace").splitlines()
    return lines, offset + end + 1
