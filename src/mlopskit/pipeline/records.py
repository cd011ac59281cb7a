"""What a backend reports about pipeline executions and their steps, on every backend."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["TERMINAL", "ExecutionRecord", "PipelineBackend", "StepRecord"]

TERMINAL = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class StepRecord:
    """One step of an execution, as ListPipelineExecutionSteps reports it."""

    name: str
    type: str
    status: str  # Executing, Succeeded, Failed, Stopped
    failure_reason: str | None
    cache_hit: bool
    cache_source: str | None  # the execution whose run was reused
    attempts: int
    job: str | None
    # Not in the repr: a job step's properties hold its request, environment values too.
    properties: dict[str, Any] = field(repr=False)
    start_time: _dt.datetime | None
    end_time: _dt.datetime | None


@dataclass(frozen=True)
class ExecutionRecord:
    """What DescribePipelineExecution reports."""

    arn: str
    pipeline: str
    display_name: str | None
    status: str  # Executing, Stopping, Stopped, Failed, Succeeded
    failure_reason: str | None
    parameters: dict[str, Any]
    creation_time: _dt.datetime
    end_time: _dt.datetime | None


class PipelineBackend(Protocol):
    """The pipeline verbs both backends implement (the local engine, SageMaker's API)."""

    def upsert_pipeline(self, name: str, definition: str, *, role_arn: str | None,
                        description: str | None = None,
                        tags: dict[str, str] | None = None) -> str: ...

    def describe_pipeline(self, name: str) -> dict[str, Any]: ...

    def check_runnable(self, definition: dict[str, Any]) -> None:
        """Refuse (``CapabilityError``) a checked definition with a step this backend can
        never run, before anything of it runs."""
        ...

    def start_execution(self, name: str, parameters: dict[str, Any], *,
                        display_name: str | None = None, workers: int | None = None
                        ) -> str: ...

    def describe_execution(self, arn: str) -> ExecutionRecord: ...

    def execution_definition(self, arn: str) -> str:
        """The definition JSON the execution runs (DescribePipelineDefinitionForExecution)."""
        ...

    def list_execution_steps(self, arn: str) -> list[StepRecord]: ...

    def list_executions(self, name: str) -> list[str]: ...

    def list_pipelines(self) -> list[str]: ...

    def stop_execution(self, arn: str) -> None: ...

    def join(self, arn: str, timeout: float | None = None) -> None:
        """Return when the execution has ended, or after ``timeout`` seconds."""
        ...
