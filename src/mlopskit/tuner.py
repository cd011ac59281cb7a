"""Hyperparameter tuning: :class:`HyperparameterTuner` and :class:`TuningJob`.

A tuner starts training jobs of one estimator with hyperparameters drawn from ranges, reads
each job's objective metric from its log (the estimator's metric definitions), and reports
the best. On AWS it is SageMaker's automatic model tuning; locally the trials are ordinary
local training jobs, run ``max_parallel_jobs`` at a time (Random, Grid and Bayesian).

Example:
    >>> import mlopskit, pathlib, tempfile
    >>> from mlopskit.tuning import CategoricalParameter
    >>> work = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (work / "train.py").write_text(
    ...     "import json, os\\n"
    ...     "n = int(json.loads(os.environ['SM_HP_N']))\\n"
    ...     "print(f'score={10 - (n - 3) ** 2}')\\n")
    >>> estimator = mlopskit.Estimator(entry_point=str(work / "train.py"),
    ...     instance_type="ml.m5.large", session=mlopskit.LocalSession(root=work / "store"),
    ...     metric_definitions=[{"Name": "score", "Regex": "score=([-0-9.]+)"}])
    >>> ranges = {"n": CategoricalParameter([1, 2, 3, 4, 5])}
    >>> tuner = HyperparameterTuner(estimator, "score", ranges, strategy="Grid",
    ...                             max_parallel_jobs=2)
    >>> job = tuner.fit()
    >>> job.status, job.describe().best_objective, len(job.describe().trials)
    ('Completed', 10.0, 5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._jobs import Job, described, free_name, submit
from ._waiting import DEFAULT_PIPELINE_TIMEOUT
from .backends.base import Backend, Capability, JobVerbs, TuningJobDescription
from .errors import ConflictError, NotFoundError, ValidationError
from .session import Session, resolve_session
from .specs._common import build, check_name
from .specs.tuning import TuningJobSpec
from .tracking.jobs import checked_plan
from .training import Estimator, TrainingJob, _metric
from .tuning import CategoricalParameter, ContinuousParameter, IntegerParameter, WarmStartConfig

if TYPE_CHECKING:
    import pandas as pd

    from .models import Model

__all__ = ["HyperparameterTuner", "TuningJob"]

_PARAMETER_TYPES = (ContinuousParameter, IntegerParameter, CategoricalParameter)


class HyperparameterTuner:
    """Search an estimator's hyperparameters for the best value of one objective metric.

    ``hyperparameter_ranges`` maps hyperparameter names to :class:`ContinuousParameter`,
    :class:`IntegerParameter` or :class:`CategoricalParameter` (from ``mlopskit.tuning``);
    the estimator's other hyperparameters stay fixed. ``objective_metric_name`` must be one
    of the metric definitions (the estimator's, or ``metric_definitions`` given here, which
    replace them). Everything is checked here, before any job exists, and a bad value
    raises :class:`~mlopskit.errors.ValidationError` naming the field.

    Example:
        >>> import mlopskit, pathlib, tempfile
        >>> from mlopskit.tuning import ContinuousParameter
        >>> work = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (work / "train.py").write_text("print('auc=0.9')")
        >>> est = mlopskit.Estimator(entry_point=str(work / "train.py"),
        ...                          instance_type="ml.m5.large")
        >>> HyperparameterTuner(est, "auc", {"lr": ContinuousParameter(0.1, 0.01)},
        ...     metric_definitions=[{"Name": "auc", "Regex": "auc=([0-9.]+)"}])
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: ...
    """

    def __init__(self, estimator: Estimator, objective_metric_name: str,
                 hyperparameter_ranges: Mapping[str, Any],
                 metric_definitions: Sequence[Mapping[str, str]] | None = None, *,
                 objective_type: str = "Maximize", strategy: str = "Bayesian",
                 max_jobs: int | None = None, max_parallel_jobs: int = 1,
                 early_stopping_type: str = "Off", random_seed: int | None = None,
                 warm_start: WarmStartConfig | None = None, max_runtime: int | None = None,
                 completion_criteria: Mapping[str, Any] | None = None,
                 strategy_config: Mapping[str, Any] | None = None,
                 tags: Mapping[str, str] | None = None,
                 base_tuning_job_name: str | None = None,
                 experiment: str | None = None) -> None:
        if not isinstance(estimator, Estimator):
            raise ValidationError(f"estimator: expected an mlopskit.Estimator, got "
                                  f"{type(estimator).__name__}", field="estimator")
        if not isinstance(hyperparameter_ranges, Mapping) or not hyperparameter_ranges:
            raise ValidationError("hyperparameter_ranges: at least one range, a mapping of "
                                  "name -> ContinuousParameter, IntegerParameter or "
                                  "CategoricalParameter", field="hyperparameter_ranges")
        for name, value in hyperparameter_ranges.items():
            if not isinstance(value, _PARAMETER_TYPES):
                raise ValidationError(
                    f"hyperparameter_ranges.{name}: expected ContinuousParameter, "
                    f"IntegerParameter or CategoricalParameter, got {type(value).__name__}",
                    field=f"hyperparameter_ranges.{name}")
        if warm_start is not None and not isinstance(warm_start, WarmStartConfig):
            raise ValidationError(f"warm_start: expected a WarmStartConfig, got "
                                  f"{type(warm_start).__name__}", field="warm_start")
        self.estimator = estimator
        self.objective_metric_name = objective_metric_name
        self.hyperparameter_ranges = dict(hyperparameter_ranges)
        self.metric_definitions = ([_metric(m) for m in metric_definitions]
                                   if metric_definitions is not None else None)
        if base_tuning_job_name is not None:
            checked_tuning_name(base_tuning_job_name, field="base_tuning_job_name")
        self.base_tuning_job_name = base_tuning_job_name
        checked_plan(experiment, None)
        self.experiment = experiment
        self._settings: dict[str, Any] = {
            "objective": {"metric_name": objective_metric_name, "type": objective_type},
            "strategy": strategy, "max_jobs": max_jobs,
            "max_parallel_jobs": max_parallel_jobs,
            "early_stopping_type": early_stopping_type, "random_seed": random_seed,
            "warm_start": warm_start.spec() if warm_start is not None else None,
            "max_runtime": max_runtime, "completion_criteria": completion_criteria,
            "hyperband": dict(strategy_config) if strategy_config is not None else None,
            "tags": dict(tags or {})}
        self.latest_tuning_job: TuningJob | None = None
        # Every setting is checked now, against a stand-in training definition.
        self._tuning_spec("validation-probe",
                          estimator._spec("validation-probe",
                                          "s3://probe-bucket/p/sourcedir.tar.gz", (),
                                          "s3://probe-bucket/"))

    def _tuning_spec(self, name: str, training: Any) -> TuningJobSpec:
        if self.metric_definitions is not None:  # the tuner's replace the estimator's
            training = build(type(training), "", **{
                **training.model_dump(), "metric_definitions": self.metric_definitions})
        return build(TuningJobSpec, "", name=name, training=training,
                     ranges={k: v.spec() for k, v in self.hyperparameter_ranges.items()},
                     **self._settings)

    def fit(self, inputs: Any = None, wait: bool = True, job_name: str | None = None,
            progress: bool | None = None, *, experiment: str | None = None,
            run_name: str | None = None) -> TuningJob:
        """Start the tuning job; with ``wait`` (default) block until it ends.

        ``inputs`` are the estimator's (channels, as for ``Estimator.fit``): uploaded once,
        under the tuning job's name, and read by every trial. Raises
        :class:`~mlopskit.errors.JobFailedError` when a waited-on tuning job fails (every
        trial failed, or none reported the objective).

        ``experiment`` (else the tuner's, else the estimator's) makes the tuning job an
        MLflow run, and each trial a run nested under it, recorded when a wait sees the
        tuning job end (see docs/experiments.md).
        """
        session = resolve_session(self.estimator.session)
        plan = checked_plan(experiment or self.experiment or self.estimator.experiment,
                            run_name, self.estimator._code_folder)
        channels = self.estimator._channels(inputs)
        verbs = session.backend.tuning
        name = checked_tuning_name(job_name) or free_name(
            session, verbs, self.base_tuning_job_name or
            self.estimator.base_job_name or "tuning", limit=32)
        training, upload = self.estimator._prepare(session, channels, name)
        spec = self._tuning_spec(name, training)
        if spec.strategy == "Hyperband" or spec.early_stopping_type == "Auto":
            session.require(Capability.TUNING_EARLY_STOPPING,
                            "Hyperband or early_stopping_type='Auto'")
        if spec.warm_start is not None:
            session.require(Capability.TUNING_WARM_START, "warm_start")
            _check_parents(session, spec)
        job = submit(TuningJob, session, spec, name, name_given=job_name is not None,
                     upload=upload, wait=wait, logs=False, progress=progress,
                     started=self._started, tracking=plan)
        return job

    def _started(self, job: TuningJob) -> None:
        self.latest_tuning_job = job

    def _latest(self) -> TuningJob:
        if self.latest_tuning_job is None:
            raise ConflictError("this tuner has not run a tuning job yet; call fit() first")
        return self.latest_tuning_job

    def best_training_job(self) -> str:
        """The name of the latest tuning job's best training job."""
        return self._latest().best_training_job()

    def best_estimator(self) -> TrainingJob:
        """The latest tuning job's best training job, as a handle."""
        return self._latest().best_job()

    def create_model(self, **kwargs: Any) -> Model:
        """A model of the best training job's artifact (see ``TrainingJob.create_model``)."""
        return self.best_estimator().create_model(**kwargs)


