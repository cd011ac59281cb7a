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

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from . import _display
from ._archive import make_tar_gz
from ._data import check_source
from ._jobs import Job, check_spec, checked_job_name, described, free_name, submit, upload_local
from ._waiting import job_wait_timeout
from .backends.base import Backend, Capability, JobVerbs, TrainingJobDescription
from .errors import ConflictError, ValidationError
from .session import Session, resolve_session
from .specs._common import (
    S3Uri,
    Spec,
    build,
    check_name,
    is_variable,
)
from .specs.training import DEFAULT_MAX_RUN, MetricDefinition, TrainingJobSpec
from .tracking.jobs import checked_plan

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
        check_source(self._model.s3_data, "s3_data")

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
        experiment: str | None = None,
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
        checked_plan(experiment, None)  # a bad name is refused here, before any fit
        self.experiment = experiment
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

    @property
    def _code_folder(self) -> Path:
        """The folder the code comes from (where a git commit is looked for); checked by
        :meth:`_code_layout` when the job is prepared."""
        return Path(self.source_dir) if self.source_dir is not None \
            else Path(self.entry_point).parent

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

    def _started(self, job: TrainingJob) -> None:
        self.latest_job = job

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
            job_name: str | None = None, *, experiment: str | None = None,
            run_name: str | None = None) -> TrainingJob:
        """Start a training job; with ``wait`` (default) block until it ends.

        ``inputs`` maps channel names to S3 URIs, local paths (uploaded first) or
        :class:`TrainingInput`; a single value becomes the ``training`` channel. Raises
        :class:`~mlopskit.errors.JobFailedError` when a waited-on job fails; bad input
        raises :class:`~mlopskit.errors.ValidationError` and creates nothing.

        ``experiment`` (else the estimator's) makes the job an MLflow run of that
        experiment, named ``run_name`` (else the job's name): see docs/experiments.md.
        """
        session = resolve_session(self.session)
        plan = checked_plan(experiment or self.experiment, run_name, self._code_folder)
        channels = self._channels(inputs)
        name = checked_job_name(job_name) or free_name(
            session, session.backend.training, self.base_job_name or Path(self.entry_point).stem)
        spec, upload = self._prepare(session, channels, name)
        return submit(TrainingJob, session, spec, name, name_given=job_name is not None,
                      upload=upload, wait=wait, logs=logs, started=self._started,
                      tracking=plan)

    def _prepare(self, session: Session, channels: list[tuple[str, TrainingInput]],
                 name: str) -> tuple[TrainingJobSpec, Callable[[list[str]], None]]:
        """The job's spec (its code and local inputs under ``s3://<bucket>/<name>/``) and
        the upload that puts them there; a tuning job uses both as its trials' template."""
        folder, _ = self._code_layout()
        bucket = session.default_bucket
        prefix = f"s3://{bucket}/{name}"
        channel_specs = [
            ti.channel(ch, f"{prefix}/input/{ch}/" if ti.is_local else ti.s3_data)
            for ch, ti in channels
        ]
        spec = self._spec(name, f"{prefix}/source/sourcedir.tar.gz", channel_specs,
                          f"s3://{bucket}/")
        check_spec(session, spec, owner="estimator",
                   instance_count_variable=self.instance_count_variable)
        objects = session.backend.objects

        def upload(uploaded: list[str]) -> None:
            with tempfile.TemporaryDirectory(prefix="mlopskit-src-") as tmp:
                archive = Path(tmp) / "sourcedir.tar.gz"
                make_tar_gz(folder if self.source_dir is not None else Path(self.entry_point),
                            archive)
                objects.put_file(archive, spec.source_uri)
                uploaded.append(spec.source_uri)
            upload_local(objects, [(data.s3_data, channel["s3_uri"]) for (_, data), channel
                                   in zip(channels, channel_specs, strict=True)
                                   if data.is_local], uploaded)

        return spec, upload


class TrainingJob(Job[TrainingJobDescription]):
    """A handle on one training job (``Estimator.fit`` returns one; ``attach`` finds one by
    name); what it reports is read from the backend on demand.

    ``wait(timeout=None)`` waits for the job's ``max_run`` plus
    :data:`~mlopskit._waiting.JOB_WAIT_MARGIN` (one hour, for instances starting and
    outputs uploading): 25 hours for a job with the default ``max_run`` of 24 hours.

    Example:
        >>> import tempfile, mlopskit
        >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> TrainingJob("no-such-job", session=s).wait(timeout=-5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: timeout: a number of seconds, 0 or more ..., got -5
    """

    _title = "Training job"
    _stop_capability = Capability.TRAINING_STOP

    @classmethod
    def _verbs(cls, backend: Backend) -> JobVerbs[Any, TrainingJobDescription]:
        return backend.training

    def _limit(self, first: TrainingJobDescription) -> float:
        return job_wait_timeout(first.max_run, DEFAULT_MAX_RUN)

    def _state(self, described: TrainingJobDescription) -> str:
        if described.secondary_status:
            return f"{described.status} ({described.secondary_status})"
        return described.status

    secondary_status = described[str](lambda d: d.secondary_status,
                                      "SageMaker's finer status (Starting, Training, ...).")
    model_data = described[str | None](
        lambda d: d.model_data, "S3 URI of ``model.tar.gz`` (None until the job has "
        "uploaded it).")
    output_data = described[str | None](lambda d: d.output_data,
                                          "S3 URI of ``output.tar.gz`` once it Completed.")
    hyperparameters = described[dict[str, Any]](
        lambda d: dict(d.hyperparameters),
        "The user's hyperparameters, decoded (no ``sagemaker_*`` keys).")
    metrics = described[dict[str, float]](
        lambda d: {m.name: m.value for m in d.metrics},
        "Final value of each metric definition that matched the log.")

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

    def _card(self, d: TrainingJobDescription
              ) -> tuple[list[tuple[str, object]], list[str]]:
        rows: list[tuple[str, object]] = [
            ("secondary status", d.secondary_status),
            ("failure reason", d.failure_reason),
            ("timings", None),
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
        return rows, parts
