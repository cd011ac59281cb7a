"""Hyperparameter ranges, as SageMaker's ``ParameterRanges`` describe them, and how a point
of the unit interval maps onto each one.

Three kinds: :class:`ContinuousRange` (values are ``float``), :class:`IntegerRange`
(``int``) and :class:`CategoricalRange` (``str``, as SageMaker passes categorical values).
``scaling`` follows SageMaker's ``ScalingType``:

- ``Linear``: the value is uniform in ``[min_value, max_value]``.
- ``Logarithmic``: ``log(x)`` is uniform; needs ``min_value > 0``.
- ``ReverseLogarithmic``: ``log(1 - x)`` is uniform; continuous ranges only, entirely
  within ``0 <= x < 1`` (it spreads samples towards 1, for momentum-like values).
- ``Auto``: ``Linear`` in every strategy of this package (see ``BayesianSearch``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias

from mlopskit.errors import ValidationError

__all__ = [
    "SCALINGS",
    "CategoricalRange",
    "ContinuousRange",
    "IntegerRange",
    "ParamValue",
    "ParameterRange",
    "Scaling",
    "check_ranges",
    "effective_scaling",
    "from_unit",
]

Scaling: TypeAlias = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]
SCALINGS: tuple[Scaling, ...] = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
ParamValue: TypeAlias = "float | int | str"


def _check_scaling(kind: str, name: str, scaling: str, low: float, high: float) -> None:
    """Refuse a scaling the range cannot take (bounds already checked in order)."""
    if scaling not in SCALINGS:
        raise ValidationError(
            f"{kind} range {name!r}: scaling {scaling!r} is not one of {', '.join(SCALINGS)}",
            field=f"{name}.scaling")
    if scaling == "Logarithmic" and low <= 0:
        raise ValidationError(
            f"{kind} range {name!r}: Logarithmic needs min_value > 0, got {low}", field=name)
    if scaling == "ReverseLogarithmic" and kind == "integer":
        raise ValidationError(f"{kind} range {name!r}: ReverseLogarithmic is for continuous "
                              "ranges only", field=f"{name}.scaling")
    if scaling == "ReverseLogarithmic" and not (low >= 0 and high < 1):
        raise ValidationError(
            f"{kind} range {name!r}: ReverseLogarithmic needs 0 <= min_value <= max_value "
            f"< 1, got [{low}, {high}]", field=name)


@dataclass(frozen=True)
class _NumericRange:
    """What continuous and integer ranges share: a name, ordered bounds, a scaling."""

    _kind: ClassVar[str]
    _wanted: ClassVar[str]  # what the bounds must be, in messages
    name: str
    min_value: float
    max_value: float
    scaling: Scaling = "Auto"

    def _bounds_ok(self) -> bool:
        raise NotImplementedError

    def __post_init__(self) -> None:
        low, high = self.min_value, self.max_value
        if not self._bounds_ok() or low > high:
            raise ValidationError(
                f"{self._kind} range {self.name!r}: needs {self._wanted} min_value <= "
                f"max_value, got [{low!r}, {high!r}]", field=self.name)
        _check_scaling(self._kind, self.name, self.scaling, low, high)


@dataclass(frozen=True)
class ContinuousRange(_NumericRange):
    """A ``float`` hyperparameter between ``min_value`` and ``max_value`` (both included).

    Example:
        >>> ContinuousRange("learning_rate", 1e-4, 1e-1, "Logarithmic").scaling
        'Logarithmic'
        >>> ContinuousRange("momentum", 0.5, 1.0, "ReverseLogarithmic")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: ... needs 0 <= min_value <= max_value < 1, got [0.5, 1.0]
    """

    _kind = "continuous"
    _wanted = "finite"

    def _bounds_ok(self) -> bool:
        return math.isfinite(self.min_value) and math.isfinite(self.max_value)


@dataclass(frozen=True)
class IntegerRange(_NumericRange):
    """An ``int`` hyperparameter between ``min_value`` and ``max_value`` (both included).

    Example:
        >>> IntegerRange("num_round", 10, 1000, "Logarithmic").max_value
        1000
        >>> IntegerRange("depth", 1, 8, "ReverseLogarithmic")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: ... ReverseLogarithmic is for continuous ranges only
    """

    _kind = "integer"
    _wanted = "integers"
    min_value: int
    max_value: int

    def _bounds_ok(self) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool)
                   for v in (self.min_value, self.max_value))


@dataclass(frozen=True)
class CategoricalRange:
    """A hyperparameter taking one of ``values`` (strings, as SageMaker passes them).

    Example:
        >>> CategoricalRange("optimizer", ("sgd", "adam")).values
        ('sgd', 'adam')
    """

    name: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        values = tuple(self.values)
        object.__setattr__(self, "values", values)
        if not values or not all(isinstance(v, str) for v in values):
            raise ValidationError(
                f"categorical range {self.name!r}: needs at least one value, all strings, "
                f"got {values!r}", field=self.name)
        if len(set(values)) != len(values):
            raise ValidationError(
                f"categorical range {self.name!r}: values repeat: {values!r}", field=self.name)


ParameterRange: TypeAlias = "ContinuousRange | IntegerRange | CategoricalRange"


def check_ranges(ranges: Sequence[ParameterRange]) -> tuple[ParameterRange, ...]:
    """The ranges as a tuple, refusing none at all and names used twice.

    Example:
        >>> check_ranges([IntegerRange("a", 1, 2), CategoricalRange("a", ("x",))])
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: hyperparameter ranges name 'a' more than once
    """
    ranges = tuple(ranges)
    if not ranges:
        raise ValidationError("at least one hyperparameter range is needed", field="ranges")
    seen: set[str] = set()
    for item in ranges:
        if not isinstance(item, ContinuousRange | IntegerRange | CategoricalRange):
            raise ValidationError(f"not a parameter range: {item!r}", field="ranges")
        if item.name in seen:
            raise ValidationError(
                f"hyperparameter ranges name {item.name!r} more than once", field=item.name)
        seen.add(item.name)
    return ranges


def effective_scaling(item: ContinuousRange | IntegerRange) -> Scaling:
    """The scaling actually used: ``Auto`` means ``Linear``.

    Example:
        >>> effective_scaling(IntegerRange("n", 1, 9))
        'Linear'
    """
    return "Linear" if item.scaling == "Auto" else item.scaling


def from_unit(item: ParameterRange, u: float) -> ParamValue:
    """The value of ``item`` at ``u`` in ``[0, 1)``: a uniform ``u`` gives a value spread
    as the range's scaling says.

    Integer ranges cover ``[min_value - 0.5, max_value + 0.5)`` on the chosen scale and
    round, so each integer gets its fair share (on a log scale, ``log`` of that interval).

    Example:
        >>> round(from_unit(ContinuousRange("lr", 1e-4, 1.0, "Logarithmic"), 0.5), 12)
        0.01
        >>> from_unit(IntegerRange("n", 1, 3), 0.99)
        3
        >>> from_unit(CategoricalRange("c", ("a", "b")), 0.5)
        'b'
        >>> round(from_unit(ContinuousRange("m", 0.0, 0.99, "ReverseLogarithmic"), 0.5), 6)
        0.9
    """
    u = min(max(u, 0.0), math.nextafter(1.0, 0.0))
    if isinstance(item, CategoricalRange):
        return item.values[min(int(u * len(item.values)), len(item.values) - 1)]
    scaling = effective_scaling(item)
    if isinstance(item, IntegerRange):
        low, high = item.min_value - 0.5, item.max_value + 0.5
        if scaling == "Logarithmic":
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            value = low + u * (high - low)
        return min(max(round(value), item.min_value), item.max_value)
    low_f, high_f = float(item.min_value), float(item.max_value)
    if scaling == "Logarithmic":
        result = math.exp(math.log(low_f) + u * (math.log(high_f) - math.log(low_f)))
    elif scaling == "ReverseLogarithmic":
        # log(1 - x) uniform between log(1 - max) and log(1 - min).
        a, b = math.log(1.0 - high_f), math.log(1.0 - low_f)
        result = 1.0 - math.exp(b + u * (a - b))
    else:
        result = low_f + u * (high_f - low_f)
    return min(max(result, low_f), high_f)
