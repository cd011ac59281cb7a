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
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from ..specs.monitoring import MonitoringScheduleSpec
from ..specs.processing import ProcessingJobSpec
from ..specs.registry import (
    ApprovalStatus,
    GroupRecord,
    HistoryEntry,
    ModelPackageSpec,
    PackageRecord,
)
from ..specs.serving import (
    DeployedModelSpec,
    EndpointConfigSpec,
    EndpointDescription,
    InvokeResult,
    TransformJobDescription,
    TransformJobSpec,
)
from ..specs.training import TrainingJobSpec
from ..specs.tuning import TuningJobSpec

if TYPE_CHECKING:
    from ..sagemaker_api.pipeline.records import ExecutionRecord, StepRecord
    from ..sagemaker_api.rollout import RolloutReport, Strategy

__all__ = [
    "TERMINAL_STATUSES",
    "Backend",
    "Capability",
    "JobDescription",
    "JobVerbs",
    "LogSink",
    "ProgressSink",
    "MetricValue",
    "MonitoringBackend",
    "ObjectStore",
    "PipelineBackend",
    "ProcessingJobDescription",
    "RegistryBackend",
    "SchedulerStore",
    "ServingBackend",
    "StoreReport",
    "TrainingJobDescription",
    "TrialSummary",
    "TuningJobDescription",
]

LogSink = Callable[[str], None]
# Work a backend does in the caller's process reports ``(status, done, total)`` through
# this; the public object decides whether and how to show it (a bar, nothing).
ProgressSink = Callable[[str, "int | None", "int | None"], None]
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
    # Serverless cold starts counted by the backend itself (SageMaker reports them in
    # CloudWatch instead).
    COLD_START_STATS = "cold-start-stats"
    # A scheduler that runs monitors in Python: on_violation actions, approval triggers.
    PYTHON_SCHEDULER = "python-scheduler"
    # A state store of mlopskit's own to check and repair (mlopskit doctor).
    STORE_CHECK = "store-check"
    # Stopping a batch transform job (a local one runs in the caller until it ends).
    TRANSFORM_STOP = "transform-stop"
    # Hyperband and the median stopping rule (early_stopping_type="Auto") in tuning jobs.
    TUNING_EARLY_STOPPING = "tuning-early-stopping"
    # A tuning job warm-started from earlier ones.
    TUNING_WARM_START = "tuning-warm-start"
    # Each endpoint variant served at an address of its own that answers plain HTTP
    # (/ping, /invocations) without request signing; without it Endpoint.url() is the
    # service's one address for the whole endpoint (SageMaker routes variants by header).
    VARIANT_URLS = "variant-urls"


@dataclasses.dataclass(frozen=True)
class MetricValue:
    """One final metric of a job (``FinalMetricDataList`` entry)."""

    name: str
    value: float
    timestamp: _dt.datetime


@dataclasses.dataclass(frozen=True)
class JobDescription:
    """What every backend reports about any job, in the same shape everywhere; the kinds
    below add their own fields (``raw`` keeps what a backend has beyond them)."""

    name: str
    arn: str
    status: str
    failure_reason: str | None
    instance_type: str
    instance_count: int
    creation_time: _dt.datetime
    start_time: _dt.datetime | None
    end_time: _dt.datetime | None
    tags: dict[str, str]

    @property
    def is_terminal(self) -> bool:
        """Completed, Failed or Stopped: nothing more will change."""
        return self.status in TERMINAL_STATUSES


@dataclasses.dataclass(frozen=True)
class TrainingJobDescription(JobDescription):
    """A training job: its secondary status, artifacts, hyperparameters and metrics."""

    secondary_status: str
    model_data: str | None
    output_data: str | None
    hyperparameters: dict[str, Any]
    metrics: tuple[MetricValue, ...]
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)
    image_uri: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    max_run: int | None = None  # StoppingCondition.MaxRuntimeInSeconds
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class ProcessingJobDescription(JobDescription):
    """A processing job.

    ``outputs`` maps each output name to its S3 destination (whether or not anything was
    uploaded there); ``inputs`` maps each input name, ``code`` included, to its S3 source.
    ``exit_message`` is what the script left in ``/opt/ml/output/message`` (first 1 KB).
    """

    exit_message: str | None
    outputs: dict[str, str]
    inputs: dict[str, str]
    entrypoint: tuple[str, ...]
    arguments: tuple[str, ...]
    # repr=False: values may be secrets (the CLI and the HTML card show only the names)
    environment: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    image_uri: str | None = None
    max_runtime: int | None = None
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class TrialSummary:
    """One training job a tuning job started (``TrainingJobSummaries`` of
    ListTrainingJobsForHyperParameterTuningJob): its tuned hyperparameters as sent (strings),
    its status and final objective value."""

    job: str
    params: dict[str, str]
    status: str
    objective: float | None
    creation_time: _dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class TuningJobDescription:
    """What a backend reports about a hyperparameter tuning job, the same on every backend."""

    name: str
    arn: str
    status: str  # InProgress, Completed, Failed, Stopping, Stopped
    failure_reason: str | None
    strategy: str
    objective_metric: str
    objective_type: str
    best_training_job: str | None
    best_objective: float | None
    trials: tuple[TrialSummary, ...]
    creation_time: _dt.datetime | None
    start_time: _dt.datetime | None = None
    end_time: _dt.datetime | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    # A warm start job's best training job over its parents' and its own
    # (``OverallBestTrainingJob``); None without warm start.
    overall_best_training_job: str | None = None
    overall_best_objective: float | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


