"""Hyperparameter tuning jobs on the local backend: SageMaker's automatic model tuning,
emulated.

A tuning job's trials are ordinary local training jobs (the same contract and records;
``mlopskit jobs list`` shows them), started ``max_parallel_jobs`` at a time, each run by its
own detached supervisor. The loop (``tuning_search.run_search``) runs in the process that
created the job: in the caller when it waits, else in a thread of it, recorded as the job's
owner; a describe that finds the owner gone ends the job ``Failed`` and stops its trials, as
for pipeline executions. The objective is the trial's final value of the objective metric,
read from its log with the estimator's metric definitions, as SageMaker does.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import ConflictError, MlopsKitError, NotFoundError
from ...specs.tuning import TuningJobSpec
from ...tuning_search import (
    BayesianSearch,
    CategoricalRange,
    ContinuousRange,
    EarlyStopping,
    GridSearch,
    HyperbandSearch,
    IntegerRange,
    MedianStoppingRule,
    ParameterRange,
    RandomSearch,
    Strategy,
    Trial,
    best_trial,
    run_search,
    running_values,
)
from ...tuning_search.bayesian import require_optuna
from ..base import JobVerbs, LogSink, ProgressSink, TrialSummary, TuningJobDescription
from ._processes import identity, running
from .store import dumps

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["LocalTuning"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tuning_jobs (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, status TEXT NOT NULL, spec TEXT NOT NULL,
    created TEXT NOT NULL, started TEXT, ended TEXT, failure_reason TEXT,
    trials TEXT NOT NULL DEFAULT '[]', stop_requested INTEGER NOT NULL DEFAULT 0,
    owner_pid INTEGER, owner_start TEXT)
"""
_ACTIVE = ("InProgress", "Stopping")


def _ranges(spec: TuningJobSpec) -> list[ParameterRange]:
    found: list[ParameterRange] = []
    for name, value in spec.ranges.items():
        if value.kind == "continuous":
            found.append(ContinuousRange(name, value.min_value, value.max_value,
                                         value.scaling_type))
        elif value.kind == "integer":
            found.append(IntegerRange(name, value.min_value, value.max_value,
                                      value.scaling_type))
        else:
            found.append(CategoricalRange(name, tuple(str(v) for v in value.values)))
    return found


def _strategy(spec: TuningJobSpec) -> Strategy:
    ranges = _ranges(spec)
    if spec.strategy == "Grid":
        return GridSearch(ranges)
    if spec.strategy == "Bayesian":
        return BayesianSearch(ranges, spec.random_seed, spec.objective.type)
    if spec.strategy == "Hyperband":
        assert spec.hyperband is not None  # the spec requires it
        return HyperbandSearch(ranges, spec.random_seed, spec.hyperband.min_resource,
                               spec.hyperband.max_resource,
                               objective_type=spec.objective.type)
    return RandomSearch(ranges, spec.random_seed)


def _typed(spec: TuningJobSpec, params: Mapping[str, str]) -> dict[str, Any] | None:
    """A parent trial's hyperparameters (recorded as sent, strings) as values of this job's
    ranges, or None when they do not fit them (another name, or outside a range)."""
    if set(params) != set(spec.ranges):
        return None
    typed: dict[str, Any] = {}
    for name, value in params.items():
        kind = spec.ranges[name]
        try:
            if kind.kind == "categorical":
                if value not in [str(v) for v in kind.values]:
                    return None
                typed[name] = value
                continue
            number = int(value) if kind.kind == "integer" else float(value)
        except ValueError:
            return None
        if not kind.min_value <= number <= kind.max_value:
            return None
        typed[name] = number
    return typed


def _time(value: str | None) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(value) if value else None


