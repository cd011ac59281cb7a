"""The contract every backend implements.

A backend executes small verbs on specs and names; it owns no policy. Naming, validation,
uploads, waiting and logging policy live in the public objects and the session, so the
local and AWS backends cannot drift apart in behaviour.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..specs.processing import ProcessingJobSpec
from ..specs.registry import (
    ApprovalStatus,
    GroupRecord,
    HistoryEntry,
    ModelPackageSpec,
    PackageRecord,
)
from ..specs.training import TrainingJobSpec

__all__ = [
    "TERMINAL_STATUSES",
    "Backend",
    "Capability",
    "LogSink",
    "MetricValue",
    "ObjectStore",
    "ProcessingJobDescription",
    "RegistryBackend",
    "TrainingJobDescription",
]

LogSink = Callable[[str], None]
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})


class Capability(str, enum.Enum):
    """Things a backend may or may not do; asking for a missing one fails early."""

    TRAINING = "training"
    TRAINING_STOP = "training-stop"
    TRAINING_LOGS = "training-logs"
    PROCESSING = "processing"
    MULTI_HOST = "multi-host"
    REQUIREMENTS = "requirements-txt"
    CONTAINER_IMAGES = "container-images"
    IN_PROCESS_WAIT = "in-process-wait"
    REALTIME_ENDPOINTS = "realtime-endpoints"
    RECORDIO_SPLIT = "recordio-split"


@dataclasses.dataclass(frozen=True)
class MetricValue:
    """One final metric of a job (``FinalMetricDataList`` entry)."""

    name: str
    value: float
    timestamp: _dt.datetime


@dataclasses.dataclass(frozen=True)
class TrainingJobDescription:
    """What a backend reports about a training job, in the same shape on every backend."""

    name: str
    arn: str
    status: str
    secondary_status: str
    failure_reason: str | None
    model_data: str | None
    output_data: str | None
    hyperparameters: dict[str, Any]
    metrics: tuple[MetricValue, ...]
    instance_type: str
    instance_count: int
    creation_time: _dt.datetime
    start_time: _dt.datetime | None
    end_time: _dt.datetime | None
    tags: dict[str, str]
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)
    image_uri: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    max_run: int | None = None  # StoppingCondition.MaxRuntimeInSeconds
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclasses.dataclass(frozen=True)
class ProcessingJobDescription:
    """What a backend reports about a processing job, in the same shape on every backend.

    ``outputs`` maps each output name to its S3 destination (whether or not anything was
    uploaded there); ``inputs`` maps each input name, ``code`` included, to its S3 source.
    ``exit_message`` is what the script left in ``/opt/ml/output/message`` (first 1 KB).
    """

    name: str
    arn: str
    status: str
    failure_reason: str | None
    exit_message: str | None
    outputs: dict[str, str]
    inputs: dict[str, str]
    entrypoint: tuple[str, ...]
    arguments: tuple[str, ...]
    instance_type: str
    instance_count: int
    creation_time: _dt.datetime
    start_time: _dt.datetime | None
    end_time: _dt.datetime | None
    tags: dict[str, str]
    # repr=False: values may be secrets (the CLI and the HTML card show only the names)
    environment: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    image_uri: str | None = None
    max_runtime: int | None = None
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@runtime_checkable
class ObjectStore(Protocol):
    """S3-shaped storage: the local folder store and real S3 both provide this."""

    def put_file(self, path: Path, uri: str) -> None: ...

    def put_bytes(self, data: bytes, uri: str) -> None: ...

    def get_bytes(self, uri: str) -> bytes: ...

    def sha256(self, uri: str) -> str:
        """The hex SHA-256 of the object's content, never reading it whole into memory
        (NotFoundError when there is no such object)."""
        ...

    def download(self, uri: str, path: Path) -> None: ...

    def exists(self, uri: str) -> bool: ...

    def list(self, uri_prefix: str) -> list[str]: ...

    def delete(self, uri: str) -> None: ...


class RegistryBackend(Protocol):
    """The model registry's verbs. Versions are assigned by the backend, from 1, gapless."""

    def get_group(self, name: str) -> GroupRecord: ...

    def create_group(self, name: str, description: str | None,
                     tags: dict[str, str]) -> GroupRecord:
        """Raises ConflictError when the group exists."""
        ...

    def list_groups(self) -> list[GroupRecord]: ...

    def delete_group(self, name: str) -> None: ...

    def register(self, spec: ModelPackageSpec, entry: HistoryEntry) -> PackageRecord: ...

    def get_package(self, group: str, version: int) -> PackageRecord: ...

    def list_packages(self, group: str, status: ApprovalStatus | None = None,
                      newest_first: bool = True) -> Iterator[PackageRecord]: ...

    def latest(self, group: str, status: ApprovalStatus | None) -> PackageRecord | None: ...

    def update_package(self, group: str, version: int, *, expected: ApprovalStatus,
                       status: ApprovalStatus, metadata: dict[str, str],
                       entry: HistoryEntry | None) -> PackageRecord:
        """Write the new state only if the status is still ``expected`` (else ConflictError)."""
        ...


@runtime_checkable
class Backend(Protocol):
    """The verbs a session hands specs to."""

    name: str
    region: str
    capabilities: frozenset[Capability]

    @property
    def objects(self) -> ObjectStore: ...

    def check_training_job(self, spec: TrainingJobSpec) -> None:
        """Raise ValidationError if this backend cannot take ``spec``; runs before uploads."""
        ...

    def create_training_job(
        self, spec: TrainingJobSpec, *, wait: bool = False, on_log: LogSink | None = None
    ) -> None:
        """Start the job. A backend with IN_PROCESS_WAIT may run it to the end when ``wait``."""
        ...

    def describe_training_job(self, name: str) -> TrainingJobDescription: ...

    def stop_training_job(self, name: str) -> None: ...

    def read_training_logs(self, name: str, cursor: Any = None) -> tuple[list[str], Any]:
        """Log lines after ``cursor``; returns them and the cursor to pass next time."""
        ...

    def list_training_jobs(self, *, name_contains: str | None = None) -> Sequence[str]: ...

    def check_processing_job(self, spec: ProcessingJobSpec) -> None:
        """Raise ValidationError or CapabilityError if this backend cannot take ``spec``;
        runs before anything is uploaded."""
        ...

    def create_processing_job(
        self, spec: ProcessingJobSpec, *, wait: bool = False, on_log: LogSink | None = None
    ) -> None:
        """Start the job. A backend with IN_PROCESS_WAIT may run it to the end when ``wait``."""
        ...

    def describe_processing_job(self, name: str) -> ProcessingJobDescription: ...

    def stop_processing_job(self, name: str) -> None: ...

    def read_processing_logs(self, name: str, cursor: Any = None) -> tuple[list[str], Any]:
        """Log lines after ``cursor``; returns them and the cursor to pass next time."""
        ...

    def list_processing_jobs(self, *, name_contains: str | None = None) -> Sequence[str]: ...

    def processing_job_exists(self, name: str) -> bool: ...

    @property
    def registry(self) -> RegistryBackend: ...

    def training_job_exists(self, name: str) -> bool: ...

    def close(self) -> None: ...