SpecT = TypeVar("SpecT")
DescriptionT = TypeVar("DescriptionT")


def _no_logs(name: str, cursor: Any) -> tuple[list[str], Any]:
    return [], cursor


@dataclasses.dataclass(frozen=True)
class JobVerbs(Generic[SpecT, DescriptionT]):
    """The verbs of one kind of job on one backend: ``backend.training``,
    ``backend.processing`` and ``backend.transforms`` are each one of these.

    Every verb returns after its call; waiting, timeouts, progress and log printing are the
    public job handle's (``mlopskit._jobs``). ``create(spec, attached, on_log,
    on_progress)`` with ``attached`` (only asked of a backend with
    :attr:`Capability.IN_PROCESS_WAIT`) runs the job in the calling process and returns
    when it has ended, handing each log line to ``on_log`` and ``(status, done, total)`` to
    ``on_progress``: that is how a local job reports its progress to the front. ``stop`` is
    ``None`` where the backend cannot stop this kind of job.
    """

    kind: str  # "training", "processing", "transform": used in messages
    check: Callable[[SpecT], None]  # refuse a spec before anything is uploaded
    create: Callable[[SpecT, bool, LogSink | None, ProgressSink | None], None]
    describe: Callable[[str], DescriptionT]  # NotFoundError when there is no such job
    exists: Callable[[str], bool]
    names: Callable[[str | None], Sequence[str]]  # newest first; only those containing it
    read_logs: Callable[[str, Any], tuple[list[str], Any]] = _no_logs
    stop: Callable[[str], None] | None = None
    # Every value of the job's metrics its log reported, in order, with the time of the
    # line (the full series; ``describe`` has the last of each): training jobs only.
    metric_series: Callable[[str], Sequence[MetricValue]] | None = None


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


class ServingBackend(Protocol):
    """Models, endpoint configs, endpoints and batch transform jobs (the
    ``realtime-endpoints`` capability)."""

    def check_model(self, spec: DeployedModelSpec) -> None:
        """Refuse, before its code or artifact is uploaded, a model this backend could not
        create (on AWS: no image can be found for it)."""
        ...

    def create_model(self, spec: DeployedModelSpec) -> None: ...

    def delete_model(self, name: str) -> None: ...

    def create_endpoint_config(self, spec: EndpointConfigSpec) -> None: ...

    def delete_endpoint_config(self, name: str) -> None: ...

    def create_endpoint(self, name: str, config_name: str, *,
                        tags: dict[str, str] | None = None,
                        on_progress: ProgressSink | None = None) -> None:
        """Create the endpoint; return after the call (the caller waits for InService). A
        backend that starts the servers itself reports each through ``on_progress``."""
        ...

    def describe_endpoint(self, name: str) -> EndpointDescription: ...

    def list_endpoints(self) -> list[str]: ...

    def update_endpoint_weights(self, name: str, weights: dict[str, float]) -> None: ...

    def update_endpoint(self, name: str, config_name: str,
                        strategy: Strategy) -> RolloutReport | None:
        """Shift the endpoint onto ``config_name`` by ``strategy``. A backend that runs the
        rollout itself returns its report; one whose service runs it (SageMaker) returns
        None after the call, and the caller waits for the endpoint to settle."""
        ...

    def switch_endpoint_config(self, name: str, config_name: str) -> None:
        """Move onto a config with the same variants; return after the call (the caller
        waits for InService on it)."""
        ...

    def delete_endpoint(self, name: str) -> None: ...

    def invoke_endpoint(self, name: str, body: bytes, content_type: str, accept: str | None,
                        target_variant: str | None = None,
                        inference_id: str | None = None) -> InvokeResult: ...

    def cold_starts(self, name: str) -> dict[str, Any]:
        """Per serverless variant: cold starts so far and the last one's milliseconds (the
        ``cold-start-stats`` capability)."""
        ...



