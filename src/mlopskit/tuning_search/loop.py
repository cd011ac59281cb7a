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

from .strategies import ObjectiveType, Params, Strategy

__all__ = ["Trial", "best_trial", "run_search"]

_ENDED = ("Completed", "Failed", "Stopped")


@dataclasses.dataclass
class Trial:
    """One training job the tuner started: its hyperparameters, and how it ended."""

    number: int  # 1, 2, ... in the order started
    job: str
    params: Params
    status: str = "InProgress"
    objective: float | None = None


def best_trial(trials: Sequence[Trial], objective_type: ObjectiveType) -> Trial | None:
    """The completed trial with the best objective (the first of equals), or None.

    Example:
        >>> best_trial([Trial(1, "a", {}, "Completed", 0.5),
        ...             Trial(2, "b", {}, "Failed")], "Minimize").job
        'a'
    """
    scored = [t for t in trials if t.status == "Completed" and t.objective is not None
              and math.isfinite(t.objective)]
    if not scored:
        return None
    sign = 1.0 if objective_type == "Maximize" else -1.0
    return max(scored, key=lambda t: (sign * (t.objective or 0.0), -t.number))


def run_search(strategy: Strategy, *, max_jobs: int, max_parallel: int,
               start: Callable[[int, Params], str],
               state: Callable[[str], tuple[str, float | None]],
               pause: Callable[[float], None],
               objective_type: ObjectiveType = "Maximize",
               target: float | None = None,
               stop_requested: Callable[[], bool] = lambda: False,
               on_change: Callable[[Sequence[Trial]], None] | None = None,
               interval: float = 0.2) -> list[Trial]:
    """Run trials until ``max_jobs`` have started and ended, the strategy has nothing more
    to suggest, the best objective reaches ``target`` (SageMaker's
    ``TargetObjectiveMetricValue``), or ``stop_requested()``; returns every trial.

    ``start(number, params)`` starts a trial and returns its job name; ``state(job)``
    returns its status and, once it ended, its objective (None when it reported none).
    A trial that ends without an objective is told to the strategy as failed. Once the
    target is reached no trial starts and those running are waited for; after a stop
    request it returns at once, leaving the running trials (status ``InProgress``) to the
    caller.
    """
    trials: list[Trial] = []
    running: list[Trial] = []
    exhausted = False
    while True:
        best = best_trial(trials, objective_type)
        reached = target is not None and best is not None and best.objective is not None \
            and (best.objective >= target if objective_type == "Maximize"
                 else best.objective <= target)
        stopping = stop_requested()
        while not (reached or stopping or exhausted) and len(running) < max_parallel \
                and len(trials) < max_jobs:
            suggested = strategy.suggest(1)
            if not suggested:
                exhausted = not running  # a strategy may wait for results (Hyperband)
                break
            trial = Trial(len(trials) + 1, "", suggested[0])
            trial.job = start(trial.number, trial.params)
            trials.append(trial)
            running.append(trial)
            if on_change is not None:
                on_change(trials)
        if not running or stopping:
            return trials
        pause(interval)
        for trial in list(running):
            status, objective = state(trial.job)
            if status not in _ENDED:
                continue
            running.remove(trial)
            trial.status = status
            trial.objective = objective
            told = status if objective is not None else "Failed"
            strategy.observe(trial.job, trial.params, objective,
                             "Completed" if told == "Completed" else
                             ("Stopped" if told == "Stopped" else "Failed"))
            if on_change is not None:
                on_change(trials)
