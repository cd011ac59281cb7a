"""The local pipeline engine: runs a compiled definition (the JSON, never Python objects).

An execution runs in a thread of the calling process, which its row names (pid + start
time): if that process dies, the next ``describe`` ends the execution ``Failed`` with the
reason and settles the jobs its running steps had started; closing the session stops the
executions this process runs. Steps whose inputs are ready run in
a pool of ``workers`` threads (each job step is a subprocess of its own); expressions are
resolved when a step starts; a condition step picks the branch that runs; the first failure
stops new steps from starting. Every state change is a row in the store, so an execution
can be watched from another process, and a step that has ended is never run again.

Caching: a step with ``CacheConfig.Enabled`` is keyed by its type, its resolved arguments
(less its own output locations) and the digest of the code it runs; a Succeeded run of the
same step of the same pipeline within ``ExpireAfter`` is reused (its properties copied, no
job started).

Retries: a failed job counts as ``SageMaker.JOB_INTERNAL_ERROR`` (locally there is no way
to tell an internal error from the script's own failure), a throttled call as
``Step.THROTTLING``, any other backend error as ``Step.SERVICE_FAULT``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from ...errors import (
    BackendError,
    CapabilityError,
    ConflictError,
    MlopsKitError,
    NotFoundError,
    ThrottledError,
)
from ...sagemaker_api.pipeline.checks import DefinitionInfo, check_definition
from ...sagemaker_api.pipeline.records import TERMINAL, ExecutionRecord, StepRecord
from ...sagemaker_api.pipeline.resolve import Scope, evaluate, resolve
from ...sagemaker_api.pipeline.runnable import check_runnable as check_step_runnable
from ._hosts import STOP_GRACE_SECONDS
from ._processes import identity
from ._processes import running as owner_running
from .store import dumps

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["DEFAULT_WORKERS", "LocalPipelines", "duration_seconds"]

DEFAULT_WORKERS = 2  # steps run at a time when start() does not say

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pipelines (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, definition TEXT NOT NULL, role_arn TEXT,
    description TEXT, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pipeline_executions (
    arn TEXT PRIMARY KEY, id TEXT NOT NULL, pipeline TEXT NOT NULL, display_name TEXT,
    definition TEXT NOT NULL, parameters TEXT NOT NULL, status TEXT NOT NULL,
    failure_reason TEXT, created TEXT NOT NULL, ended TEXT, owner_pid INTEGER,
    owner_start INTEGER);
CREATE TABLE IF NOT EXISTS pipeline_steps (
    execution TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, started TEXT, ended TEXT, failure_reason TEXT,
    cache_source TEXT, job TEXT, properties TEXT, PRIMARY KEY (execution, name));
CREATE TABLE IF NOT EXISTS pipeline_cache (
    pipeline TEXT NOT NULL, step TEXT NOT NULL, key TEXT NOT NULL, execution TEXT NOT NULL,
    properties TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pipeline_cache_key ON pipeline_cache (pipeline, step, key);
"""

# Columns added since the tables first shipped; a store made before gains them on open.
_ADDED_COLUMNS = (("pipeline_executions", "owner_pid", "INTEGER"),
                  ("pipeline_executions", "owner_start", "INTEGER"))
_ACTIVE = ("Executing", "Stopping")

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


class _StepFailed(Exception):
    def __init__(self, reason: str, exception_type: str | None = None) -> None:
        super().__init__(reason)
        self.exception_type = exception_type


def _read_json(backend: Any, uri: str, what: str) -> Any:
    """The JSON document at ``uri``; the step fails if it is missing or is not JSON
    (``what`` names it in the reason)."""
    try:
        return json.loads(backend.objects.get_bytes(uri))
    except NotFoundError:
        raise _StepFailed(f"{what} does not exist") from None
    except ValueError as exc:
        raise _StepFailed(f"{what} is not JSON: {exc}") from None


