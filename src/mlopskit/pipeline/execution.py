"""``PipelineExecution``: a handle on one run of a pipeline, read from the backend."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from ..errors import JobFailedError, WaitTimeoutError
from .records import TERMINAL, PipelineBackend

if TYPE_CHECKING:
    from ..session import Session
    from .records import ExecutionRecord, StepRecord

__all__ = ["PipelineExecution", "pipeline_engine"]

_ENGINES: weakref.WeakKeyDictionary[Any, PipelineBackend] = weakref.WeakKeyDictionary()


def pipeline_engine(session: Session) -> PipelineBackend:
    """The pipeline verbs of ``session``'s backend: the local engine, or SageMaker's API
    (``upsert_pipeline``, ``start_execution``, ``describe_execution``,
    ``list_execution_steps``, ``list_executions``, ``stop_execution``, ``join``)."""
    backend = session.backend
    engine = _ENGINES.get(backend)
    if engine is None:
        if session.backend_name == "local":
            from ..backends.local.pipelines import LocalPipelines

            engine = LocalPipelines(backend)  # type: ignore[arg-type]
        else:
            from ..backends.aws.pipelines import AwsPipelines

            engine = AwsPipelines(backend)  # type: ignore[arg-type]
        _ENGINES[backend] = engine
    return engine


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

    def wait(self, timeout: float | None = None) -> PipelineExecution:
        """Block until the execution ends; raise JobFailedError unless it Succeeded."""
        engine = pipeline_engine(self.session)
        engine.join(self.arn, timeout)
        record = engine.describe_execution(self.arn)
        if record.status not in TERMINAL:
            raise WaitTimeoutError(f"pipeline execution {self.arn} still {record.status} "
                                   f"after {timeout} s")
        if record.status != "Succeeded":
            raise JobFailedError(f"pipeline execution {self.arn} {record.status}: "
                                 f"{record.failure_reason or 'stopped on request'}",
                                 job=self, status=record.status)
        return self

    def __repr__(self) -> str:
        return f"PipelineExecution({self.arn!r})"