def _check_parents(session: Session, spec: TuningJobSpec) -> None:
    """A warm start's parents must exist, have ended and have tuned the same objective
    metric, as SageMaker requires; checked before anything is uploaded."""
    assert spec.warm_start is not None
    for parent in spec.warm_start.parents:
        try:
            described = session.backend.tuning.describe(parent)
        except NotFoundError:
            raise NotFoundError(f"warm_start.parents: tuning job {parent!r} does not exist"
                                ) from None
        if not described.is_terminal:
            raise ConflictError(
                f"warm_start.parents: tuning job {parent!r} is {described.status}; a parent "
                "must have ended (allowed: Completed, Stopped or Failed)")
        if described.objective_metric != spec.objective.metric_name:
            raise ValidationError(
                f"warm_start.parents: tuning job {parent!r} tuned "
                f"{described.objective_metric!r}, not {spec.objective.metric_name!r}; a "
                "parent must have the same objective metric", field="warm_start.parents")


def checked_tuning_name(job_name: str | None, field: str = "job_name") -> str | None:
    """``job_name`` if it is a valid tuning job name (1 to 32 letters, digits and hyphens),
    else a ValidationError naming ``field``.

    Example:
        >>> checked_tuning_name("x" * 33)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: job_name: tuning job name ... allowed: 1 to 32
    """
    if job_name is None:
        return None
    try:
        check_name(job_name, kind="tuning job name", max_length=32)
    except ValueError as exc:
        raise ValidationError(f"{field}: {exc}", field=field) from None
    return job_name