def duration_seconds(text: str) -> float:
    """An ISO-8601 duration (``P30D``, ``PT12H``) in seconds (months 30 days, years 365)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO-8601 duration")
    years, months, weeks, days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return (((years * 365 + months * 30 + weeks * 7 + days) * 24 + hours) * 60
            + minutes) * 60 + seconds


class LocalPipelines:
    """Pipelines and executions in the local store."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.store = backend.store
        with self.store.transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            for table, column, kind in _ADDED_COLUMNS:
                if column not in {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        self._stops: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        backend.on_close(self.close)

    def _now(self) -> str:
        return self.backend.clock.now().isoformat()

    def _arn(self, kind: str, name: str) -> str:
        from .backend import LOCAL_ACCOUNT

        return f"arn:aws:sagemaker:{self.backend.region}:{LOCAL_ACCOUNT}:{kind}/{name.lower()}"

    # -- pipelines ------------------------------------------------------------------------

    def upsert_pipeline(self, name: str, definition: str, *, role_arn: str | None,
                        description: str | None = None,
                        tags: dict[str, str] | None = None) -> str:
        """Store (or replace) the definition. ``tags`` are SageMaker's business: accepted for
        the one signature, not kept locally (nothing here reads a pipeline's tags)."""
        check_definition(json.loads(definition))
        arn = self._arn("pipeline", name)
        now = self._now()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO pipelines (name, arn, definition, role_arn, description, created, "
                "updated) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "definition = excluded.definition, role_arn = excluded.role_arn, "
                "description = excluded.description, updated = excluded.updated",
                (name, arn, definition, role_arn, description, now, now))
        return arn

    def describe_pipeline(self, name: str) -> dict[str, Any]:
        row = self.store.query_one("SELECT * FROM pipelines WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"pipeline {name!r} does not exist on the local backend; "
                                "upsert() it first")
        return {"PipelineName": name, "PipelineArn": row["arn"],
                "PipelineDefinition": row["definition"], "RoleArn": row["role_arn"],
                "CreationTime": row["created"], "LastModifiedTime": row["updated"]}

    def list_pipelines(self) -> list[str]:
        """Every upserted pipeline's name, sorted."""
        return [r["name"] for r in self.store.query_all("SELECT name FROM pipelines ORDER BY "
                                                        "name")]

    # -- executions -----------------------------------------------------------------------

    def check_runnable(self, definition: dict[str, Any]) -> None:
        """Refuse a definition with a step the local engine can never run (an unsupported
        step type, a built-in algorithm, a processing entry point that is not a Python
        script), naming the step: before its upstream steps have done any work."""
        for name, step in check_definition(definition).steps.items():
            kind = str(step.get("Type"))
            if kind not in LOCAL_STEP_TYPES:
                raise CapabilityError(f"step {name!r}: {kind} steps do not run on the local "
                                      f"backend; supported: {', '.join(LOCAL_STEP_TYPES)}")
            arguments = step.get("Arguments")
            if isinstance(arguments, dict):
                check_step_runnable(name, kind, arguments)

    def start_execution(self, name: str, parameters: dict[str, Any], *,
                        display_name: str | None = None, workers: int | None = None
                        ) -> str:
        """Record a new execution of the upserted ``name`` and start running it."""
        definition = self.describe_pipeline(name)["PipelineDefinition"]
        info = check_definition(json.loads(definition))
        self.check_runnable(json.loads(definition))
        execution_id = os.urandom(6).hex()
        arn = f"{self._arn('pipeline', name)}/execution/{execution_id}"
        with self.store.transaction() as db:
            if display_name is not None and db.execute(
                    "SELECT 1 FROM pipeline_executions WHERE pipeline = ? AND display_name = ?",
                    (name, display_name)).fetchone():
                raise ConflictError(f"pipeline {name!r} already has an execution named "
                                    f"{display_name!r}")
            db.execute("INSERT INTO pipeline_executions (arn, id, pipeline, display_name, "
                       "definition, parameters, status, created, owner_pid, owner_start) "
                       "VALUES (?, ?, ?, ?, ?, ?, 'Executing', ?, ?, ?)",
                       (arn, execution_id, name, display_name, definition, dumps(parameters),
                        self._now(), *identity()))
        stop = self._stops[arn] = threading.Event()
        run = _Run(self, arn, execution_id, name, info, parameters, stop,
                   max(1, workers or DEFAULT_WORKERS))
        thread = threading.Thread(target=run.run, name=f"pipeline-{execution_id}", daemon=True)
        self._threads[arn] = thread
        thread.start()
        return arn

    def describe_execution(self, arn: str) -> ExecutionRecord:
        row: Any = self.store.query_one("SELECT * FROM pipeline_executions WHERE arn = ?",
                                        (arn,))
        if row is None:
            raise NotFoundError(f"pipeline execution {arn!r} does not exist on the local "
                                "backend")
        if row["status"] in _ACTIVE and row["owner_pid"] is not None and \
                not owner_running(row["owner_pid"], row["owner_start"]):
            self._settle(arn, int(row["owner_pid"]))
            row = self.store.query_one("SELECT * FROM pipeline_executions WHERE arn = ?",
                                       (arn,))
        return ExecutionRecord(
            arn=arn, pipeline=row["pipeline"], display_name=row["display_name"],
            status=row["status"], failure_reason=row["failure_reason"],
            parameters=json.loads(row["parameters"]),
            creation_time=_dt.datetime.fromisoformat(row["created"]),
            end_time=_dt.datetime.fromisoformat(row["ended"]) if row["ended"] else None)

    def execution_definition(self, arn: str) -> str:
        """The definition as it was when the execution started."""
        row = self.store.query_one("SELECT definition FROM pipeline_executions WHERE arn = ?",
                                   (arn,))
        if row is None:
            raise NotFoundError(f"pipeline execution {arn!r} does not exist on the local "
                                "backend")
        return str(row["definition"])

    def list_execution_steps(self, arn: str) -> list[StepRecord]:
        self.describe_execution(arn)
        rows = self.store.query_all("SELECT * FROM pipeline_steps WHERE execution = ? ORDER BY "
                                    "started DESC, rowid DESC", (arn,))
        return [StepRecord(
            name=r["name"], type=r["type"], status=r["status"],
            failure_reason=r["failure_reason"], cache_hit=r["cache_source"] is not None,
            cache_source=r["cache_source"], attempts=r["attempts"], job=r["job"],
            properties=json.loads(r["properties"] or "{}"),
            start_time=_dt.datetime.fromisoformat(r["started"]) if r["started"] else None,
            end_time=_dt.datetime.fromisoformat(r["ended"]) if r["ended"] else None)
            for r in rows]

    def list_executions(self, name: str) -> list[str]:
        return [r["arn"] for r in self.store.query_all(
            "SELECT arn FROM pipeline_executions WHERE pipeline = ? ORDER BY created DESC, "
            "rowid DESC", (name,))]

    def stop_execution(self, arn: str) -> None:
        record = self.describe_execution(arn)
        if record.status in TERMINAL:
            return
        event = self._stops.get(arn)
        if event is None:
            raise CapabilityError(f"execution {arn!r} runs in another process; stop it there")
        with self.store.transaction() as db:
            db.execute("UPDATE pipeline_executions SET status = 'Stopping' WHERE arn = ? AND "
                       "status = 'Executing'", (arn,))
        event.set()
        for step in self.list_execution_steps(arn):
            if step.status == "Executing" and step.job:
                self._stop_job(step.type, step.job)

    def _stop_job(self, kind: str, job: str) -> None:
        stop = _job_stopper(self.backend, kind)
        if stop is not None:
            with contextlib.suppress(MlopsKitError):  # it may have ended meanwhile
                stop(job)

    def join(self, arn: str, timeout: float | None = None) -> None:
        """Wait for this process's thread running ``arn`` (tests and ``wait()`` use it)."""
        thread = self._threads.get(arn)
        if thread is not None:
            thread.join(timeout)

    def _settle(self, arn: str, pid: int) -> None:
        """End an execution whose process died: it and its running steps ``Failed``, with
        the reason; the jobs those steps started are described, which fails them in turn
        (their process was the same) and stops what they left running."""
        now = self._now()
        why = f"the process running the execution (pid {pid}) exited"
        with self.store.transaction() as db:
            running_steps = db.execute(
                "SELECT name, type, job FROM pipeline_steps WHERE execution = ? AND status = "
                "'Executing'", (arn,)).fetchall()
            names = ", ".join(r["name"] for r in running_steps) or "none"
            settled = db.execute(
                "UPDATE pipeline_executions SET status = 'Failed', failure_reason = ?, ended = ? "
                "WHERE arn = ? AND status IN ('Executing', 'Stopping')",
                (f"InternalServerError: {why} before it finished (running steps: {names})",
                 now, arn)).rowcount
            if settled:
                db.execute("UPDATE pipeline_steps SET status = 'Failed', failure_reason = ?, "
                           "ended = ? WHERE execution = ? AND status = 'Executing'",
                           (f"InternalServerError: {why} while the step ran", now, arn))
        if not settled:
            return
        backend = self.backend
        for step in running_steps:
            if not step["job"]:
                continue
            with contextlib.suppress(MlopsKitError):
                if step["type"] == "Training":
                    backend.describe_training_job(step["job"])
                elif step["type"] == "Processing":
                    backend.describe_processing_job(step["job"])
                elif step["type"] == "Transform":
                    backend.serving.describe_transform_job(step["job"])
                elif step["type"] == "Tuning":
                    backend.tuning.describe(step["job"])

    def close(self) -> None:
        """Stop the executions this process runs, and give them a moment to end (the
        grace a stopped job gets, plus a little)."""
        alive = [(arn, thread) for arn, thread in self._threads.items() if thread.is_alive()]
        for arn, _ in alive:
            with contextlib.suppress(MlopsKitError):
                self.stop_execution(arn)
        deadline = time.monotonic() + STOP_GRACE_SECONDS + 5
        for _, thread in alive:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Run:
    """One execution, scheduled to its end."""

    def __init__(self, engine: LocalPipelines, arn: str, execution_id: str, pipeline: str,
                 info: DefinitionInfo, parameters: dict[str, Any], stop: threading.Event,
                 workers: int) -> None:
        self.engine, self.store = engine, engine.store
        self.arn, self.execution_id, self.pipeline = arn, execution_id, pipeline
        self.info, self.stop, self.workers = info, stop, workers
        self.properties: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, bool] = {}
        clock = engine.backend.clock
        started = clock.now()
        self.scope = Scope(
            parameters=parameters,
            execution={"PipelineExecutionId": execution_id, "PipelineExecutionArn": arn,
                       "PipelineName": pipeline, "PipelineArn": engine._arn("pipeline",
                                                                            pipeline),
                       "StartDateTime": started.isoformat(),
                       "CurrentDateTime": lambda: clock.now().isoformat()},
            properties=self._properties, property_file=self._property_file)

    # -- what expressions read ------------------------------------------------------------

    def _properties(self, step: str) -> dict[str, Any]:
        if step not in self.properties:
            raise _StepFailed(f"step {step!r} has not run in this execution")
        return self.properties[step]

    def _property_file(self, step: str, name: str) -> Any:
        declared = {p.get("PropertyFileName"): p
                    for p in self.info.steps[step].get("PropertyFiles") or ()}
        entry = declared.get(name)
        if entry is None:
            raise _StepFailed(f"step {step!r} declares no property file {name!r}")
        outputs = (self._properties(step).get("ProcessingOutputConfig") or {}).get("Outputs")
        location = next((o["S3Output"]["S3Uri"] for o in outputs or ()
                         if o.get("OutputName") == entry.get("OutputName")), None)
        if location is None:
            raise _StepFailed(f"step {step!r} has no output {entry.get('OutputName')!r}")
        uri = f"{str(location).rstrip('/')}/{entry['FilePath']}"
        return _read_json(self.engine.backend, uri,
                          f"property file {name!r} of step {step!r}: {uri}")

    # -- scheduling -----------------------------------------------------------------------

    def _ready(self, name: str, done: dict[str, str]) -> bool | None:
        """True: can start; False: not yet; None: never (its branch was not chosen)."""
        parent = self.info.parents.get(name)
        if parent is not None and parent in self.outcomes:
            arguments = self.info.steps[parent].get("Arguments") or {}
            branch = "IfSteps" if self.outcomes[parent] else "ElseSteps"
            if name not in [s.get("Name") for s in arguments.get(branch) or ()]:
                return None
        for dependency in self.info.graph[name]:
            state = done.get(dependency)
            if state is None:
                if dependency in self.skipped:
                    return None
                return False
            if state != "Succeeded":
                return None
        return True

    def run(self) -> None:
        """Schedule the steps to the end and record how the execution ended, whatever
        happens: a bug in the engine fails the execution with its reason."""
        try:
            status, failure = self._schedule()
        except Exception as exc:
            status, failure = "Failed", f"InternalServerError: {type(exc).__name__}: {exc}"
        with self.store.transaction() as db:
            db.execute("UPDATE pipeline_executions SET status = ?, failure_reason = ?, "
                       "ended = ? WHERE arn = ? AND status IN ('Executing', 'Stopping')",
                       (status, failure, self.engine._now(), self.arn))

    def _schedule(self) -> tuple[str, str | None]:
        done: dict[str, str] = {}
        self.skipped: set[str] = set()
        failure: str | None = None
        running: dict[Future[str], str] = {}
        with ThreadPoolExecutor(max_workers=self.workers,
                                thread_name_prefix=f"step-{self.execution_id}") as pool:
            while True:
                if failure is None and not self.stop.is_set():
                    for name in self.info.order:
                        if name in done or name in self.skipped or name in running.values():
                            continue
                        ready = self._ready(name, done)
                        if ready is None:
                            self.skipped.add(name)
                        elif ready:
                            running[pool.submit(self._step, name)] = name
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        state = future.result()
                    except Exception as exc:  # a bug in the engine: fail the step, loudly
                        state = "Failed"
                        self._end_step(name, "Failed", f"{type(exc).__name__}: {exc}")
                    done[name] = state
                    if state == "Failed" and failure is None:
                        row = self.store.query_one(
                            "SELECT failure_reason FROM pipeline_steps WHERE execution = ? "
                            "AND name = ?", (self.arn, name))
                        failure = f"Step {name} failed: {row['failure_reason'] if row else ''}"
        status = ("Stopped" if self.stop.is_set() else "Failed" if failure is not None
                  else "Succeeded")
        return status, failure

    # -- one step -------------------------------------------------------------------------

    def _end_step(self, name: str, status: str, reason: str | None = None, *,
                  properties: dict[str, Any] | None = None, cache_source: str | None = None,
                  job: str | None = None) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE pipeline_steps SET status = ?, failure_reason = ?, ended = ?, "
                       "properties = COALESCE(?, properties), cache_source = ?, "
                       "job = COALESCE(?, job) WHERE execution = ? AND name = ?",
                       (status, reason, self.engine._now(),
                        None if properties is None else dumps(properties), cache_source, job,
                        self.arn, name))

    def _step(self, name: str) -> str:
        step = self.info.steps[name]
        kind = str(step.get("Type"))
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM pipeline_steps WHERE execution = ? AND name = ?",
                          (self.arn, name)).fetchone():
                raise ConflictError(f"step {name!r} already ran in {self.arn}")
            db.execute("INSERT INTO pipeline_steps (execution, name, type, status, started) "
                       "VALUES (?, ?, ?, 'Executing', ?)",
                       (self.arn, name, kind, self.engine._now()))
        try:
            if kind == "Condition":  # its branches' arguments resolve when they run
                outcome = all(evaluate(c, self.scope) for c in step["Arguments"]["Conditions"])
                self.outcomes[name] = outcome
                properties = {"Outcome": "True" if outcome else "False"}
                self.properties[name] = properties
                self._end_step(name, "Succeeded", properties=properties)
                return "Succeeded"
            arguments = resolve(step.get("Arguments") or {}, self.scope)
            if kind == "Fail":
                message = arguments.get("ErrorMessage")
                message = "" if message is None else str(message)
                self._end_step(name, "Failed", message or "Fail step reached",
                               properties={"ErrorMessage": message})
                return "Failed"
            key = self._cache_key(kind, arguments, step)
            hit = self._cache_hit(name, key, step)
            if hit is not None:
                source, properties = hit
                self.properties[name] = properties
                self._end_step(name, "Succeeded", properties=properties, cache_source=source)
                return "Succeeded"
            properties = self._with_retries(name, kind, arguments, step)
            self.properties[name] = properties
            self._end_step(name, "Succeeded", properties=properties)
            if key is not None:
                with self.store.transaction() as db:
                    db.execute("INSERT INTO pipeline_cache (pipeline, step, key, execution, "
                               "properties, created) VALUES (?, ?, ?, ?, ?, ?)",
                               (self.pipeline, name, key, self.arn, dumps(properties),
                                self.engine._now()))
            return "Succeeded"
        except (_StepFailed, MlopsKitError) as exc:
            status = "Stopped" if self.stop.is_set() else "Failed"
            self._end_step(name, status, str(exc)[:2048])
            return status

    def _cache_key(self, kind: str, arguments: dict[str, Any],
                   step: dict[str, Any]) -> str | None:
        config = step.get("CacheConfig") or {}
        if not config.get("Enabled"):
            return None
        digests = [self._digest(uri) for uri in _code_locations(kind, arguments)]
        material = json.dumps({"type": kind, "arguments": _cache_material(arguments),
                               "code": digests}, sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    def _digest(self, uri: str) -> str:
        objects = self.engine.backend.objects
        try:
            return objects.sha256(uri)
        except NotFoundError:
            return f"missing:{uri}"

    def _cache_hit(self, name: str, key: str | None,
                   step: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if key is None:
            return None
        expire = (step.get("CacheConfig") or {}).get("ExpireAfter")
        oldest = None
        if expire:
            oldest = (self.engine.backend.clock.now() - _dt.timedelta(
                seconds=duration_seconds(str(expire)))).isoformat()
        row = self.store.query_one(
            "SELECT execution, properties FROM pipeline_cache WHERE pipeline = ? AND step = ? "
            "AND key = ? AND (? IS NULL OR created >= ?) ORDER BY created DESC LIMIT 1",
            (self.pipeline, name, key, oldest, oldest))
        if row is None:
            return None
        return row["execution"], json.loads(row["properties"])

    def _with_retries(self, name: str, kind: str, arguments: dict[str, Any],
                      step: dict[str, Any]) -> dict[str, Any]:
        policies = step.get("RetryPolicies") or []
        clock = self.engine.backend.clock
        started = clock.monotonic()
        retries: dict[int, int] = {}
        while True:
            with self.store.transaction() as db:
                db.execute("UPDATE pipeline_steps SET attempts = attempts + 1 WHERE "
                           "execution = ? AND name = ?", (self.arn, name))
                attempt = db.execute("SELECT attempts FROM pipeline_steps WHERE execution = ? "
                                     "AND name = ?", (self.arn, name)).fetchone()["attempts"]
            job = _job_name(self.execution_id, name, attempt,
                            limit=TUNING_NAME_LIMIT if kind == "Tuning" else 63)
            with self.store.transaction() as db:
                db.execute("UPDATE pipeline_steps SET job = ? WHERE execution = ? AND name = ?",
                           (job, self.arn, name))
            finished = threading.Event()
            watcher = threading.Thread(target=self._stop_when_asked,
                                       args=(kind, job, finished), daemon=True)
            watcher.start()
            try:
                return run_job_step(self.engine.backend, kind, arguments, job)
            except (_StepFailed, ThrottledError, BackendError) as exc:
                exception_type = (exc.exception_type if isinstance(exc, _StepFailed)
                                  else "Step.THROTTLING" if isinstance(exc, ThrottledError)
                                  else "Step.SERVICE_FAULT")
                if self.stop.is_set():
                    raise
                for index, policy in enumerate(policies):
                    if exception_type not in policy.get("ExceptionType", ()):
                        continue
                    used = retries.get(index, 0)
                    limit = policy.get("MaxAttempts")
                    minutes = policy.get("ExpireAfterMin")
                    if limit is not None and used >= int(limit):
                        continue
                    if minutes is not None and clock.monotonic() - started > 60 * float(
                            minutes):
                        continue
                    retries[index] = used + 1
                    clock.sleep(float(policy.get("IntervalSeconds", 1)) * float(
                        policy.get("BackoffRate", 2.0)) ** used)
                    break
                else:
                    raise
            finally:
                finished.set()

    def _stop_when_asked(self, kind: str, job: str, finished: threading.Event) -> None:
        """Stop ``job`` if the execution is stopped while it runs.

        The job row appears a moment after the step starts it, so a stop that comes first
        keeps trying (every 50 ms) until the job exists or the step has ended.
        """
        while not finished.is_set():
            if self.stop.wait(0.1):
                break
        stop = _job_stopper(self.engine.backend, kind)
        while stop is not None and not finished.is_set():
            try:
                stop(job)
                return
            except NotFoundError:
                finished.wait(0.05)
            except MlopsKitError:
                return  # it ended meanwhile


def _job_stopper(backend: LocalBackend, kind: str) -> Callable[[str], None] | None:
    """How to stop the job a step of ``kind`` runs (only training, processing and tuning
    steps run jobs that can be stopped)."""
    family = {"Training": "training", "Processing": "processing",
              "Tuning": "tuning"}.get(kind)
    return None if family is None else functools.partial(backend.stop_job, family)


TUNING_NAME_LIMIT = 32  # a tuning job's name is at most 32 characters


def _job_name(execution_id: str, step: str, attempt: int, limit: int = 63) -> str:
    """``pipelines-<execution>-<step>[-<attempt>]``, a valid SageMaker job name of at most
    ``limit`` characters. Under 63 (tuning jobs) the head is ``p-<execution>-``, and a step
    name cut to fit ends with 4 hex digits of its digest, so two steps stay apart."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", step).strip("-") or "step"
    suffix = f"-{attempt}" if attempt > 1 else ""
    head = f"pipelines-{execution_id}-" if limit >= 63 else f"p-{execution_id}-"
    room = limit - len(head) - len(suffix)
    if limit < 63 and len(cleaned) > room:
        digest = hashlib.sha256(step.encode()).hexdigest()[:4]
        cleaned = f"{cleaned[: room - 5].rstrip('-')}-{digest}"
    return head + cleaned[:room].rstrip("-") + suffix


def _cache_material(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments that decide a step's result: all but where it writes its outputs.

    Output locations usually hold the execution id; two runs that read the same inputs
    with the same code and settings make the same outputs wherever they would write them,
    and a cache hit reuses the first run's (its properties point there).
    """
    material = json.loads(json.dumps(arguments))
    material.pop("OutputDataConfig", None)
    material.pop("TransformOutput", None)
    (material.get("TrainingJobDefinition") or {}).pop("OutputDataConfig", None)
    for output in (material.get("ProcessingOutputConfig") or {}).get("Outputs") or ():
        (output.get("S3Output") or {}).pop("S3Uri", None)
    return dict(material)


def _code_locations(kind: str, arguments: dict[str, Any]) -> list[str]:
    """The S3 URIs of the code a job step runs, so a code change misses the cache."""
    found: list[str] = []
    hyperparameters: Any = {
        "Training": arguments.get("HyperParameters"),
        "Tuning": (arguments.get("TrainingJobDefinition") or {}).get("StaticHyperParameters"),
    }.get(kind)
    source = (hyperparameters or {}).get("sagemaker_submit_directory")
    if isinstance(source, str):
        with contextlib.suppress(ValueError):
            source = json.loads(source)
        found.append(str(source))
    if kind == "Processing":
        for entry in arguments.get("ProcessingInputs") or ():
            if entry.get("InputName") == "code":
                found.append(str((entry.get("S3Input") or {}).get("S3Uri")))
    return [uri for uri in found if uri.startswith("s3://")]


def _completed(found: Any, what: str, job: str) -> Any:
    """``found``, the description of a job that ran to its end, if it completed; otherwise
    the step fails with the job's status and reason."""
    if found.status != "Completed":
        why = f": {found.failure_reason}" if found.failure_reason else ""
        raise _StepFailed(f"{what} job {job} {found.status}{why}",
                          "SageMaker.JOB_INTERNAL_ERROR")
    return found


def _job_properties(kind: str, arguments: dict[str, Any], job: str,
                    found: Any) -> dict[str, Any]:
    """A job step's properties as Describe<kind>Job gives them: its request, plus the
    job's name, ARN and status."""
    return {**arguments, f"{kind}JobName": job, f"{kind}JobArn": found.arn,
            f"{kind}JobStatus": found.status}


def run_job_step(backend: Any, kind: str, arguments: dict[str, Any],
                 job: str) -> dict[str, Any]:
    """Run one job step's resolved request on the local backend; its describe-shaped
    properties. A job that fails raises ``_StepFailed`` (``SageMaker.JOB_INTERNAL_ERROR``)."""
    if kind == "Training":
        from ...sagemaker_api.training import training_spec_from_request

        spec = training_spec_from_request(arguments, name=job)
        backend.check_training_job(spec)
        backend.create_training_job(spec, attached=True)
        found = _completed(backend.describe_training_job(job), "training", job)
        return {**_job_properties(kind, arguments, job, found),
                "ModelArtifacts": {"S3ModelArtifacts": found.model_data},
                "FinalMetricDataList": [{"MetricName": m.name, "Value": m.value,
                                         "Timestamp": m.timestamp.isoformat()}
                                        for m in found.metrics]}
    if kind == "Processing":
        from ...sagemaker_api.processing import processing_spec_from_request

        processing = processing_spec_from_request(arguments, name=job)
        backend.check_processing_job(processing)
        backend.create_processing_job(processing, attached=True)
        ran = _completed(backend.describe_processing_job(job), "processing", job)
        return _job_properties(kind, arguments, job, ran)
    if kind == "Model":
        from ...sagemaker_api.serving import model_spec_from_request

        model = model_spec_from_request(arguments, name=job)
        backend.serving.create_model(model)
        return {**arguments, "ModelName": job,
                "ModelArn": backend.serving._arn("model", job)}
    if kind == "Transform":
        from ...sagemaker_api.transform import transform_spec_from_request

        transform = transform_spec_from_request(arguments, name=job)
        backend.serving.create_transform_job(transform)
        described = backend.serving.describe_transform_job(job)
        if described.status != "Completed":
            raise _StepFailed(f"transform job {job} {described.status}: "
                              f"{described.failure_reason}", "SageMaker.JOB_INTERNAL_ERROR")
        return _job_properties(kind, arguments, job, described)
    if kind == "RegisterModel":
        return _register(backend, arguments, job)
    if kind == "Tuning":
        return _tune(backend, arguments, job)
    raise CapabilityError(f"{kind} steps do not run on the local backend; supported: "
                          f"{', '.join(LOCAL_STEP_TYPES)}")


LOCAL_STEP_TYPES = ("Training", "Processing", "Model", "RegisterModel", "Transform",
                    "Tuning", "Condition", "Fail")


def _tune(backend: Any, arguments: dict[str, Any], job: str) -> dict[str, Any]:
    """Tuning: a local tuning job run in this step's thread; its properties are
    DescribeHyperParameterTuningJob's, plus ListTrainingJobsFor...'s TrainingJobSummaries
    (at most 50, best first, as a pipeline's tuning step keeps them)."""
    from ...sagemaker_api.tuning import tuning_spec_from_request

    spec = tuning_spec_from_request(arguments, name=job)
    backend.tuning.check(spec)
    backend.tuning.create(spec, attached=True)
    found = _completed(backend.tuning.describe(job), "tuning", job)
    return {**arguments, **_tuning_properties(
        found, {t.job: backend.describe_training_job(t.job) for t in found.trials})}


TOP_TRAINING_JOBS = 50  # the trials a tuning step's TrainingJobSummaries holds


def _tuning_properties(found: Any, trainings: dict[str, Any]) -> dict[str, Any]:
    """A tuning job's describe-shaped fields: its name, ARN and status, the best training
    job, the counters, and the trials' summaries ranked best first (trials that ended with
    an objective, completed or stopped early, by value; then the others in the order they
    started)."""
    metric = found.objective_metric
    maximize = found.objective_type != "Minimize"

    def summary(trial: Any) -> dict[str, Any]:
        training = trainings[trial.job]
        entry: dict[str, Any] = {
            "TrainingJobName": trial.job, "TrainingJobArn": training.arn,
            "TuningJobName": found.name, "TrainingJobStatus": trial.status,
            "TunedHyperParameters": dict(trial.params),
            "ObjectiveStatus": "Succeeded" if trial.objective is not None else (
                "Pending" if trial.status == "InProgress" else "Failed")}
        for key, when in (("CreationTime", training.creation_time),
                          ("TrainingStartTime", training.start_time),
                          ("TrainingEndTime", training.end_time)):
            if when is not None:
                entry[key] = when.isoformat()
        if training.failure_reason:
            entry["FailureReason"] = training.failure_reason
        if trial.objective is not None:
            entry["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "MetricName": metric, "Value": trial.objective}
        return entry

    def rank(item: tuple[int, Any]) -> tuple[int, float, int]:
        index, trial = item
        if trial.job == found.best_training_job:
            return (0, 0.0, index)
        if trial.status in ("Completed", "Stopped") and trial.objective is not None:
            return (1, -trial.objective if maximize else trial.objective, index)
        return (2, 0.0, index)

    ranked = [summary(t) for _, t in sorted(enumerate(found.trials), key=rank)]
    statuses = [t.status for t in found.trials]
    objectives = [s["ObjectiveStatus"] for s in ranked]
    properties: dict[str, Any] = {
        "HyperParameterTuningJobName": found.name,
        "HyperParameterTuningJobArn": found.arn,
        "HyperParameterTuningJobStatus": found.status,
        "TrainingJobStatusCounters": {
            "Completed": statuses.count("Completed"),
            "InProgress": statuses.count("InProgress"),
            "RetryableError": 0, "NonRetryableError": statuses.count("Failed"),
            "Stopped": statuses.count("Stopped")},
        "ObjectiveStatusCounters": {key: objectives.count(key)
                                    for key in ("Succeeded", "Pending", "Failed")},
        "TrainingJobSummaries": ranked[:TOP_TRAINING_JOBS],
    }
    if found.best_training_job is not None and ranked:
        properties["BestTrainingJob"] = ranked[0]
    if found.creation_time is not None:
        properties["CreationTime"] = found.creation_time.isoformat()
    if found.end_time is not None:
        properties["HyperParameterTuningEndTime"] = found.end_time.isoformat()
    return properties


def _register(backend: Any, arguments: dict[str, Any], job: str) -> dict[str, Any]:
    """RegisterModel: the version's metrics come from its ModelQuality statistics report."""
    from ...sagemaker_api.model_metrics import read_metrics
    from ...sagemaker_api.registry import model_package_spec_from_request
    from ...specs.registry import HistoryEntry

    registration = model_package_spec_from_request(arguments)
    metrics: dict[str, float] = {}
    if registration.metrics_uri:
        report = _read_json(backend, registration.metrics_uri,
                            f"the metrics report {registration.metrics_uri}")
        metrics = read_metrics(report) if isinstance(report, dict) else {}
    spec = registration.complete(metrics=metrics, lineage={"pipeline_step": job})
    entry = HistoryEntry(status=spec.approval_status.value, previous=None,
                         by=f"pipeline:{job}", at=backend.clock.now().isoformat(),
                         note="registered by a pipeline step")
    record = backend.registry.register(spec, entry)
    return {**arguments, "ModelPackageArn": record.arn,
            "ModelPackageVersion": record.version, "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": record.approval_status.value}
