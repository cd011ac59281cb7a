"""Jobs as MLflow runs: the run a job gets when it starts, and what is recorded when it ends.

A job started with ``experiment=`` gets a RUNNING run before it is created; the job's
environment carries ``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``,
``MLFLOW_EXPERIMENT_ID`` and ``MLFLOW_RUN_ID`` (so ``mlflow.log_metric`` in the script logs
into that run), and ``MLFLOW_DISABLE_TELEMETRY=true`` unless the job's environment sets
it; its tags name the run (``mlopskit:mlflow-run-id``), so a handle attached
later finds it. When a wait sees the job end, :func:`finish_job_run` records the outcome
once: the status, the metrics' full series from the log (with each line's time), the
artifacts as URIs (nothing is copied) and the failure reason.

The run is made before anything is uploaded or created, and deleted if the job is refused,
so a refused call leaves no run behind. A tracking store that cannot be reached does not
stop the job: it runs untracked, a :class:`TrackingWarning` says why, and the job is
tagged ``mlopskit:tracking-error``.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..backends.base import MetricValue, TuningJobDescription
from ..errors import MlopsKitError, TrackingError, ValidationError

if TYPE_CHECKING:
    from ..backends.base import JobDescription, JobVerbs, ObjectStore
    from ..session import Session
    from .recorder import DatasetRef, MetricPoint

__all__ = ["RUN_TAG", "EXPERIMENT_TAG", "ERROR_TAG", "RunPlan", "TrackingWarning",
           "checked_plan", "finish_job_run", "start_job_run"]

RUN_TAG = "mlopskit:mlflow-run-id"
EXPERIMENT_TAG = "mlopskit:experiment"
ERROR_TAG = "mlopskit:tracking-error"
_MAX_NAME = 250
_DIGEST_OBJECTS = 100  # a channel of more objects is recorded by URI, without a digest
_TELEMETRY = "MLFLOW_DISABLE_TELEMETRY"
RunStatus = Literal["FINISHED", "FAILED", "KILLED"]
_STATUS: dict[str, RunStatus] = {"Completed": "FINISHED", "Failed": "FAILED",
                                 "Stopped": "KILLED"}


class TrackingWarning(UserWarning):
    """A job ran, or ended, without its experiment run being made or completed."""


@dataclass(frozen=True)
class RunPlan:
    """The run a job should be: its experiment, run name (the job's name when None), the
    parent run (tuning jobs and pipelines nest theirs) and the local code folder (for the
    git commit)."""

    experiment: str
    run_name: str | None = None
    parent_run_id: str | None = None
    code_dir: Path | None = None


def checked_plan(experiment: str | None, run_name: str | None,
                 code_dir: Path | None = None) -> RunPlan | None:
    """A :class:`RunPlan`, or None without an experiment; ValidationError naming the field
    for a bad name (1 to 250 printable characters).

    Example:
        >>> checked_plan("churn", None).experiment
        'churn'
        >>> checked_plan(None, "first")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: run_name: only with experiment= ...
    """
    for field, value in (("experiment", experiment), ("run_name", run_name)):
        if value is None:
            continue
        if not isinstance(value, str) or not 1 <= len(value) <= _MAX_NAME \
                or not value.isprintable():
            raise ValidationError(f"{field}: expected 1 to {_MAX_NAME} printable characters, "
                                  f"got {value!r}", field=field)
    if experiment is None:
        if run_name is not None:
            raise ValidationError("run_name: only with experiment= (the experiment the run "
                                  "belongs to)", field="run_name")
        return None
    return RunPlan(experiment, run_name, code_dir=code_dir)


_SHA = re.compile(r"[0-9a-f]{40}")


def _git_commit(folder: Path | None) -> str | None:
    """The commit checked out where the code lives, when it is a git checkout: read from
    ``.git`` (HEAD, its ref, packed refs; worktrees too), with no git process to start.

    Example:
        >>> _git_commit(None) is None
        True
    """
    if folder is None:
        return None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        here = folder.resolve()
        for parent in (here, *here.parents):
            git = parent / ".git"
            if git.is_file():  # a worktree or submodule: "gitdir: <path>"
                text = git.read_text(encoding="utf-8").strip()
                if not text.startswith("gitdir:"):
                    return None
                git = (parent / text.removeprefix("gitdir:").strip()).resolve()
            if not git.is_dir():
                continue
            head = (git / "HEAD").read_text(encoding="utf-8").strip()
            if not head.startswith("ref:"):
                return head if _SHA.fullmatch(head) else None  # a detached HEAD
            ref = head.removeprefix("ref:").strip()
            common = git
            if (git / "commondir").is_file():
                common = (git / (git / "commondir").read_text(encoding="utf-8").strip()
                          ).resolve()
            for base in (git, common):
                if (base / ref).is_file():
                    value = (base / ref).read_text(encoding="utf-8").strip()
                    return value if _SHA.fullmatch(value) else None
            if (common / "packed-refs").is_file():
                for line in (common / "packed-refs").read_text(encoding="utf-8").splitlines():
                    sha, _, name = line.partition(" ")
                    if name == ref and _SHA.fullmatch(sha):
                        return sha
            return None  # a branch with no commit yet
    return None


def _job_tags(session: Session, kind: str, name: str, spec: Any,
              plan: RunPlan) -> dict[str, str]:
    tags = {"mlopskit.kind": kind, "mlopskit.job_name": name,
            "mlopskit.backend": session.backend_name, "mlopskit.status": "InProgress"}
    for key, attribute in (("mlopskit.instance_type", "instance_type"),
                           ("mlopskit.instance_count", "instance_count"),
                           ("mlopskit.image", "image_uri"), ("mlopskit.framework", "framework"),
                           ("mlopskit.framework_version", "framework_version")):
        value = getattr(spec, attribute, None)
        if value is not None:
            tags[key] = str(value)
    commit = _git_commit(plan.code_dir)
    if commit is not None:
        tags["mlflow.source.git.commit"] = commit
    return tags


def _params(spec: Any) -> dict[str, str]:
    """Hyperparameters as sent (training); a processing job's arguments as one param; a
    tuning job's settings and its trials' fixed hyperparameters."""
    training = getattr(spec, "training", None)
    if training is not None:
        return {**_params(training), "strategy": str(spec.strategy),
                "objective": f"{spec.objective.type} {spec.objective.metric_name}",
                "max_jobs": str(spec.max_jobs), "max_parallel_jobs": str(spec.max_parallel_jobs),
                **{f"range.{k}": _range_text(v) for k, v in sorted(spec.ranges.items())}}
    hyperparameters = getattr(spec, "hyperparameters", None)
    if hyperparameters is not None:
        return {str(k): str(v) for k, v in hyperparameters.items()}
    arguments = getattr(spec, "arguments", None)
    return {"arguments": " ".join(arguments)} if arguments else {}


def _range_text(value: Any) -> str:
    if value.kind == "categorical":
        return ", ".join(str(v) for v in value.values)
    return f"{value.min_value}..{value.max_value} ({value.scaling_type})"


def _respec(spec: Any, environment: Mapping[str, str], tags: Mapping[str, str]) -> Any:
    """The spec with these variables in its job's environment and these tags. A tuning
    job's variables go to its trials' definition, without ``MLFLOW_RUN_ID``: each trial is
    a run of its own, nested under the tuning job's."""
    from ..specs._common import build

    values = spec.model_dump()
    if "training" in values:
        trial_env = {k: v for k, v in environment.items() if k != "MLFLOW_RUN_ID"}
        values["training"] = _respec(spec.training, trial_env, {}).model_dump()
    else:
        values["environment"] = {**spec.environment, **environment}
    values["tags"] = {**spec.tags, **tags}
    return build(type(spec), "", **values)


def start_job_run(session: Session, plan: RunPlan, kind: str, name: str,
                  spec: Any) -> tuple[Any, str | None]:
    """Make the job's RUNNING run and return the spec with the run's variables and tags (and
    the run id); an unreachable store gives the spec tagged with the error, and None."""
    tracker = session.tracker()  # CapabilityError when the session tracks nowhere
    try:
        run_id = tracker.start_run(plan.experiment, plan.run_name or name,
                                   tags=_job_tags(session, kind, name, spec, plan),
                                   params=_params(spec), parent_run_id=plan.parent_run_id)
        experiment_id = tracker.experiment_id(plan.experiment)
    except TrackingError as exc:
        warnings.warn(f"{kind} job {name!r} runs without experiment tracking: {exc}",
                      TrackingWarning, stacklevel=3)
        return _respec(spec, {}, {ERROR_TAG: str(exc)[:256]}), None
    environment = {"MLFLOW_TRACKING_URI": tracker.tracking_uri,
                   "MLFLOW_EXPERIMENT_NAME": plan.experiment,
                   "MLFLOW_EXPERIMENT_ID": experiment_id, "MLFLOW_RUN_ID": run_id}
    # MLflow's telemetry thread can deadlock a script's mlflow.autolog() (an import-lock
    # cycle between the two threads): off in tracked jobs, unless the job's own
    # environment says otherwise.
    if _TELEMETRY not in (getattr(spec, "training", None) or spec).environment:
        environment[_TELEMETRY] = "true"
    try:
        return _respec(spec, environment, {RUN_TAG: run_id,
                                           EXPERIMENT_TAG: plan.experiment[:256]}), run_id
    except MlopsKitError:
        discard_run(session, run_id)  # the job cannot take the variables: no run stays
        raise


def discard_run(session: Session, run_id: str) -> None:
    """Delete a run whose job was refused (best effort: the refusal is the error)."""
    with contextlib.suppress(MlopsKitError):
        session.tracker().delete_run(run_id)


def _points(series: Sequence[MetricValue]) -> list[MetricPoint]:
    from .recorder import MetricPoint

    steps: dict[str, int] = {}
    points = []
    for value in series:
        steps[value.name] = steps.get(value.name, 0) + 1
        points.append(MetricPoint(value.name, value.value, steps[value.name],
                                  int(value.timestamp.timestamp() * 1000)))
    return points


def _digest(objects: ObjectStore, uri: str) -> str | None:
    """A digest of what a channel held: of each object's SHA-256 under the URI, or None
    when it holds more than a hundred objects (then the URI alone is recorded)."""
    with contextlib.suppress(MlopsKitError):
        keys = sorted(objects.list(uri))[: _DIGEST_OBJECTS + 1]
        if not keys or len(keys) > _DIGEST_OBJECTS:
            return None
        digest = hashlib.sha256()
        for key in keys:
            digest.update(f"{key} {objects.sha256(key)}\n".encode())
        return digest.hexdigest()
    return None


def _inputs(session: Session,
            described: JobDescription | TuningJobDescription) -> list[DatasetRef]:
    from .recorder import DatasetRef

    found = getattr(described, "inputs", None) or {}
    return [DatasetRef(channel, uri, _digest(session.backend.objects, uri),
                       context=channel if channel != "code" else "code")
            for channel, uri in sorted(found.items())]


def _finish_trials(session: Session, plan_experiment: str, parent: str,
                   described: Any) -> None:
    """A tuning job's trials as runs nested under its run: the tuned hyperparameters as
    params, the trial's metric series, its status and objective."""
    tracker = session.tracker()
    training = session.backend.training
    for trial in described.trials:
        try:
            job = training.describe(trial.job)
        except MlopsKitError:
            continue
        began = job.start_time or job.creation_time
        run_id = tracker.start_run(
            plan_experiment, trial.job, parent_run_id=parent,
            start_time_ms=int(began.timestamp() * 1000),
            params={**{str(k): str(v) for k, v in job.hyperparameters.items()
                       if not str(k).startswith("sagemaker_")}, **trial.params},
            tags={"mlopskit.kind": "trial", "mlopskit.job_name": trial.job,
                  "mlopskit.backend": session.backend_name,
                  "mlopskit.tuning_job": described.name})
        values = list(training.metric_series(trial.job)) if training.metric_series else []
        _finish(tracker, run_id, job, values or list(job.metrics), inputs=[])


def _finish(tracker: Any, run_id: str, described: Any, values: Sequence[MetricValue], *,
            inputs: Sequence[DatasetRef], extra: Mapping[str, str] | None = None,
            check: bool = True) -> None:
    tags = {"mlopskit.status": described.status, "mlopskit.job_arn": described.arn,
            **(extra or {})}
    for key, attribute in (("mlopskit.model_data", "model_data"),
                           ("mlopskit.output_data", "output_data")):
        value = getattr(described, attribute, None)
        if value:
            tags[key] = str(value)
    outputs = getattr(described, "outputs", None) or {}
    tags.update({f"mlopskit.output.{k}": v for k, v in sorted(outputs.items())})
    if described.failure_reason:
        tags["mlopskit.failure_reason"] = described.failure_reason[:5000]
    end = described.end_time
    tracker.finish_run(run_id, status=_STATUS.get(described.status, "FAILED"),
                       metrics=_points(values), tags=tags, inputs=inputs,
                       end_time_ms=int(end.timestamp() * 1000) if end else None,
                       check=check)


def _tuning_outcome(described: TuningJobDescription
                    ) -> tuple[list[MetricValue], dict[str, str]]:
    """A tuning job's own record: its best training job, and the best objective as the
    ``best:<metric>`` metric."""
    if described.best_training_job is None:
        return [], {}
    when = described.end_time or described.creation_time
    values = [MetricValue(f"best:{described.objective_metric}", described.best_objective,
                          when)] if described.best_objective is not None and when else []
    return values, {"mlopskit.best_training_job": described.best_training_job}


def finish_job_run(session: Session, kind: str,
                   described: JobDescription | TuningJobDescription,
                   series: Callable[[str], Sequence[MetricValue]] | None) -> None:
    """Record a job's outcome on its run, once (later calls find it recorded): the run's
    status, the metrics (the whole series when the backend reads it from the log, else the
    final values), the artifacts as URIs, the failure reason and the inputs. A store that
    cannot be reached gives a TrackingWarning, never an exception."""
    run_id = described.tags.get(RUN_TAG)
    if run_id is None or session.tracking_uri is None:
        return
    try:
        tracker = session.tracker()
        values = list(series(described.name)) if series is not None else []
        if not values:
            values = list(getattr(described, "metrics", ()))
        extra: dict[str, str] = {}
        if isinstance(described, TuningJobDescription):
            # A tuning job looks first, so its trials' runs are not made twice.
            if tracker.get_run(run_id).data.tags.get("mlopskit.finished") == "1":
                return
            _finish_trials(session, described.tags.get(EXPERIMENT_TAG, ""), run_id,
                           described)
            values, extra = _tuning_outcome(described)
        # A job's outcome written twice (two waits in two processes) is the same outcome:
        # no look first. A tuning job looked above, before making its trials' runs.
        _finish(tracker, run_id, described, values, inputs=_inputs(session, described),
                extra=extra, check=False)
    except (TrackingError, MlopsKitError) as exc:
        warnings.warn(f"{kind} job {described.name!r} ended {described.status}, but its run "
                      f"{run_id} was not completed: {exc}", TrackingWarning, stacklevel=3)


# -- pipeline executions ------------------------------------------------------------------

_EXECUTION_STATUS: dict[str, RunStatus] = {"Succeeded": "FINISHED", "Failed": "FAILED",
                                            "Stopped": "KILLED"}
EXECUTION_TAG = "mlopskit.execution_arn"


def start_execution_run(session: Session, plan: RunPlan, pipeline: str, arn: str,
                        parameters: Mapping[str, Any]) -> str | None:
    """The RUNNING run of a pipeline execution just started (the parent of its steps'
    runs), or None with a TrackingWarning when the store cannot be reached (the execution
    runs anyway)."""
    tracker = session.tracker()
    try:
        return tracker.start_run(
            plan.experiment, plan.run_name or f"{pipeline}-{arn.rsplit('/', 1)[-1]}",
            params={str(k): str(v) for k, v in parameters.items()},
            tags={"mlopskit.kind": "pipeline", "mlopskit.pipeline": pipeline,
                  EXECUTION_TAG: arn, "mlopskit.backend": session.backend_name,
                  "mlopskit.status": "Executing"})
    except TrackingError as exc:
        warnings.warn(f"pipeline execution {arn} runs without experiment tracking: {exc}",
                      TrackingWarning, stacklevel=3)
        return None


def execution_run_id(session: Session, arn: str) -> str | None:
    """The run of a pipeline execution, found by its tag in any experiment of the store
    (None when it has none, or the session tracks nowhere)."""
    if session.tracking_uri is None:
        return None
    tracker = session.tracker()
    for experiment in tracker.experiments():
        runs = tracker.runs(experiment.name, f"tags.`{EXECUTION_TAG}` = '{arn}'")
        if runs:
            return str(runs[0].info.run_id)
    return None


def finish_execution_run(session: Session, run_id: str, record: Any,
                         steps: Sequence[Any]) -> None:
    """Record an ended execution on its run, once: each step a nested run (its type,
    status, cache hit and job; a training step's hyperparameters and metric series), then
    the execution's status. A store that cannot be reached gives a TrackingWarning."""
    try:
        tracker = session.tracker()
        parent = tracker.get_run(run_id)
        if parent.data.tags.get("mlopskit.finished") == "1":
            return
        experiment = parent.info.experiment_id
        name = next(e.name for e in tracker.experiments() if e.experiment_id == experiment)
        for step in sorted(steps, key=lambda s: (s.start_time is None, s.start_time)):
            _step_run(session, tracker, name, run_id, step)
        tags = {"mlopskit.status": record.status}
        if record.failure_reason:
            tags["mlopskit.failure_reason"] = str(record.failure_reason)[:5000]
        end = record.end_time
        tracker.finish_run(run_id, status=_EXECUTION_STATUS.get(record.status, "FAILED"),
                           tags=tags, end_time_ms=int(end.timestamp() * 1000) if end else None)
    except (TrackingError, MlopsKitError) as exc:
        warnings.warn(f"pipeline execution {record.arn} ended {record.status}, but its run "
                      f"{run_id} was not completed: {exc}", TrackingWarning, stacklevel=3)


def _step_run(session: Session, tracker: Any, experiment: str, parent: str,
              step: Any) -> None:
    params: dict[str, str] = {}
    values: list[MetricValue] = []
    training = session.backend.training
    if step.type == "Training" and step.job and not step.cache_hit:
        with contextlib.suppress(MlopsKitError):
            job = training.describe(step.job)
            params = {str(k): str(v) for k, v in job.hyperparameters.items()
                      if not str(k).startswith("sagemaker_")}
            values = list(training.metric_series(step.job)) if training.metric_series \
                else []
            values = values or list(job.metrics)
    tags = {"mlopskit.kind": "step", "mlopskit.step_type": step.type,
            "mlopskit.status": step.status, "mlopskit.cache_hit": str(bool(step.cache_hit))}
    if step.job:
        tags["mlopskit.job_name"] = step.job
    if step.failure_reason:
        tags["mlopskit.failure_reason"] = str(step.failure_reason)[:5000]
    run_id = tracker.start_run(
        experiment, step.name, parent_run_id=parent, params=params, tags=tags,
        start_time_ms=int(step.start_time.timestamp() * 1000) if step.start_time else None)
    end = step.end_time
    tracker.finish_run(run_id, status=_EXECUTION_STATUS.get(step.status, "FAILED"),
                       metrics=_points(values),
                       end_time_ms=int(end.timestamp() * 1000) if end else None)


def tag_run(session: Session, run_id: str, tags: Mapping[str, str]) -> None:
    """Tag a run (the registry marks the run a package came from); a store that cannot be
    reached gives a TrackingWarning, never an exception, as the package exists already."""
    try:
        session.tracker().log_tags(run_id, tags)
    except MlopsKitError as exc:
        warnings.warn(f"run {run_id} was not tagged with {sorted(tags)}: {exc}",
                      TrackingWarning, stacklevel=3)


def settle_runs(session: Session, runs: Sequence[Any]) -> bool:
    """Record the outcome of the jobs whose runs are not recorded yet but which have ended
    (started with ``wait=False`` and never waited on); True when any was recorded. Runs of
    another backend's jobs, or of jobs that are gone, are left as they are."""
    verbs: dict[str, JobVerbs[Any, Any]] = {
        "training": session.backend.training, "processing": session.backend.processing,
        "tuning": session.backend.tuning}
    recorded = False
    for run in runs:
        tags = run.data.tags
        kind, name = tags.get("mlopskit.kind"), tags.get("mlopskit.job_name")
        # Not the run's status: a script's own ``with mlflow.start_run():`` ends the run.
        if tags.get("mlopskit.finished") == "1" or kind not in verbs or name is None \
                or tags.get("mlopskit.backend") != session.backend_name:
            continue
        try:
            described = verbs[kind].describe(name)
        except MlopsKitError:
            continue
        if described.is_terminal and described.tags.get(RUN_TAG) == run.info.run_id:
            finish_job_run(session, kind, described, verbs[kind].metric_series)
            recorded = True
    return recorded
