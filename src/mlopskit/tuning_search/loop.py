"""The tuning loop: start trials a strategy suggests, at most ``max_parallel`` at a time,
until ``max_jobs`` have run, the strategy is exhausted, or a completion criterion holds.

It knows no backend: the caller passes how to start a trial (returning its job name), how
to read a trial's state, and how to pause between looks. A local backend runs it over its
training jobs; tests run it over functions.

Example:
    >>> from mlopskit.tuning_search import GridSearch, IntegerRange
    >>> scores = {}
    >>> def start(number, params):
    ...     scores[f"t-{number}"] = float(params["n"]) ** 2
    ...     return f"t-{number}"
    >>> trials = run_search(GridSearch([IntegerRange("n", 1, 3)]), max_jobs=5, max_parallel=2,
    ...                     start=start, state=lambda job: ("Completed", scores[job]),
    ...                     pause=lambda seconds: None)
    >>> [(t.job, t.objective) for t in trials]
    [('t-1', 1.0), ('t-2', 4.0), ('t-3', 9.0)]
    >>> best_trial(trials, "Maximize").job
    't-3'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from .hyperband import HyperbandSearch
from .stopping import MedianStoppingRule
from .strategies import ObjectiveType, Params, Strategy

__all__ = ["EarlyStopping", "Trial", "best_trial", "run_search"]

_ENDED = ("Completed", "Failed", "Stopped")


@dataclasses.dataclass
class Trial:
    """One training job the tuner started: its hyperparameters, and how it ended."""

    number: int  # 1, 2, ... in the order started
    job: str
    params: Params
    status: str = "InProgress"
    objective: float | None = None
    budget: int | None = None  # Hyperband: the intermediate values it may report
    early_stopped: bool = False  # the tuner stopped it from its intermediate values
    values: list[tuple[int, float]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class EarlyStopping:
    """How :func:`run_search` watches running trials: ``values(job)`` reads a trial's
    intermediate objective values so far (``(step, value)``, from its log), ``stop(job)``
    asks it to stop, and ``rule`` (when given) is the median stopping rule. With a
    :class:`~mlopskit.tuning_search.HyperbandSearch` the trial's budget is enforced too."""

    values: Callable[[str], Sequence[tuple[int, float]]]
    stop: Callable[[str], None]
    rule: MedianStoppingRule | None = None


def best_trial(trials: Sequence[Trial], objective_type: ObjectiveType) -> Trial | None:
    """The trial with the best objective (the first of equals) among those that completed or
    were stopped with one (early stopping and Hyperband stop trials that then count), or
    None.

    Example:
        >>> best_trial([Trial(1, "a", {}, "Completed", 0.5),
        ...             Trial(2, "b", {}, "Failed")], "Minimize").job
        'a'
    """
    scored = [t for t in trials if t.status in ("Completed", "Stopped")
              and t.objective is not None
              and math.isfinite(t.objective)]
    if not scored:
        return None
    sign = 1.0 if objective_type == "Maximize" else -1.0
    return max(scored, key=lambda t: (sign * (t.objective or 0.0), -t.number))


def _budget_value(trial: Trial) -> float | None:
    """A Hyperband trial's objective: its value at its budget's step (the last one it
    reported when it ended before that)."""
    assert trial.budget is not None
    at_budget = [value for step, value in trial.values if step == trial.budget]
    if at_budget:
        return at_budget[0]
    return trial.values[-1][1] if trial.values else None


