"""The search strategy protocol, and the two strategies that need no model: random and grid.

A tuner drives a strategy in a loop: ``suggest(n)`` for the next hyperparameter sets to
start, then ``observe(trial_id, params, objective, status)`` for each trial that ends
(``objective`` is None when the trial reported none, for instance when it failed). A
strategy is deterministic: the same ``seed`` and the same observations give the same
suggestions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np

from mlopskit.errors import ValidationError

from .ranges import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    ParameterRange,
    ParamValue,
    check_ranges,
    from_unit,
)

__all__ = [
    "ObjectiveType",
    "Params",
    "RandomSearch",
    "GridSearch",
    "Strategy",
    "TrialStatus",
    "params_key",
]

Params: TypeAlias = "dict[str, ParamValue]"
TrialStatus: TypeAlias = Literal["Completed", "Failed", "Stopped"]
ObjectiveType: TypeAlias = Literal["Maximize", "Minimize"]


@runtime_checkable
class Strategy(Protocol):
    """What a tuner needs from a search strategy.

    Example:
        >>> isinstance(RandomSearch([IntegerRange("n", 1, 3)], seed=0), Strategy)
        True
    """

    def suggest(self, n: int) -> list[Params]:
        """Up to ``n`` hyperparameter sets to start next (fewer, or none, when the strategy
        is exhausted or waits for results)."""
        ...

    def observe(self, trial_id: str, params: Mapping[str, ParamValue],
                objective: float | None, status: TrialStatus) -> None:
        """Record how a trial ended."""
        ...


def params_key(params: Mapping[str, ParamValue]) -> tuple[tuple[str, str], ...]:
    """A hashable, order-free key for a hyperparameter set (values by ``repr``, so ``1`` and
    ``1.0`` differ, as they do for the script).

    Example:
        >>> params_key({"b": 1, "a": "x"})
        (('a', "'x'"), ('b', '1'))
    """
    return tuple(sorted((name, repr(value)) for name, value in params.items()))


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValidationError(f"suggest(n) needs an integer n >= 0, got {n!r}", field="n")


class RandomSearch:
    """Each hyperparameter drawn independently, as its range's scaling says
    (``Auto`` = ``Linear``). Observations change nothing.

    One ``numpy`` generator seeded with ``seed`` draws the values trial by trial, range by
    range, so ``suggest(1)`` three times gives what ``suggest(3)`` gives once.

    Example:
        >>> search = RandomSearch([IntegerRange("depth", 2, 8),
        ...                        CategoricalRange("booster", ("gbtree", "dart"))], seed=7)
        >>> first = search.suggest(2)
        >>> first == RandomSearch(search.ranges, seed=7).suggest(2)
        True
        >>> sorted(first[0]), type(first[0]["depth"]).__name__
        (['booster', 'depth'], 'int')
    """

    def __init__(self, ranges: Sequence[ParameterRange], seed: int | None = None) -> None:
        self.ranges = check_ranges(ranges)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def suggest(self, n: int) -> list[Params]:
        _check_n(n)
        return [{item.name: from_unit(item, float(self._rng.random())) for item in self.ranges}
                for _ in range(n)]

    def observe(self, trial_id: str, params: Mapping[str, ParamValue],
                objective: float | None, status: TrialStatus) -> None:
        """Random search learns nothing from results."""


class GridSearch:
    """Every combination of the ranges' values, in a fixed order: the ranges in the order
    given, the last varying fastest; categorical values in their order, integers ascending.

    As SageMaker's ``Grid`` strategy, the grid's size is the number of training jobs and
    continuous ranges are refused. (SageMaker itself takes categorical ranges only; an
    integer range here is enumerated value by value, whatever its scaling.)

    Example:
        >>> grid = GridSearch([CategoricalRange("kernel", ("rbf", "linear")),
        ...                    IntegerRange("degree", 2, 3)])
        >>> grid.size
        4
        >>> for params in grid.suggest(3):
        ...     print(params)
        {'kernel': 'rbf', 'degree': 2}
        {'kernel': 'rbf', 'degree': 3}
        {'kernel': 'linear', 'degree': 2}
        >>> grid.suggest(3)
        [{'kernel': 'linear', 'degree': 3}]
        >>> grid.suggest(3)
        []
        >>> GridSearch([ContinuousRange("lr", 0.01, 0.1)])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: grid search ... only; 'lr' is continuous
    """

    def __init__(self, ranges: Sequence[ParameterRange]) -> None:
        self.ranges = check_ranges(ranges)
        for item in self.ranges:
            if isinstance(item, ContinuousRange):
                raise ValidationError(
                    "grid search takes categorical and integer ranges only; "
                    f"{item.name!r} is continuous", field=item.name)
        self._axes: list[Sequence[ParamValue]] = [
            item.values if isinstance(item, CategoricalRange)
            else range(item.min_value, item.max_value + 1)
            for item in self.ranges if isinstance(item, CategoricalRange | IntegerRange)]
        self.size = math.prod(len(axis) for axis in self._axes)
        self._points: Iterator[tuple[ParamValue, ...]] = itertools.product(*self._axes)
        self.suggested = 0

    @property
    def remaining(self) -> int:
        """How many grid points have not been suggested yet."""
        return self.size - self.suggested

    def suggest(self, n: int) -> list[Params]:
        _check_n(n)
        names = [item.name for item in self.ranges]
        out = [dict(zip(names, point, strict=True))
               for point in itertools.islice(self._points, n)]
        self.suggested += len(out)
        return out

    def observe(self, trial_id: str, params: Mapping[str, ParamValue],
                objective: float | None, status: TrialStatus) -> None:
        """A grid is fixed in advance; results change nothing."""
