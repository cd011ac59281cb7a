"""Training jobs: :class:`Estimator`, :class:`TrainingInput` and :class:`TrainingJob`.

Example:
    >>> import mlopskit, pathlib, tempfile
    >>> work = pathlib.Path(tempfile.mkdtemp())
    >>> script = "import os; open(os.environ['SM_MODEL_DIR'] + '/m', 'w')"
    >>> _ = (work / "train.py").write_text(script)
    >>> estimator = mlopskit.Estimator(entry_point=str(work / "train.py"), instance_type="local",
    ...                                session=mlopskit.LocalSession(root=work / "store"))
    >>> estimator.fit(logs=False).status
    'Completed'
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from . import _display
from ._archive import make_tar_gz
from ._data import local_path as _local_path
from ._data import upload_path as _upload_path
from ._display import WaitProgress
from ._waiting import JOB_WAIT_MARGIN, job_wait_timeout, poll_until, wait_timeout
from .backends.base import Capability, TrainingJobDescription
from .clock import SystemClock
from .errors import ConflictError, JobFailedError, ValidationError
from .session import Session, resolve_session
from .specs._common import (
    S3Uri,
    Spec,
    build,
    check_name,
    check_s3_uri,
    is_variable,
    refuse_variables,
    with_tokens,
)
from .specs.training import DEFAULT_MAX_RUN, MetricDefinition, TrainingJobSpec

if TYPE_CHECKING:
    from .models import Model

__all__ = ["Estimator", "TrainingInput", "TrainingJob"]

_ENTRY_SUFFIXES = (".py", ".sh")


class _TrainingInputModel(Spec):
    s3_data: str = Field(min_length=1)
    content_type: str | None = Field(default=None, max_length=256)
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"
    input_mode: Literal["File", "FastFile"] = "File"
    s3_data_type: Literal["S3Prefix"] = "S3Prefix"


class TrainingInput:
    """One channel's data: an S3 URI (or a local path, uploaded for you) and how to read it.

    ``distribution`` is ``"FullyReplicated"`` (every host gets everything) or
    ``"ShardedByS3Key"`` (objects split across hosts).

    Example:
        >>> TrainingInput("s3://my-bucket/train/", distribution="ShardedByS3Key")
        TrainingInput('s3://my-bucket/train/', content_type=None, distribution='ShardedByS3Key')
    """

    def __init__(self, s3_data: str | Path, content_type: str | None = None,
                 distribution: str = "FullyReplicated", input_mode: str = "File",
                 s3_data_type: str = "S3Prefix") -> None:
        self._model = build(_TrainingInputModel, "",
                            s3_data=s3_data if is_variable(s3_data) else str(s3_data),
                            content_type=content_type, distribution=distribution,
                            input_mode=input_mode, s3_data_type=s3_data_type)
        if self._model.s3_data.startswith("s3://"):
            try:
                check_s3_uri(self._model.s3_data)
            except ValueError as exc:
                raise ValidationError(f"s3_data: {exc}", field="s3_data") from None
        elif not _local_path(self._model.s3_data).exists():
            raise ValidationError(
                f"s3_data: {self._model.s3_data!r} is neither an s3:// URI nor an existing "
                "local file or folder", field="s3_data")

    @property
    def s3_data(self) -> str:
        return self._model.s3_data

    @property
    def is_local(self) -> bool:
        """True when the data is a local path that ``fit`` uploads first."""
        return not self._model.s3_data.startswith("s3://")

    def channel(self, name: str, uri: str) -> dict[str, Any]:
        options = self._model.model_dump(exclude={"s3_data"})
        return {"name": name, "s3_uri": uri, **options}

    def __repr__(self) -> str:
        return (f"TrainingInput({self.s3_data!r}, content_type={self._model.content_type!r}, "
                f"distribution={self._model.distribution!r})")


class _EstimatorModel(Spec):
    """What can be checked before a job name exists."""

    instance_type: str
    instance_count: int
    hyperparameters: dict[str, Any]
    environment: dict[str, str]
    metric_definitions: tuple[MetricDefinition, ...]
    output_path: S3Uri | None
    max_run: int | None
    tags: dict[str, str]


def _metric(definition: Any) -> dict[str, Any]:
    if isinstance(definition, Mapping):
        lowered = {str(k).lower(): v for k, v in definition.items()}
        return lowered
    raise ValidationError(f"metric_definitions: each entry must be a mapping with Name and "
                          f"Regex, got {definition!r}", field="metric_definitions")


class Estimator:
    """Runs a training script as a SageMaker training job, locally or on AWS.

    ``entry_point`` is the script (relative to ``source_dir`` when that is given, otherwise a
    path to the file itself). The script sees exactly what a SageMaker framework container
    gives it: ``SM_*`` variables, ``--key value`` arguments, ``/opt/ml``-shaped folders.

    Example:
        >>> est = Estimator(entry_point="train.py", source_dir=".", instance_type="ml.m5.large",
        ...                 hyperparameters={"n-estimators": 50}, validate_paths=False)
        >>> est.hyperparameters
        {'n-estimators': 50}
    """

    def __init__(
        self,
        entry_point: str | Path,
        source_dir: str | Path | None = None,
        image_uri: str | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        *,
        instance_type: str,
        instance_count: int = 1,
        hyperparameters: Mapping[str, Any] | None = None,
        environment: Mapping[str, str] | None = None,
        metric_definitions: Sequence[Mapping[str, str]] | None = None,
        output_path: str | None = None,
        max_run: int | None = None,
        tags: Mapping[str, str] | None = None,
        base_job_name: str | None = None,
        session: Session | None = None,
        validate_paths: bool = True,
    ) -> None:
        if entry_point is None or str(entry_point) == "":
            raise ValidationError("entry_point: required (the training script)",
                                  field="entry_point")
        self.entry_point = str(entry_point)
        self.source_dir = str(source_dir) if source_dir is not None else None
        self.image_uri = image_uri
        self.framework = framework
        self.framework_version = framework_version
        if base_job_name is not None:
            try:
                check_name(base_job_name, kind="base_job_name")
            except ValueError as exc:
                raise ValidationError(f"base_job_name: {exc}", field="base_job_name") from None
            if len(base_job_name) > 63 - len("-2026-01-01-00-00-00-000"):
                raise ValidationError(
                    f"base_job_name: {base_job_name!r} leaves no room for the timestamp; at "
                    "most 39 characters", field="base_job_name")
        self.base_job_name = base_job_name
        self.session = session
        # A pipeline variable as the count: checked as 1 now, a value when the pipeline runs.
        self.instance_count_variable = instance_count if is_variable(instance_count) else None
        self._checked = build(
            _EstimatorModel, "",
            instance_type=instance_type,
            instance_count=1 if self.instance_count_variable is not None else instance_count,
            hyperparameters=dict(hyperparameters or {}), environment=dict(environment or {}),
            metric_definitions=tuple(_metric(m) for m in metric_definitions or ()),
            output_path=output_path, max_run=max_run, tags=dict(tags or {}),
        )
        self.latest_job: TrainingJob | None = None
        if validate_paths:
            self._code_layout()
        # Run the full spec checks now, with a stand-in name, so mistakes surface here.
        self._spec("validation-probe", "s3://probe-bucket/p/sourcedir.tar.gz", (), "s3://probe-bucket/")

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self._checked.hyperparameters)

    def create_model(self, **kwargs: Any) -> Model:
        """A model from the latest job this estimator ran (see TrainingJob.create_model)."""
        if self.latest_job is None:
            raise ConflictError("this estimator has not run a job yet; call fit() first")
        return self.latest_job.create_model(**kwargs)

    def _code_layout(self) -> tuple[Path, str]:
        """(folder to pack, entry point relative to it); checks both exist."""
        entry = Path(self.entry_point)
        if self.source_dir is not None:
            folder = Path(self.source_dir)
            if not folder.is_dir():
                raise ValidationError(f"source_dir: {self.source_dir!r} is not a folder",
                                      field="source_dir")
            target = folder / entry
            relative = entry.as_posix()
        else:
            target, folder, relative = entry, entry.parent, entry.name
        if not target.is_file():
            raise ValidationError(f"entry_point: {str(target)!r} does not exist or is not a file",
                                  field="entry_point")
        if not relative.endswith(_ENTRY_SUFFIXES):
            raise ValidationError(f"entry_point: {relative!r} must be a .py or .sh script",
                                  field="entry_point")
        if self.source_dir is not None and not target.resolve().is_relative_to(
                folder.resolve()):
            raise ValidationError(f"entry_point: {relative!r} is outside source_dir",
                                  field="entry_point")
        return folder, relative

    def _spec(self, name: str, source_uri: str, channels: Sequence[dict[str, Any]],
              default_output: str) -> TrainingJobSpec:
        checked = self._checked
        entry = (Path(self.entry_point).as_posix() if self.source_dir is not None
                 else Path(self.entry_point).name)
        values: dict[str, Any] = {
            "name": name, "entry_point": entry, "source_uri": source_uri,
            "image_uri": self.image_uri, "framework": self.framework,
            "framework_version": self.framework_version,
            "instance_type": checked.instance_type, "instance_count": checked.instance_count,
            "hyperparameters": checked.hyperparameters, "environment": checked.environment,
            "metric_definitions": checked.metric_definitions,
            "output_path": checked.output_path or default_output,
            "tags": checked.tags, "channels": tuple(channels),
        }
        if checked.max_run is not None:
            values["max_run"] = checked.max_run
        return build(TrainingJobSpec, "", **values)

    def _job_name(self, session: Session) -> str:
        """``<base>-YYYY-MM-DD-HH-MM-SS-mmm`` as the SageMaker SDK names jobs, unique here.

        A clock that has not moved (a FakeClock, or two fits in one millisecond) would repeat
        a name, so the stamp steps forward a millisecond until the name is free.
        """
        base = self.base_job_name or re.sub(r"[^a-zA-Z0-9-]+", "-",
                                            Path(self.entry_point).stem).strip("-") or "job"
        moment = session.clock.now()
        for _ in range(1000):
            stamp = moment.strftime("%Y-%m-%d-%H-%M-%S-%f")[:-3]
            name = f"{base[: 63 - len(stamp) - 1].rstrip('-')}-{stamp}"
            if not session.backend.training_job_exists(name):
                return name
            moment += _dt.timedelta(milliseconds=1)
        return name  # the create call will report the conflict

    def _channels(self, inputs: Any) -> list[tuple[str, TrainingInput]]:
        if inputs is None:
            return []
        if isinstance(inputs, (str, Path, TrainingInput)):
            inputs = {"training": inputs}
        if not isinstance(inputs, Mapping):
            raise ValidationError(f"inputs: expected a mapping of channel name to data, got "
                                  f"{type(inputs).__name__}", field="inputs")
        if not inputs:
            raise ValidationError("inputs: empty; pass None for a job without channels, or "
                                  "at least one channel", field="inputs")
        channels: list[tuple[str, TrainingInput]] = []
        for name, value in inputs.items():
            if isinstance(value, TrainingInput):
                channels.append((str(name), value))
            elif isinstance(value, (str, Path)) or is_variable(value):
                channels.append((str(name), TrainingInput(value)))
            elif isinstance(value, Mapping):
                try:
                    channels.append((str(name), TrainingInput(**value)))
                except TypeError as exc:
                    allowed = "s3_data, content_type, distribution, input_mode, s3_data_type"
                    raise ValidationError(f"inputs.{name}: {exc}; allowed options: {allowed}",
                                          field=f"inputs.{name}") from None
                except ValidationError as exc:
                    raise ValidationError(f"inputs.{name}.{exc}", field=f"inputs.{name}") \
                        from None
            else:
                raise ValidationError(f"inputs.{name}: expected an S3 URI, a local path or a "
                                      f"TrainingInput, got {type(value).__name__}",
                                      field=f"inputs.{name}")
        return channels

    def fit(self, inputs: Any = None, wait: bool = True, logs: bool = True,
            job_name: str | None = None) -> TrainingJob:
        """Start a training job; with ``wait`` (default) block until it ends.

        ``inputs`` maps channel names to S3 URIs, local paths (uploaded first) or
        :class:`TrainingInput`; a single value becomes the ``training`` channel. Raises
        :class:`~mlopskit.errors.JobFailedError` when a waited-on job fails; bad input
        raises :class:`~mlopskit.errors.ValidationError` and creates nothing.
        """
        session = resolve_session(self.session)
        backend = session.backend
        folder, _ = self._code_layout()
        channels = self._channels(inputs)
        bucket = session.default_bucket
        if job_name is not None:
            try:
                check_name(job_name, kind="job_name")
            except ValueError as exc:
                raise ValidationError(f"job_name: {exc}", field="job_name") from None
        name = job_name if job_name is not None else self._job_name(session)
        prefix = f"s3://{bucket}/{name}"
        channel_specs = [
            ti.channel(ch, f"{prefix}/input/{ch}/" if ti.is_local else ti.s3_data)
            for ch, ti in channels
        ]
        spec = self._spec(name, f"{prefix}/source/sourcedir.tar.gz", channel_specs,
                          f"s3://{bucket}/")
        if self.instance_count_variable is not None:
            refuse_variables({"instance_count": with_tokens(self.instance_count_variable)},
                             "estimator")
        refuse_variables(spec, "estimator")
        if spec.instance_count > 1:
            session.require(Capability.MULTI_HOST, "instance_count > 1")
        backend.check_training_job(spec)
        # A generated name was checked free already; a given one is checked here, before
        # any upload could overwrite the existing job's source.
        if job_name is not None and backend.training_job_exists(name):
            raise ConflictError(f"training job {name!r} already exists; job names are unique")
        uploaded: list[str] = []
        try:
            with tempfile.TemporaryDirectory(prefix="mlopskit-src-") as tmp:
                archive = Path(tmp) / "sourcedir.tar.gz"
                make_tar_gz(folder if self.source_dir is not None else Path(self.entry_point),
                            archive)
                backend.objects.put_file(archive, spec.source_uri)
                uploaded.append(spec.source_uri)
            for (_, data), channel_spec in zip(channels, channel_specs, strict=True):
                if data.is_local:
                    uploaded.extend(_upload_path(backend.objects, _local_path(data.s3_data),
                                                 channel_spec["s3_uri"]))
            in_process = wait and Capability.IN_PROCESS_WAIT in backend.capabilities
            backend.create_training_job(spec, wait=in_process,
                                        on_log=_print_line if logs else None)
        except BaseException:
            if not backend.training_job_exists(name):
                for uri in uploaded:
                    backend.objects.delete(uri)
            raise
        job = TrainingJob(name, session=session)
        self.latest_job = job
        if wait:
            job.wait(logs=logs and not in_process)
        return job


def _print_line(line: str) -> None:
    # The user asked for logs (logs=True): writing them to stdout is the point.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class TrainingJob:
    """A handle on one training job; state is read from the backend on demand.

    Example:
        >>> import tempfile, mlopskit
        >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> TrainingJob.attach("no-such-job", session=s)
        Traceback (most recent call last):
        ...
        mlopskit.errors.NotFoundError: training job 'no-such-job' does not exist ...
    """

    def __init__(self, name: str, session: Session | None = None) -> None:
        self.name = name
        self.session = resolve_session(session)
        self._description: TrainingJobDescription | None = None

    @classmethod
    def attach(cls, name: str, session: Session | None = None) -> TrainingJob:
        """Find an existing job by name (it may have been started by another process)."""
        job = cls(name, session=session)
        job.describe()
        return job

    def describe(self) -> TrainingJobDescription:
        """Fresh state from the backend."""
        self._description = self.session.backend.describe_training_job(self.name)
        return self._description

    def _current(self) -> TrainingJobDescription:
        if self._description is None or not self._description.is_terminal:
            return self.describe()
        return self._description

    @property
    def arn(self) -> str:
        return self._current().arn

    @property
    def status(self) -> str:
        """``InProgress``, ``Completed``, ``Failed``, ``Stopping`` or ``Stopped``."""
        return self._current().status

    @property
    def secondary_status(self) -> str:
        return self._current().secondary_status

    @property
    def model_data(self) -> str | None:
        """S3 URI of ``model.tar.gz`` (None until the job has uploaded it)."""
        return self._current().model_data

    @property
    def output_data(self) -> str | None:
        return self._current().output_data

    @property
    def failure_reason(self) -> str | None:
        return self._current().failure_reason

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The user's hyperparameters, decoded (no ``sagemaker_*`` keys)."""
        return dict(self._current().hyperparameters)

    @property
    def metrics(self) -> dict[str, float]:
        """Final value of each metric definition that matched the log."""
        return {m.name: m.value for m in self._current().metrics}

    def wait(self, timeout: float | None = None, *, logs: bool = False,
             raise_on_failure: bool = True, progress: bool | None = None) -> TrainingJob:
        """Block until the job ends; stream its log when ``logs``.

        Raises :class:`~mlopskit.errors.WaitTimeoutError` after ``timeout`` seconds (on the
        session clock) and :class:`~mlopskit.errors.JobFailedError` when the job ends
        ``Failed`` or ``Stopped`` (unless ``raise_on_failure=False``). ``progress`` shows a
        status bar while waiting (default: in notebooks and terminals, see docs/notebooks.md).

        ``timeout=None`` (the default) is the job's ``max_run`` plus
        :data:`~mlopskit._waiting.JOB_WAIT_MARGIN` (one hour, for instances starting and
        outputs uploading): 25 hours for a job with the default ``max_run`` of 24 hours.
        ``math.inf`` waits without limit.

        Example:
            >>> import mlopskit, tempfile
            >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
            >>> TrainingJob("no-such-job", session=s).wait(timeout=-5)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            mlopskit.errors.ValidationError: timeout: a number of seconds, 0 or more ..., got -5
        """
        if timeout is not None:
            wait_timeout(timeout, JOB_WAIT_MARGIN)  # a bad timeout is refused before any call
        backend = self.session.backend
        cursor: list[Any] = [None]
        # The first describe gives the job's max_run, which sets the default timeout; it
        # is also the first poll.
        first = [self.describe()]
        limit = wait_timeout(timeout, job_wait_timeout(first[0].max_run, DEFAULT_MAX_RUN))

        def fetch() -> TrainingJobDescription:
            return first.pop() if first else self.describe()

        def stream(_: TrainingJobDescription) -> None:
            if logs:
                lines, cursor[0] = backend.read_training_logs(self.name, cursor[0])
                for line in lines:
                    _print_line(line)

        # Local jobs are real processes running in real time, so their waits use the real
        # clock; remote jobs are polled on the session clock (a FakeClock in tests).
        fast = Capability.IN_PROCESS_WAIT in backend.capabilities
        clock = SystemClock() if fast else self.session.clock
        description = poll_until(
            fetch, lambda d: d.is_terminal, clock=clock, timeout=limit,
            initial=0.05 if fast else 2.0, maximum=1.0 if fast else 30.0,
            describe=lambda d: f"training job {self.name!r} is still {d.status} "
                               f"({d.secondary_status})",
            on_poll=stream,
            progress=None if logs and not progress else WaitProgress.create(
                f"training {self.name}", lambda d: (
                    f"{d.status} ({d.secondary_status})" if d.secondary_status else d.status,
                    None, None), progress=progress))
        if raise_on_failure and description.status != "Completed":
            reason = description.failure_reason or description.secondary_status
            raise JobFailedError(f"training job {self.name!r} ended {description.status}: "
                                 f"{reason}", job=self, status=description.status)
        return self

    def create_model(self, image_uri: str | None = None, entry_point: str | None = None,
                     source_dir: str | Path | None = None,
                     environment: Mapping[str, str] | None = None,
                     framework: str | None = None, framework_version: str | None = None
                     ) -> Model:
        """A :class:`~mlopskit.Model` of this job's artifact. The job must have produced
        ``model.tar.gz``.

        The framework defaults to the job's own; a framework job's model is served by the
        framework's *inference* image (looked up when it is deployed or registered, for the
        instance type it runs on), not the training image the job ran in. A job with only
        an ``image_uri`` (your own container) serves with that image. ``image_uri=`` wins
        over both.
        """
        from .models import Model

        described = self._current()
        if described.model_data is None:
            raise ConflictError(f"training job {self.name!r} is {described.status} and has no "
                                "model artifact to build a model from")
        framework = framework or described.framework
        image = image_uri or (None if framework else described.image_uri)
        return Model(described.model_data, image_uri=image,
                     framework=framework,
                     framework_version=framework_version or described.framework_version,
                     entry_point=entry_point, source_dir=source_dir, environment=environment,
                     session=self.session)

    def logs(self) -> str:
        """The whole log so far, as one string."""
        lines, _ = self.session.backend.read_training_logs(self.name, None)
        return "\n".join(lines)

    def stop(self) -> None:
        """Ask the backend to stop the job (SIGTERM, then SIGKILL after a grace period)."""
        self.session.backend.stop_training_job(self.name)
        self._description = None

    @classmethod
    def list(cls, session: Session | None = None, *, name_contains: str | None = None
             ) -> list[TrainingJob]:
        """Every training job on the session's backend, newest first."""
        resolved = resolve_session(session)
        names: Iterable[str] = resolved.backend.list_training_jobs(name_contains=name_contains)
        return [cls(name, session=resolved) for name in names]

    def __repr__(self) -> str:
        status = self._description.status if self._description else "?"
        return f"TrainingJob(name={self.name!r}, status={status!r})"

    @_display.safe_html("Training job", lambda self: self.name)
    def _repr_html_(self) -> str:
        """Status, timings, metrics, hyperparameters and artifacts (one describe at most;
        nothing from the job's environment is shown)."""
        try:
            d = self._current()
        except Exception as exc:
            return _display.card("Training job", self.name, None,
                                 parts=[_display.unavailable("state", exc)])
        end = d.end_time or (None if d.start_time is None
                             else _dt.datetime.now(d.start_time.tzinfo))
        rows: list[tuple[str, object]] = [
            ("secondary status", d.secondary_status),
            ("failure reason", d.failure_reason),
            ("created", _display.time_text(d.creation_time)),
            ("started", _display.time_text(d.start_time)),
            ("ended", _display.time_text(d.end_time)),
            ("duration", _display.duration_text(d.start_time, end)),
            ("instances", f"{d.instance_count} x {d.instance_type}"),
            ("image", d.image_uri),
            ("framework", " ".join(filter(None, (d.framework, d.framework_version)))),
            ("model artifact", d.model_data),
            ("output", d.output_data),
            ("arn", d.arn)]
        parts: list[str] = []
        if d.metrics:
            parts.append(_display.table(("metric", "value"),
                                        [(m.name, f"{m.value:g}") for m in d.metrics],
                                        caption="Metrics"))
        if d.hyperparameters:
            parts.append(_display.table(
                ("hyperparameter", "value"),
                [(k, json.dumps(v) if not isinstance(v, str) else v)
                 for k, v in sorted(d.hyperparameters.items())],
                caption="Hyperparameters", limit=30))
        if d.inputs:
            parts.append(_display.table(("channel", "source"), sorted(d.inputs.items()),
                                        caption="Inputs", limit=20))
        return _display.card("Training job", d.name, d.status, rows=rows, parts=parts)
