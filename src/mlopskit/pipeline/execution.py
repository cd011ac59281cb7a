"""``PipelineExecution``: a handle on one run of a pipeline, read from the backend."""

from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING

from .. import _display
from .._display import WaitProgress
from ..backends.base import Capability
from ..clock import SystemClock
from ..errors import JobFailedError, WaitTimeoutError
from ..sagemaker_api.pipeline.records import TERMINAL

if TYPE_CHECKING:
    from ..backends.base import PipelineBackend
    from ..sagemaker_api.pipeline.checks import DefinitionInfo
    from ..sagemaker_api.pipeline.records import ExecutionRecord, StepRecord
    from ..session import Session

__all__ = ["PipelineExecution", "pipeline_engine"]

def pipeline_engine(session: Session) -> PipelineBackend:
    """The pipeline verbs of ``session``'s backend (``backend.pipelines``): the local engine,
    or SageMaker's API (``upsert_pipeline``, ``start_execution``, ``describe_execution``,
    ``list_execution_steps``, ``list_executions``, ``stop_execution``, ``join``)."""
    return session.backend.pipelines


class PipelineExecution:
    """One execution: its status, its steps (with cache hits and outputs), ``wait``, ``stop``.

    Example:
        >>> import mlopskit, tempfile
        >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> PipelineExecution("arn:aws:sagemaker:us-east-1:0:pipeline/p/execution/x", s).status
        Traceback (most recent call last):
        ...
        mlopskit.errors.NotFoundError: pipeline execution ... does not exist on the local backend
    """

    def __init__(self, arn: str, session: Session) -> None:
        self.arn = arn
        self.session = session
        self._info: DefinitionInfo | None = None  # the DAG it runs, read once when needed
        self._run_id: str | None = None  # its experiment run, when started with one
        self._run_recorded = False

    @property
    def run_id(self) -> str | None:
        """The id of the execution's experiment run (MLflow), or None when it was started
        without ``experiment=``."""
        if self._run_id is None and self.session.tracking_uri is not None:
            from ..tracking.jobs import execution_run_id

            self._run_id = execution_run_id(self.session, self.arn)
        return self._run_id

    def describe(self) -> ExecutionRecord:
        return pipeline_engine(self.session).describe_execution(self.arn)

    @property
    def status(self) -> str:
        """``Executing``, ``Stopping``, ``Stopped``, ``Failed`` or ``Succeeded``."""
        return self.describe().status

    @property
    def failure_reason(self) -> str | None:
        return self.describe().failure_reason

    def steps(self) -> list[StepRecord]:
        """Every step that started, newest first (as ListPipelineExecutionSteps)."""
        return pipeline_engine(self.session).list_execution_steps(self.arn)

    def step(self, name: str) -> StepRecord:
        """One step by name (KeyError when it did not run)."""
        for record in self.steps():
            if record.name == name:
                return record
        raise KeyError(f"step {name!r} did not run in {self.arn}")

    def stop(self) -> None:
        """Stop starting steps and stop the running jobs; the execution ends Stopped."""
        pipeline_engine(self.session).stop_execution(self.arn)

    def wait(self, timeout: float | None = None, *,
             progress: bool | None = None) -> PipelineExecution:
        """Block until the execution ends; raise JobFailedError unless it Succeeded.

        ``progress`` shows a bar of the steps that have ended (default: in notebooks and
        terminals, see docs/notebooks.md).

        At most ``timeout`` seconds, then :class:`~mlopskit.errors.WaitTimeoutError` (the
        execution keeps running). ``None`` (the default) is
        :data:`~mlopskit._waiting.DEFAULT_PIPELINE_TIMEOUT`, three days: a pipeline has no
        runtime limit of its own, its jobs do. ``math.inf`` waits without limit.

        Example:
            >>> import mlopskit, tempfile
            >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
            >>> arn = "arn:aws:sagemaker:us-east-1:0:pipeline/p/execution/x"
            >>> PipelineExecution(arn, s).wait(timeout=-5)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            mlopskit.errors.ValidationError: timeout: a number of seconds, 0 or more ..., got -5
        """
        from .._waiting import DEFAULT_PIPELINE_TIMEOUT, wait_timeout

        limit = wait_timeout(timeout, DEFAULT_PIPELINE_TIMEOUT)
        engine = pipeline_engine(self.session)
        bar = WaitProgress[tuple["ExecutionRecord", list["StepRecord"]]].create(
            f"pipeline {self._label()}", self._progress_state, progress=progress, unit="step")
        # Polled rather than joined: a local execution started by another process has no
        # thread here to join, and the timeout must hold either way.
        self._poll(engine, limit, bar)
        record = engine.describe_execution(self.arn)
        if record.status in TERMINAL:
            self._record_run(record)
        if record.status not in TERMINAL:
            raise WaitTimeoutError(f"pipeline execution {self.arn} is still {record.status} "
                                   f"after waiting {limit:g} s; it was left as it is: wait "
                                   "again, or stop it")
        if record.status != "Succeeded":
            raise JobFailedError(f"pipeline execution {self.arn} {record.status}: "
                                 f"{record.failure_reason or 'stopped on request'}",
                                 job=self, status=record.status)
        return self

    def _record_run(self, record: ExecutionRecord) -> None:
        """Record an ended execution on its experiment run (and its steps), once."""
        if self._run_recorded or self._run_id is None:
            return  # no run started by this handle (an attached one: see run_id)
        from ..tracking.jobs import finish_execution_run

        finish_execution_run(self.session, self._run_id, record, self.steps())
        self._run_recorded = True

    def _poll(self, engine: PipelineBackend, timeout: float,
              bar: WaitProgress[tuple[ExecutionRecord, list[StepRecord]]] | None) -> None:
        """Wait as ``join`` does, reading the steps as it goes to feed the bar (if any)."""
        from .._waiting import poll_until

        if bar is not None:
            with contextlib.suppress(Exception):
                self._definition_info(engine)  # the bar's total; no bar total without it
        # A backend that runs executions in this process (locally, threads) is waited on in
        # real time, ending as soon as the run does.
        local = Capability.IN_PROCESS_WAIT in self.session.backend.capabilities
        arn = self.arn

        class _JoinClock(SystemClock):
            """Real time, but a pause ends as soon as this process's run finishes."""

            def sleep(self, seconds: float) -> None:
                deadline = time.monotonic() + seconds
                engine.join(arn, seconds)  # returns at once when another process runs it
                left = deadline - time.monotonic()
                if left > 0 and engine.describe_execution(arn).status not in TERMINAL:
                    time.sleep(left)

        with contextlib.suppress(WaitTimeoutError):  # wait() reports it, as after join
            poll_until(lambda: (engine.describe_execution(arn),
                                engine.list_execution_steps(arn) if bar is not None else []),
                       lambda found: found[0].status in TERMINAL,
                       clock=_JoinClock() if local else self.session.clock, timeout=timeout,
                       initial=0.2 if local else 5.0, maximum=1.0 if local else 30.0,
                       describe=lambda found: f"pipeline execution {arn} is still "
                                              f"{found[0].status}",
                       progress=bar)

    def _progress_state(self, found: tuple[ExecutionRecord, list[StepRecord]]
                        ) -> tuple[str, int | None, int | None]:
        record, steps = found
        ended = sum(1 for s in steps if s.status in TERMINAL)
        running = sorted(s.name for s in steps if s.status not in TERMINAL)
        total = len(self._info.steps) if self._info is not None else None
        if total is not None and record.status == "Succeeded":
            ended = total  # branches not taken never run
        status = record.status + (f": {', '.join(running)}" if running else "")
        return status, ended if total is not None else None, total

    def _label(self) -> str:
        parts = self.arn.split("/")
        return f"{parts[1]}/{parts[-1]}" if len(parts) >= 4 else self.arn

    def _definition_info(self, engine: PipelineBackend) -> DefinitionInfo:
        """The checked definition the execution runs (read once: it never changes)."""
        if self._info is None:
            from ..sagemaker_api.pipeline.checks import check_definition

            self._info = check_definition(json.loads(engine.execution_definition(self.arn)))
        return self._info

    def __repr__(self) -> str:
        return f"PipelineExecution({self.arn!r})"

    @_display.safe_html("Pipeline execution", lambda self: self._label())
    def _repr_html_(self) -> str:
        """Status, timings, parameters, a step table and the DAG coloured by step status.

        Reads the execution and its steps; the definition (for the DAG) is read once per
        handle and kept. A part that cannot be read becomes a short note.
        """
        engine = pipeline_engine(self.session)
        try:
            record = engine.describe_execution(self.arn)
        except Exception as exc:
            return _display.card("Pipeline execution", self._label(), None,
                                 parts=[_display.unavailable("state", exc)])
        parts: list[str] = []
        try:
            steps: list[StepRecord] | None = engine.list_execution_steps(self.arn)
        except Exception as exc:
            steps = None
            parts.append(_display.unavailable("steps", exc))
        try:
            info: DefinitionInfo | None = self._definition_info(engine)
        except Exception as exc:
            info = None
            parts.append(_display.unavailable("DAG", exc))
        parts[:0] = execution_parts(record, steps or [], info)
        end = record.end_time or self.session.clock.now()
        rows: list[tuple[str, object]] = [
            ("pipeline", record.pipeline),
            ("display name", record.display_name),
            ("failure reason", record.failure_reason),
            ("created", _display.time_text(record.creation_time)),
            ("ended", _display.time_text(record.end_time)),
            ("duration", _display.duration_text(record.creation_time, end)),
            ("arn", record.arn)]
        return _display.card("Pipeline execution", self._label(), record.status, rows=rows,
                             parts=parts)