class LocalTuning:
    """The ``tuning`` verbs of the local backend."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.store = backend.store
        self._threads: dict[str, threading.Thread] = {}
        with self.store.transaction() as db:
            db.execute(_SCHEMA)

    def verbs(self) -> JobVerbs[TuningJobSpec, TuningJobDescription]:
        return JobVerbs("tuning", self.check, self.create, self.describe, self.exists,
                        self.names, stop=self.stop)

    def arn(self, name: str) -> str:
        from .backend import LOCAL_ACCOUNT

        return (f"arn:aws:sagemaker:{self.backend.region}:{LOCAL_ACCOUNT}:"
                f"hyper-parameter-tuning-job/{name.lower()}")

    def check(self, spec: TuningJobSpec) -> None:
        """Refuse, before anything starts, what cannot run: a training definition the local
        backend refuses, or Bayesian search without optuna."""
        self.backend.check_training_job(spec.training)
        if spec.strategy == "Bayesian":
            require_optuna()  # MissingDependencyError before anything starts

    def create(self, spec: TuningJobSpec, attached: bool = False,
               on_log: LogSink | None = None, on_progress: ProgressSink | None = None
               ) -> None:
        pid, start = identity()
        now = self.backend.clock.now().isoformat()
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM tuning_jobs WHERE name = ?",
                          (spec.name,)).fetchone():
                raise ConflictError(f"tuning job {spec.name!r} already exists; job names are "
                                    "unique")
            db.execute("INSERT INTO tuning_jobs (name, arn, status, spec, created, started, "
                       "owner_pid, owner_start) VALUES (?, ?, 'InProgress', ?, ?, ?, ?, ?)",
                       (spec.name, self.arn(spec.name), spec.model_dump_json(), now, now,
                        pid, start))
        if attached:
            self._run(spec, on_log, on_progress)
            return
        thread = threading.Thread(target=self._run, args=(spec, None, None),
                                  name=f"tuning-{spec.name}", daemon=True)
        self._threads[spec.name] = thread
        thread.start()

    def _run(self, spec: TuningJobSpec, on_log: LogSink | None,
             on_progress: ProgressSink | None) -> None:
        max_jobs = spec.max_jobs if spec.max_jobs is not None else 1_000_000
        suffix = secrets.token_hex(4)
        clock = self.backend.clock  # the session's: max_runtime and pauses read it
        deadline = (None if spec.max_runtime is None
                    else clock.monotonic() + spec.max_runtime)

        # Categorical values are searched as strings; the trial gets the value as given.
        originals = {name: {str(v): v for v in r.values} for name, r in spec.ranges.items()
                     if r.kind == "categorical"}

        def start(number: int, params: dict[str, Any]) -> str:
            job = f"{spec.name}-{number:03d}-{suffix}"
            values = {k: originals[k].get(str(v), v) if k in originals else v
                      for k, v in params.items()}
            training = spec.training.model_copy(update={
                "name": job,
                "hyperparameters": {**spec.training.hyperparameters, **values},
                "tags": {**spec.training.tags, **spec.tags}})
            self.backend.create_training_job(training, attached=False)
            if on_log is not None:
                on_log(f"[{spec.name}] started {job}: {json.dumps(params, sort_keys=True)}")
            return job

        def state(job: str) -> tuple[str, float | None]:
            described = self.backend.describe_training_job(job)
            values = {m.name: m.value for m in described.metrics}
            return described.status, values.get(spec.objective.metric_name)

        timed_out: list[bool] = []  # the loop ended at max_runtime

        def stop_requested() -> bool:
            if deadline is not None and clock.monotonic() > deadline:
                timed_out.append(True)
                return True
            row = self.store.query_one("SELECT stop_requested FROM tuning_jobs WHERE name = ?",
                                       (spec.name,))
            return row is None or bool(row["stop_requested"])

        def changed(trials: Sequence[Trial]) -> None:
            self._record(spec.name, trials)
            if on_progress is not None:
                ended = sum(1 for t in trials if t.status != "InProgress")
                on_progress(f"{ended} of {len(trials)} trials ended", ended,
                            spec.max_jobs)

        trials: list[Trial] = []
        try:
            target = (spec.completion_criteria.target_objective_value
                      if spec.completion_criteria is not None else None)
            strategy = _strategy(spec)
            self._warm_start(spec, strategy)
            trials = run_search(
                strategy, max_jobs=max_jobs, max_parallel=spec.max_parallel_jobs,
                start=start, state=state, pause=clock.sleep,
                objective_type=spec.objective.type, target=target,
                stop_requested=stop_requested, on_change=changed,
                # Looks cost a describe per running trial: more often with fewer.
                interval=min(0.1, 0.02 * spec.max_parallel_jobs),
                watch=self._watch(spec))
        except BaseException as exc:
            self._stop_trials(trials)
            self._end(spec.name, "Failed", f"the tuning loop failed: {exc}"[:1024])
            if not isinstance(exc, Exception):
                raise
            return
        stopped = any(t.status == "InProgress" for t in trials)
        self._stop_trials(trials)
        self._settle_trials(trials, state)
        self._record(spec.name, trials)
        late = bool(timed_out)
        if stopped or late or self._stop_was_requested(spec.name):
            self._end(spec.name, "Stopped", f"MaxRuntimeExceeded: the tuning job ran longer "
                      f"than max_runtime={spec.max_runtime}s" if late else None)
        elif trials and best_trial(trials, spec.objective.type) is None:
            self._end(spec.name, "Failed", "every training job failed or reported no "
                      f"value for the objective metric {spec.objective.metric_name!r}")
        else:
            self._end(spec.name, "Completed", None)

    def _warm_start(self, spec: TuningJobSpec, strategy: Strategy) -> None:
        """Tell the strategy the parents' trials that fit this job's ranges, as SageMaker
        seeds a warm start tuning job with its parents' results (a Bayesian search learns
        from them; random search has nothing to learn)."""
        if spec.warm_start is None:
            return
        for parent in spec.warm_start.parents:
            for trial in self.describe(parent).trials:
                params = _typed(spec, trial.params)
                if params is not None and trial.objective is not None and \
                        trial.status in ("Completed", "Stopped"):
                    strategy.observe(trial.job, params, trial.objective, "Completed")

    def _watch(self, spec: TuningJobSpec) -> EarlyStopping | None:
        """How the loop reads running trials' intermediate objective values (from their
        logs, with the objective's regex) and stops them: for Hyperband, and for
        ``early_stopping_type='Auto'`` with the median rule."""
        if spec.strategy != "Hyperband" and spec.early_stopping_type != "Auto":
            return None
        regex = next(m.regex for m in spec.training.metric_definitions
                     if m.name == spec.objective.metric_name)
        read = self.backend.training.read_logs
        seen: dict[str, tuple[Any, list[tuple[int, float]]]] = {}

        def values(job: str) -> list[tuple[int, float]]:
            cursor, found = seen.get(job, (None, []))
            more, cursor = read(job, cursor)
            found = found + [(len(found) + step, value)
                             for step, value in running_values(more, regex)]
            seen[job] = (cursor, found)
            return found

        def stop(job: str) -> None:
            with contextlib.suppress(MlopsKitError):
                self.backend.stop_job("training", job)

        rule = (MedianStoppingRule(spec.objective.type)
                if spec.early_stopping_type == "Auto" else None)
        return EarlyStopping(values, stop, rule)

    @staticmethod
    def _settle_trials(trials: Sequence[Trial],
                       state: Any, limit: float = 120.0) -> None:
        """Wait (at most ``limit`` seconds) for stopped trials to end, as a tuning job stays
        Stopping until its training jobs have; their final status is kept."""
        deadline = time.monotonic() + limit
        waiting = [t for t in trials if t.status == "InProgress"]
        while waiting and time.monotonic() < deadline:
            for trial in list(waiting):
                status, objective = state(trial.job)
                if status in ("Completed", "Failed", "Stopped"):
                    trial.status, trial.objective = status, objective
                    waiting.remove(trial)
            if waiting:
                time.sleep(0.1)

    def _stop_was_requested(self, name: str) -> bool:
        row = self.store.query_one("SELECT stop_requested FROM tuning_jobs WHERE name = ?",
                                   (name,))
        return row is not None and bool(row["stop_requested"])

    def _stop_trials(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            if trial.status == "InProgress":
                with contextlib.suppress(MlopsKitError):
                    self.backend.stop_job("training", trial.job)

    def _record(self, name: str, trials: Sequence[Trial]) -> None:
        data = [{"job": t.job, "params": {k: str(v) for k, v in t.params.items()},
                 "status": t.status, "objective": t.objective} for t in trials]
        with self.store.transaction() as db:
            db.execute("UPDATE tuning_jobs SET trials = ? WHERE name = ?", (dumps(data), name))

    def _end(self, name: str, status: str, reason: str | None) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE tuning_jobs SET status = ?, failure_reason = ?, ended = ? "
                       "WHERE name = ? AND status IN ('InProgress', 'Stopping')",
                       (status, reason, self.backend.clock.now().isoformat(), name))

    def _settle(self, row: Any) -> None:
        """End a job whose owner died while it ran, and stop the trials it left."""
        if row["status"] not in _ACTIVE or row["owner_pid"] is None:
            return
        thread = self._threads.get(row["name"])
        if thread is not None:
            return  # run by this process
        if running(row["owner_pid"], row["owner_start"]):
            return
        trials = [Trial(0, t["job"], {}, t["status"]) for t in json.loads(row["trials"])]
        self._stop_trials(trials)
        self._end(row["name"], "Failed", f"the process running the tuning job (pid "
                  f"{row['owner_pid']}) exited before it ended")

    def describe(self, name: str) -> TuningJobDescription:
        row = self.store.query_one("SELECT * FROM tuning_jobs WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"tuning job {name!r} does not exist on the local backend")
        self._settle(row)
        row = self.store.query_one("SELECT * FROM tuning_jobs WHERE name = ?", (name,))
        assert row is not None
        spec = TuningJobSpec.model_validate_json(row["spec"])
        trials = tuple(TrialSummary(t["job"], t["params"], t["status"], t["objective"])
                       for t in json.loads(row["trials"]))
        best = best_trial([Trial(i, t.job, {}, t.status, t.objective)
                           for i, t in enumerate(trials, 1)], spec.objective.type)
        overall = self._overall_best(spec, best)
        return TuningJobDescription(
            name=name, arn=row["arn"], status=row["status"],
            failure_reason=row["failure_reason"], strategy=spec.strategy,
            objective_metric=spec.objective.metric_name,
            objective_type=spec.objective.type,
            best_training_job=best.job if best else None,
            best_objective=best.objective if best else None, trials=trials,
            creation_time=_time(row["created"]), start_time=_time(row["started"]),
            end_time=_time(row["ended"]), tags=dict(spec.tags),
            overall_best_training_job=overall.job if overall else None,
            overall_best_objective=overall.objective if overall else None)

    def _overall_best(self, spec: TuningJobSpec, best: Trial | None) -> Trial | None:
        """A warm start job's best over its own and its parents' (``OverallBestTrainingJob``):
        None without warm start."""
        if spec.warm_start is None:
            return None
        candidates = [best] if best is not None else []
        for parent in spec.warm_start.parents:
            with contextlib.suppress(NotFoundError):
                described = self.describe(parent)
                name = described.overall_best_training_job or described.best_training_job
                value = (described.overall_best_objective
                         if described.overall_best_training_job else described.best_objective)
                if name is not None:
                    candidates.append(Trial(len(candidates) + 1, name, {}, "Completed",
                                            value))
        return best_trial(candidates, spec.objective.type)

    def exists(self, name: str) -> bool:
        return self.store.query_one("SELECT 1 FROM tuning_jobs WHERE name = ?",
                                    (name,)) is not None

    def names(self, name_contains: str | None = None) -> Sequence[str]:
        rows = self.store.query_all("SELECT name FROM tuning_jobs ORDER BY created DESC, "
                                    "rowid DESC")
        return [r["name"] for r in rows if not name_contains or name_contains in r["name"]]

    def stop(self, name: str) -> None:
        self.backend.stop_job("tuning", name)  # the loop sees stop_requested and ends it

    def join(self, name: str) -> None:
        """Wait for this process's thread running ``name`` (used by ``close``)."""
        thread = self._threads.get(name)
        if thread is not None:
            thread.join()