class MonitoringBackend(Protocol):
    """Monitoring schedules. Runs themselves are computed in front, on both backends."""

    def create_schedule(self, spec: MonitoringScheduleSpec) -> None: ...

    def describe_schedule(self, name: str) -> dict[str, Any]:
        """Name, monitor type, status (``Scheduled``/``Stopped``), cadence and the backend's
        own details."""
        ...

    def list_schedules(self) -> list[str]: ...

    def set_schedule_status(self, name: str, status: str) -> None: ...

    def delete_schedule(self, name: str) -> None: ...


class SchedulerStore(Protocol):
    """What a scheduler that runs monitors in Python keeps (the ``python-scheduler``
    capability): the schedules it runs with their monitors' definitions, which windows it
    has claimed, and approval triggers with their events."""

    def schedules(self) -> list[dict[str, Any]]: ...

    def schedule(self, name: str) -> dict[str, Any]: ...

    def claim_due(self, name: str, due: _dt.datetime, next_due: _dt.datetime) -> bool: ...

    def record_run(self, name: str, run_id: str, status: str) -> None: ...

    def create_trigger(self, name: str, definition: dict[str, Any], last_version: int,
                       created: _dt.datetime) -> None: ...

    def triggers(self) -> list[dict[str, Any]]: ...

    def trigger(self, name: str) -> dict[str, Any]: ...

    def claim_version(self, name: str, previous: int, version: int) -> bool: ...

    def add_event(self, name: str, at: _dt.datetime, version: int, outcome: str,
                  detail: dict[str, Any]) -> None: ...

    def events(self, name: str) -> list[dict[str, Any]]: ...

    def delete_trigger(self, name: str) -> None: ...


@dataclasses.dataclass(frozen=True)
class StoreReport:
    """What a store check found (``mlopskit doctor``, the ``store-check`` capability).

    ``integrity``: the database's own complaints; ``settled``: what the describe pass ended
    (a job or execution whose process had died); ``problems``: invariants still broken after
    it; ``leftovers``: temporary files of interrupted uploads (invisible to readers, safe to
    delete once no upload runs). ``ok`` is true when there are neither complaints nor
    problems.
    """

    root: str
    integrity: list[str]
    settled: list[str]
    problems: list[str]
    leftovers: list[str]

    @property
    def ok(self) -> bool:
        return not self.integrity and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok}


@runtime_checkable
class Backend(Protocol):
    """The verbs a session hands specs to.

    Every family is a typed attribute: ``training``, ``processing`` and ``transforms`` (one
    :class:`JobVerbs` each), ``objects``, ``registry``, ``serving``, ``pipelines``,
    ``monitoring`` and ``scheduler``. A family (or part of one) a backend lacks is a
    :class:`Capability` it does not declare; the public objects check it before any work
    starts, and the attribute raises :class:`~mlopskit.errors.CapabilityError` if reached
    anyway.
    """

    name: str
    region: str
    capabilities: frozenset[Capability]

    @property
    def objects(self) -> ObjectStore: ...

    @property
    def training(self) -> JobVerbs[TrainingJobSpec, TrainingJobDescription]: ...

    @property
    def processing(self) -> JobVerbs[ProcessingJobSpec, ProcessingJobDescription]: ...

    @property
    def transforms(self) -> JobVerbs[TransformJobSpec, TransformJobDescription]: ...

    @property
    def tuning(self) -> JobVerbs[TuningJobSpec, TuningJobDescription]: ...

    @property
    def registry(self) -> RegistryBackend: ...

    @property
    def serving(self) -> ServingBackend: ...

    @property
    def pipelines(self) -> PipelineBackend: ...

    @property
    def monitoring(self) -> MonitoringBackend: ...

    @property
    def scheduler(self) -> SchedulerStore: ...

    def check_store(self) -> StoreReport:
        """Check the backend's own state store and settle what dead processes left (the
        ``store-check`` capability: SageMaker keeps its own state)."""
        ...

    def close(self) -> None: ...


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
        """Return when this process's run of ``arn`` has ended, or after ``timeout``
        seconds; at once when no part of it runs in this process. Waiting policy is the
        caller's (``PipelineExecution.wait`` polls ``describe_execution``)."""
        ...