def _watch(strategy: Strategy, trials: Sequence[Trial], running: Sequence[Trial],
           watch: EarlyStopping) -> None:
    """Read the running trials' intermediate values and stop those whose budget is spent
    or whom the median rule stops; a stopped trial's objective is fixed now."""
    full = strategy.max_resource if isinstance(strategy, HyperbandSearch) else None
    live = [t for t in running if not t.early_stopped]
    for trial in live:
        trial.values = list(watch.values(trial.job))
        # A trial with the full budget runs to its own end, so its model is saved; it
        # is stopped only if it reports more values than the budget.
        limit = None if trial.budget is None else (
            trial.budget + 1 if full is not None and trial.budget >= full else trial.budget)
        if limit is not None and len(trial.values) >= limit:
            trial.early_stopped = True
            trial.objective = _budget_value(trial)
            watch.stop(trial.job)
    if watch.rule is None:
        return
    ended = {t.job for t in trials if t.status in _ENDED and t.values}
    intermediate = {t.job: t.values for t in trials if t.values and (
        t.job in ended or (t in live and not t.early_stopped))}
    for job in watch.rule.decide(intermediate, ended):
        trial = next(t for t in live if t.job == job)
        trial.early_stopped = True
        trial.objective = trial.values[-1][1]
        watch.stop(job)


def run_search(strategy: Strategy, *, max_jobs: int, max_parallel: int,
               start: Callable[[int, Params], str],
               state: Callable[[str], tuple[str, float | None]],
               pause: Callable[[float], None],
               objective_type: ObjectiveType = "Maximize",
               target: float | None = None,
               stop_requested: Callable[[], bool] = lambda: False,
               on_change: Callable[[Sequence[Trial]], None] | None = None,
               interval: float = 0.2,
               watch: EarlyStopping | None = None) -> list[Trial]:
    """Run trials until ``max_jobs`` have started and ended, the strategy has nothing more
    to suggest, the best objective reaches ``target`` (SageMaker's
    ``TargetObjectiveMetricValue``), or ``stop_requested()``; returns every trial.

    ``start(number, params)`` starts a trial and returns its job name; ``state(job)``
    returns its status and, once it ended, its objective (None when it reported none).
    A trial that ends without an objective is told to the strategy as failed. Once the
    target is reached no trial starts and those running are waited for; after a stop
    request it returns at once, leaving the running trials (status ``InProgress``) to the
    caller.

    With ``watch``, running trials are looked at between pauses: a Hyperband trial is
    stopped once it reported its budget's number of intermediate values (its objective is
    the value at that step), and ``watch.rule`` stops trials below the median (their
    objective is their last value). Such a trial is told to the strategy as ``Stopped``
    with that objective once its job has ended.
    """
    trials: list[Trial] = []
    running: list[Trial] = []
    exhausted = False
    hyperband = strategy if isinstance(strategy, HyperbandSearch) else None
    while True:
        best = best_trial(trials, objective_type)
        reached = target is not None and best is not None and best.objective is not None \
            and (best.objective >= target if objective_type == "Maximize"
                 else best.objective <= target)
        stopping = stop_requested()
        while not (reached or stopping or exhausted) and len(running) < max_parallel \
                and len(trials) < max_jobs:
            budgets: list[int | None] = [None]
            if hyperband is not None:
                handed = hyperband.suggest_trials(1)
                suggested, budgets = [h.params for h in handed], [h.resource for h in handed]
            else:
                suggested = strategy.suggest(1)
            if not suggested:
                exhausted = not running  # a strategy may wait for results (Hyperband)
                break
            trial = Trial(len(trials) + 1, "", suggested[0], budget=budgets[0])
            trial.job = start(trial.number, trial.params)
            trials.append(trial)
            running.append(trial)
            if on_change is not None:
                on_change(trials)
        if not running or stopping:
            return trials
        pause(interval)
        if watch is not None:
            _watch(strategy, trials, running, watch)
        for trial in list(running):
            status, objective = state(trial.job)
            if status not in _ENDED:
                continue
            running.remove(trial)
            trial.status = status
            if watch is not None and trial.budget is not None and not trial.early_stopped:
                trial.values = list(watch.values(trial.job))
                objective = _budget_value(trial) if status != "Failed" else None
            trial.objective = trial.objective if trial.early_stopped else objective
            told = status if trial.objective is not None else "Failed"
            strategy.observe(trial.job, trial.params, trial.objective,
                             "Completed" if told == "Completed" else
                             ("Stopped" if told == "Stopped" else "Failed"))
            if on_change is not None:
                on_change(trials)
