"""Bayesian search: optuna's TPE sampler, driven through its ask/tell interface.

optuna is imported when a :class:`BayesianSearch` is built, not before; without it the
constructor raises :class:`mlopskit.errors.MissingDependencyError` naming the extra
(``pip install 'mlopskit[tuning]'``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlopskit.errors import MissingDependencyError, ValidationError

from .ranges import (
    CategoricalRange,
    ContinuousRange,
    ParameterRange,
    ParamValue,
    check_ranges,
    effective_scaling,
)
from .strategies import ObjectiveType, Params, TrialStatus, _check_n, params_key

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

__all__ = ["BayesianSearch", "require_optuna"]


def require_optuna() -> Any:
    """The optuna module, or a MissingDependencyError naming ``mlopskit[tuning]`` (a
    tuner calls it before anything starts).

    Example:
        >>> require_optuna().__name__
        'optuna'
    """
    try:
        import optuna
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Bayesian search needs optuna: pip install 'mlopskit[tuning]'",
            extra="tuning") from err
    return optuna


class BayesianSearch:
    """Tree-structured Parzen Estimator search (``optuna.samplers.TPESampler``, seeded with
    ``seed``) on an in-memory study that maximizes or minimizes the objective.

    Scaling: ``Logarithmic`` is sampled with ``log=True``; ``ReverseLogarithmic`` samples
    ``1 - x`` with ``log=True`` (so ``log(1 - x)`` is what the model sees) and returns
    ``x``; ``Auto`` is ``Linear`` (our choice: predictable, and the same as the other
    strategies; set ``Logarithmic`` for ranges spanning decades).

    Results: ``Completed`` trials, and ``Stopped`` ones that reported an objective (early
    stopped trials, whose last value SageMaker also reports), are told as complete with
    their objective; the rest as failed, which the sampler ignores. Observing a set this
    search never suggested (a warm start, a trial of another strategy) adds it to the
    study as a finished trial.

    Same seed and same observations in the same order give the same suggestions.

    Example:
        >>> from mlopskit.tuning_search import ContinuousRange
        >>> search = BayesianSearch([ContinuousRange("x", -1.0, 1.0)], seed=0,
        ...                         objective_type="Minimize")
        >>> for i in range(12):
        ...     [params] = search.suggest(1)
        ...     search.observe(f"t{i}", params, params["x"] ** 2, "Completed")
        >>> abs(search.best_params()["x"]) < 0.5
        True
    """

    def __init__(self, ranges: Sequence[ParameterRange], seed: int | None = None,
                 objective_type: ObjectiveType = "Maximize", *,
                 n_startup_trials: int = 10) -> None:
        if objective_type not in ("Maximize", "Minimize"):
            raise ValidationError(
                f"objective_type must be 'Maximize' or 'Minimize', got {objective_type!r}",
                field="objective_type")
        self.ranges = check_ranges(ranges)
        self.seed = seed
        self.objective_type = objective_type
        opt = require_optuna()
        dists = opt.distributions
        self._distributions: dict[str, BaseDistribution] = {}
        for item in self.ranges:
            if isinstance(item, CategoricalRange):
                self._distributions[item.name] = dists.CategoricalDistribution(item.values)
                continue
            scaling = effective_scaling(item)
            if isinstance(item, ContinuousRange):
                if scaling == "ReverseLogarithmic":
                    # Sample y = 1 - x on a log scale; x = 1 - y.
                    self._distributions[item.name] = dists.FloatDistribution(
                        1.0 - item.max_value, 1.0 - item.min_value, log=True)
                else:
                    self._distributions[item.name] = dists.FloatDistribution(
                        item.min_value, item.max_value, log=scaling == "Logarithmic")
            else:
                self._distributions[item.name] = dists.IntDistribution(
                    item.min_value, item.max_value, log=scaling == "Logarithmic")
        sampler = opt.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
        # optuna announces every study it creates at INFO; a tuning job makes one: quiet.
        verbosity = opt.logging.get_verbosity()
        opt.logging.set_verbosity(opt.logging.WARNING)
        try:
            self._study: optuna.Study = opt.create_study(
                direction="maximize" if objective_type == "Maximize" else "minimize",
                sampler=sampler)
        finally:
            opt.logging.set_verbosity(verbosity)
        self._pending: dict[tuple[tuple[str, str], ...], list[optuna.trial.Trial]] = {}

    def _reverse(self) -> set[str]:
        return {item.name for item in self.ranges
                if isinstance(item, ContinuousRange) and item.scaling == "ReverseLogarithmic"}

    def _outward(self, internal: Mapping[str, Any]) -> Params:
        reverse = self._reverse()
        out: Params = {}
        for item in self.ranges:
            value = internal[item.name]
            if isinstance(item, CategoricalRange):
                out[item.name] = str(value)
            elif isinstance(item, ContinuousRange):
                number = 1.0 - float(value) if item.name in reverse else float(value)
                out[item.name] = min(max(number, item.min_value), item.max_value)
            else:
                out[item.name] = int(value)
        return out

    def _inward(self, params: Mapping[str, ParamValue]) -> dict[str, Any]:
        reverse = self._reverse()
        missing = [item.name for item in self.ranges if item.name not in params]
        if missing:
            raise ValidationError(f"observed params lack {', '.join(missing)}", field="params")
        return {item.name: (1.0 - float(params[item.name]) if item.name in reverse
                            else params[item.name]) for item in self.ranges}

    def suggest(self, n: int) -> list[Params]:
        _check_n(n)
        out = []
        for _ in range(n):
            trial = self._study.ask(self._distributions)
            params = self._outward(trial.params)
            self._pending.setdefault(params_key(params), []).append(trial)
            out.append(params)
        return out

    def observe(self, trial_id: str, params: Mapping[str, ParamValue],
                objective: float | None, status: TrialStatus) -> None:
        opt = require_optuna()
        state = opt.trial.TrialState
        usable = objective is not None and math.isfinite(objective) and status in (
            "Completed", "Stopped")
        waiting = self._pending.get(params_key(params))
        if waiting:
            trial = waiting.pop(0)
            if usable:
                self._study.tell(trial, objective, state=state.COMPLETE)
            else:
                self._study.tell(trial, state=state.FAIL)
            return
        if not usable:
            return  # a failure we never suggested teaches nothing
        self._study.add_trial(opt.trial.create_trial(
            params=self._inward(params), distributions=self._distributions,
            value=objective, user_attrs={"trial_id": trial_id}))

    def best_params(self) -> Params:
        """The best hyperparameters observed so far (raises ``ValueError`` before any)."""
        return self._outward(self._study.best_params)