def dag_picture(info: DefinitionInfo, statuses: dict[str, str] | None = None,
                cached: set[str] | frozenset[str] = frozenset()) -> str:
    """The SVG DAG of a checked definition; ``statuses`` colours an execution's steps."""
    kinds = {name: str(step.get("Type", "")) + (" (cache)" if name in cached else "")
             for name, step in info.steps.items()}
    return _display.dag_svg(list(info.order or info.steps), info.graph, kinds=kinds,
                            statuses=statuses)


def execution_parts(record: ExecutionRecord, steps: list[StepRecord],
                    info: DefinitionInfo | None) -> list[str]:
    """Parameters, the DAG and the step table of an execution display."""
    parts: list[str] = []
    if record.parameters:
        parts.append(_display.table(("parameter", "value"),
                                    [(k, json.dumps(v) if not isinstance(v, str) else v)
                                     for k, v in sorted(record.parameters.items())],
                                    caption="Parameters", limit=30))
    by_name = {s.name: s for s in steps}
    if info is not None:
        parts.append(_display.section("DAG", dag_picture(
            info, {s.name: s.status for s in steps},
            {s.name for s in steps if s.cache_hit})))
    names = list(info.order) if info is not None else []
    names += [s.name for s in reversed(steps) if s.name not in names]
    rows = []
    for name in names:
        step = by_name.get(name)
        if step is None:
            kind = str(info.steps[name].get("Type", "")) if info is not None else ""
            rows.append((name, kind, "not started", "", "", "", ""))
            continue
        rows.append((name, step.type, _display.badge(step.status),
                     _display.time_text(step.start_time),
                     _display.duration_text(step.start_time, step.end_time),
                     "yes" if step.cache_hit else "",
                     step.failure_reason or ""))
    if rows:
        parts.append(_display.table(("step", "type", "status", "started", "duration",
                                     "cache hit", "failure reason"), rows, caption="Steps"))
    return parts