class TuningJob(Job[TuningJobDescription]):
    """A handle on one hyperparameter tuning job: its trials and the best of them.

    ``wait(timeout=None)`` waits three days (a tuning job's trials each have their own
    runtime limit).

    Example:
        >>> import mlopskit, tempfile
        >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> TuningJob.attach("no-such-tuning", session=s)
        Traceback (most recent call last):
        ...
        mlopskit.errors.NotFoundError: tuning job 'no-such-tuning' does not exist ...
    """

    _title = "Tuning job"
    _progress_unit = "trial"
    _default_timeout = DEFAULT_PIPELINE_TIMEOUT

    @classmethod
    def _verbs(cls, backend: Backend) -> JobVerbs[Any, TuningJobDescription]:
        return backend.tuning


    def _state(self, described: TuningJobDescription) -> str:
        ended = sum(1 for t in described.trials if t.status != "InProgress")
        return f"{described.status}, {ended} of {len(described.trials)} trials ended"

    best_objective = described[float | None](lambda d: d.best_objective,
                                              "The best trial's objective value so far.")
    overall_best_training_job = described[str | None](
        lambda d: d.overall_best_training_job,
        "With warm start: the best training job of this job and its parents "
        "(SageMaker's ``OverallBestTrainingJob``); None without warm start.")

    def best_training_job(self) -> str:
        """The name of the best training job (ConflictError until one has completed with an
        objective value)."""
        best = self._current().best_training_job
        if best is None:
            raise ConflictError(f"tuning job {self.name!r} has no completed training job "
                                "with an objective value yet")
        return best

    def best_job(self) -> TrainingJob:
        """The best training job, as a :class:`~mlopskit.TrainingJob` handle."""
        return TrainingJob(self.best_training_job(), session=self.session)

    def training_jobs(self) -> pd.DataFrame:
        """One row per trial: ``TrainingJobName``, ``TrainingJobStatus``,
        ``FinalObjectiveValue`` and a column per tuned hyperparameter (as the SDK's
        ``HyperparameterTuningJobAnalytics.dataframe()``), best first."""
        import pandas as pd

        d = self._current()
        rows = [{**{k: _number(v) for k, v in t.params.items()}, "TrainingJobName": t.job,
                 "TrainingJobStatus": t.status, "FinalObjectiveValue": t.objective}
                for t in d.trials]
        frame: pd.DataFrame = pd.DataFrame(rows)
        if not frame.empty:
            frame = frame.sort_values("FinalObjectiveValue",
                                      ascending=d.objective_type == "Minimize",
                                      na_position="last", kind="stable").reset_index(drop=True)
        return frame

    def _card(self, d: TuningJobDescription) -> tuple[list[tuple[str, object]], list[str]]:
        from . import _display

        rows: list[tuple[str, object]] = [
            ("failure reason", d.failure_reason),
            ("strategy", d.strategy),
            ("objective", f"{d.objective_type} {d.objective_metric}"),
            ("best training job", d.best_training_job),
            ("best objective", d.best_objective),
            ("timings", None),
            ("arn", d.arn)]
        parts: list[str] = [_display.table(("trial", "status", "objective", "hyperparameters"),
                                [(t.job, t.status, t.objective,
                                  ", ".join(f"{k}={v}" for k, v in sorted(t.params.items())))
                                 for t in d.trials], caption="Trials", limit=30)] \
            if d.trials else []
        # Start order: creation times where the backend reports them all (AWS lists trials
        # in its own order), else the order listed (locally, the order started).
        trials = (sorted(d.trials, key=lambda t: t.creation_time or 0)
                  if all(t.creation_time is not None for t in d.trials) else d.trials)
        chart = _display.objective_chart([(t.job, t.status, t.objective) for t in trials],
                                         d.objective_type, d.objective_metric,
                                         best=d.best_training_job)
        return rows, [chart, *parts] if chart else parts


def _number(value: str) -> Any:
    """A tuned value as sent (a string) back as a number where it is one."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value.strip('"')
