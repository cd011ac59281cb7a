"""What an engine reports about pipeline executions and their steps, on every backend
(the ``PipelineBackend`` protocol in :mod:`mlopskit.backends.base` returns them)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TERMINAL", "ExecutionRecord", "StepRecord"]

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
    job: str | None  # the name of the job the step ran (a training, processing, ... job)
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
