"""Hyperband (Li et al., 2018): random configurations run in brackets of successive
halving, each bracket trading how many configurations start against how much resource
each gets first.

The resource is what SageMaker's Hyperband calls it: the number of epochs (iterations)
a trial runs, between ``min_resource`` and ``max_resource``. With ``R = max / min`` and
``s_max`` the largest ``s`` with ``eta ** s <= R``, bracket ``s`` (from ``s_max`` down to
0) starts ``n = ceil((s_max + 1) * eta ** s / (s + 1))`` configurations at
``max_resource * eta ** -s``; at each rung the best ``floor(n_i / eta)`` go on to the
next with ``eta`` times the resource, up to ``max_resource``.

How a trial learns its budget: it does not need to. Every trial runs the script with its
hyperparameters as usual, and the tuner asks :meth:`HyperbandSearch.budget` for the
trial's resource and stops the trial once it has reported that many intermediate metric
values (:func:`mlopskit.tuning_search.running_values`); the last one is its objective for
the rung. A promoted configuration is a new trial with a larger budget (it starts again;
nothing is resumed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from mlopskit.errors import ValidationError

from .ranges import ParameterRange, ParamValue, check_ranges, from_unit
from .strategies import ObjectiveType, Params, TrialStatus, _check_n, params_key

__all__ = [
    "Bracket",
    "HyperbandSearch",
    "HyperbandTrial",
    "Rung",
    "hyperband_brackets",
    "successive_halving",
]


@dataclass(frozen=True)
class Rung:
    """``n`` configurations, each run with ``resource`` (epochs)."""

    n: int
    resource: int


@dataclass(frozen=True)
class Bracket:
    """Bracket ``s``: its rungs, from the first (most configurations) to the last."""

    s: int
    rungs: tuple[Rung, ...]

    @property
    def trials(self) -> int:
        """How many trials (training jobs) the bracket runs at most."""
        return sum(rung.n for rung in self.rungs)


def _check_resources(min_resource: int, max_resource: int, eta: int) -> None:
    for name, value in (("min_resource", min_resource), ("max_resource", max_resource),
                        ("eta", eta)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be an integer, got {value!r}", field=name)
    if not 1 <= min_resource <= max_resource:
        raise ValidationError(
            f"needs 1 <= min_resource <= max_resource, got {min_resource}, {max_resource}",
            field="min_resource")
    if eta < 2:
        raise ValidationError(f"eta must be at least 2, got {eta}", field="eta")


def hyperband_brackets(min_resource: int, max_resource: int, eta: int = 3) -> list[Bracket]:
    """Hyperband's brackets, ``s_max`` first, as the published algorithm lays them out.

    Resources are ``max_resource * eta ** (i - s)`` rounded to an integer (never below
    ``min_resource``); with ``max_resource / min_resource`` a power of ``eta`` they are
    exact.

    Example:
        >>> [[(r.n, r.resource) for r in b.rungs] for b in hyperband_brackets(1, 9)]
        [[(9, 1), (3, 3), (1, 9)], [(5, 3), (1, 9)], [(3, 9)]]
    """
    _check_resources(min_resource, max_resource, eta)
    s_max = 0
    while min_resource * eta ** (s_max + 1) <= max_resource:
        s_max += 1
    brackets = []
    for s in range(s_max, -1, -1):
        n = -(-(s_max + 1) * eta ** s // (s + 1))  # ceil without floats
        rungs = []
        for i in range(s + 1):
            resource = round(Fraction(max_resource) * Fraction(eta) ** (i - s))
            rungs.append(Rung(n // eta ** i, max(resource, min_resource)))
        brackets.append(Bracket(s, tuple(rungs)))
    return brackets


def successive_halving(results: Mapping[str, float | None], keep: int,
                       objective_type: ObjectiveType = "Maximize") -> list[str]:
    """The ``keep`` best trials of a rung, best first: the ones that go on. Trials without
    an objective (failed) never go on; ties go to the smaller trial id.

    Example:
        >>> successive_halving({"a": 0.3, "b": 0.9, "c": None, "d": 0.5}, keep=2)
        ['b', 'd']
        >>> successive_halving({"a": 0.3, "b": 0.9, "d": 0.5}, keep=1, objective_type="Minimize")
        ['a']
    """
    if objective_type not in ("Maximize", "Minimize"):
        raise ValidationError(
            f"objective_type must be 'Maximize' or 'Minimize', got {objective_type!r}",
            field="objective_type")
    sign = -1.0 if objective_type == "Maximize" else 1.0
    scored = sorted((sign * value, name) for name, value in results.items() if value is not None)
    return [name for _, name in scored[:max(keep, 0)]]


@dataclass(frozen=True)
class HyperbandTrial:
    """One suggestion: the hyperparameters, the resource to run them for, and where it
    sits (bracket ``s``, rung index, and the configuration's id within the search)."""

    params: Params
    resource: int
    bracket: int
    rung: int
    config: str


class HyperbandSearch:
    """Hyperband over random configurations (drawn as :class:`RandomSearch` draws them).

    Rungs run one after another: ``suggest`` hands out the current rung's trials and then
    returns ``[]`` until every one of them is observed; the next call promotes the best
    (:func:`successive_halving`) to the next rung, or opens the next bracket. When the last
    bracket is done, ``done`` is True. Use :meth:`suggest_trials` (or :meth:`budget`) to
    learn each trial's resource.

    Example:
        >>> from mlopskit.tuning_search import ContinuousRange
        >>> search = HyperbandSearch([ContinuousRange("x", 0.0, 1.0)], seed=1,
        ...                          min_resource=1, max_resource=9)
        >>> first = search.suggest_trials(20)
        >>> len(first), first[0].resource, search.suggest(1)
        (9, 1, [])
        >>> for t in first:
        ...     search.observe(t.config, t.params, t.params["x"], "Completed")
        >>> [t.resource for t in search.suggest_trials(20)]
        [3, 3, 3]
    """

    def __init__(self, ranges: Sequence[ParameterRange], seed: int | None = None,
                 min_resource: int = 1, max_resource: int = 81, eta: int = 3,
                 objective_type: ObjectiveType = "Maximize") -> None:
        self.ranges = check_ranges(ranges)
        self.brackets = hyperband_brackets(min_resource, max_resource, eta)
        self.max_resource = max_resource
        if objective_type not in ("Maximize", "Minimize"):
            raise ValidationError(
                f"objective_type must be 'Maximize' or 'Minimize', got {objective_type!r}",
                field="objective_type")
        self.objective_type = objective_type
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._bracket = -1
        self._rung = 0
        self._configs: dict[str, Params] = {}
        self._queue: list[HyperbandTrial] = []
        self._outstanding: list[HyperbandTrial] = []
        self._results: dict[str, float | None] = {}
        self._next_bracket()

    @property
    def total_trials(self) -> int:
        """The most trials the whole search runs (fewer if failures end a bracket early)."""
        return sum(bracket.trials for bracket in self.brackets)

    @property
    def done(self) -> bool:
        """True once the last bracket has finished."""
        return self._bracket >= len(self.brackets)

    def _start_rung(self, configs: Sequence[str]) -> None:
        bracket = self.brackets[self._bracket]
        resource = bracket.rungs[self._rung].resource
        self._queue = [HyperbandTrial(dict(self._configs[c]), resource, bracket.s,
                                      self._rung, c) for c in configs]
        self._results = {}

    def _next_bracket(self) -> None:
        self._bracket += 1
        self._rung = 0
        if self.done:
            self._queue = []
            return
        bracket = self.brackets[self._bracket]
        configs = []
        for j in range(bracket.rungs[0].n):
            name = f"b{bracket.s}-c{j}"
            self._configs[name] = {item.name: from_unit(item, float(self._rng.random()))
                                   for item in self.ranges}
            configs.append(name)
        self._start_rung(configs)

    def _advance(self) -> None:
        """The rung is complete: promote its best to the next rung, or move on."""
        bracket = self.brackets[self._bracket]
        if self._rung + 1 < len(bracket.rungs):
            keep = bracket.rungs[self._rung + 1].n
            going_on = successive_halving(self._results, keep, self.objective_type)
            if going_on:
                self._rung += 1
                self._start_rung(going_on)
                return
        self._next_bracket()

    def suggest_trials(self, n: int) -> list[HyperbandTrial]:
        """Up to ``n`` trials of the current rung, with their resource."""
        _check_n(n)
        while not self.done and not self._queue and not self._outstanding:
            self._advance()
        handed, self._queue = self._queue[:n], self._queue[n:]
        self._outstanding.extend(handed)
        return handed

    def suggest(self, n: int) -> list[Params]:
        return [trial.params for trial in self.suggest_trials(n)]

    def budget(self, params: Mapping[str, ParamValue]) -> int:
        """The resource of the oldest suggested, not yet observed trial with these
        hyperparameters (``LookupError`` if there is none)."""
        key = params_key(params)
        for trial in self._outstanding:
            if params_key(trial.params) == key:
                return trial.resource
        raise LookupError(f"no outstanding Hyperband trial has the hyperparameters {params!r}")

    def observe(self, trial_id: str, params: Mapping[str, ParamValue],
                objective: float | None, status: TrialStatus) -> None:
        """Record the objective of a trial at its budget; a set that matches no outstanding
        trial is ignored (Hyperband only ranks its own configurations)."""
        key = params_key(params)
        for index, trial in enumerate(self._outstanding):
            if params_key(trial.params) == key:
                del self._outstanding[index]
                self._results[trial.config] = objective if status != "Failed" else None
                return
