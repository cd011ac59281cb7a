"""Hyperparameter ranges and warm start for tuning jobs, spelled as in the SageMaker SDK.

Each object checks its arguments when it is made (a
:class:`~mlopskit.errors.ValidationError` naming the field and what is allowed) and gives
the spec a tuning job is built from with :meth:`spec`. Importing this module is light: it
needs pydantic, never boto3 or pandas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from .specs._common import build
from .specs.tuning import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    WarmStartSpec,
)

__all__ = ["CategoricalParameter", "ContinuousParameter", "IntegerParameter",
           "WarmStartConfig"]


SpecT = TypeVar("SpecT")
NumberT = TypeVar("NumberT", int, float)


class _Settings(Generic[SpecT]):
    """A validated spec shown as SDK-style attributes (``spec()`` gives the spec itself);
    equal when the specs are. ``_shown`` lists the attributes, ``_keywords`` how many of
    the last ones the repr spells as keywords."""

    _shown: ClassVar[tuple[str, ...]]
    _keywords: ClassVar[int] = 0

    def spec(self) -> SpecT:
        """The validated spec a tuning job is built from.

        Example:
            >>> ContinuousParameter(0.1, 0.2).spec().kind, IntegerParameter(1, 9).spec().kind
            ('continuous', 'integer')
        """
        return self._spec

    def _keep(self, spec: SpecT) -> None:
        self._spec = spec
        for name in self._shown:
            value = getattr(spec, name)
            setattr(self, name, list(value) if isinstance(value, tuple) else value)

    def __repr__(self) -> str:
        cut = len(self._shown) - self._keywords
        parts = [repr(getattr(self, name)) for name in self._shown[:cut]]
        parts += [f"{name}={getattr(self, name)!r}" for name in self._shown[cut:]]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._spec == self._spec

    def __hash__(self) -> int:
        return hash(self._spec)


class _Bounds(_Settings[SpecT], Generic[SpecT, NumberT]):
    """A numeric range: ``min_value``, ``max_value`` and ``scaling_type``."""

    _shown = ("min_value", "max_value", "scaling_type")
    _keywords = 1
    min_value: NumberT
    max_value: NumberT
    scaling_type: str


class ContinuousParameter(_Bounds[ContinuousRange, float]):
    """A range of real values to search: ``min_value`` to ``max_value``.

    ``scaling_type`` is ``"Auto"`` (SageMaker chooses), ``"Linear"``, ``"Logarithmic"``
    (``min_value > 0``) or ``"ReverseLogarithmic"`` (``0 <= min_value``, ``max_value < 1``).

    Example:
        >>> from mlopskit.tuning import ContinuousParameter
        >>> ContinuousParameter(0.001, 0.1, scaling_type="Logarithmic")
        ContinuousParameter(0.001, 0.1, scaling_type='Logarithmic')
        >>> ContinuousParameter(1.0, 0.5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: max_value: must be >= min_value (1.0) (got 0.5)
    """

    def __init__(self, min_value: float, max_value: float, scaling_type: str = "Auto") -> None:
        self._keep(build(ContinuousRange, min_value=min_value, max_value=max_value,
                         scaling_type=scaling_type))


class IntegerParameter(_Bounds[IntegerRange, int]):
    """A range of whole values to search: ``min_value`` to ``max_value``.

    ``scaling_type`` is ``"Auto"``, ``"Linear"`` or ``"Logarithmic"`` (``min_value > 0``);
    SageMaker has no reverse logarithmic scale for integers.

    Example:
        >>> from mlopskit.tuning import IntegerParameter
        >>> IntegerParameter(10, 200)
        IntegerParameter(10, 200, scaling_type='Auto')
        >>> IntegerParameter(1, 9, scaling_type="ReverseLogarithmic")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: scaling_type: ReverseLogarithmic scaling is for ...
    """

    def __init__(self, min_value: int, max_value: int, scaling_type: str = "Auto") -> None:
        self._keep(build(IntegerRange, min_value=min_value, max_value=max_value,
                         scaling_type=scaling_type))


class CategoricalParameter(_Settings[CategoricalRange]):
    """A list of values to search (1 to 30 strings, booleans or numbers, no duplicates).

    A single value is taken as a list of one, as in the SageMaker SDK.

    Example:
        >>> from mlopskit.tuning import CategoricalParameter
        >>> CategoricalParameter(["gini", "entropy"])
        CategoricalParameter(['gini', 'entropy'])
        >>> CategoricalParameter([])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: values: 0 values given; allowed: 1 to 30 (got ())
    """

    _shown = ("values",)
    values: list[Any]

    def __init__(self, values: Iterable[Any] | str | float | bool) -> None:
        items = ([values] if isinstance(values, (str, int, float, bool))
                 else list(values))
        self._keep(build(CategoricalRange, values=tuple(items)))



class WarmStartConfig(_Settings[WarmStartSpec]):
    """Start a tuning job from the results of 1 to 5 earlier ones (``parents``).

    ``type`` is ``"IdenticalDataAndAlgorithm"`` (same data and image, other ranges allowed)
    or ``"TransferLearning"`` (data, image or ranges may differ).

    Example:
        >>> from mlopskit.tuning import WarmStartConfig
        >>> WarmStartConfig(["tune-1", "tune-2"], type="TransferLearning")
        WarmStartConfig(['tune-1', 'tune-2'], type='TransferLearning')
        >>> WarmStartConfig(["tune-1"], type="Transfer")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: type: Input should be 'IdenticalDataAndAlgorithm' ...
    """

    _shown = ("parents", "type")
    _keywords = 1
    parents: list[str]
    type: str

    def __init__(self, parents: Iterable[str] | str,
                 type: str = "IdenticalDataAndAlgorithm") -> None:
        names = [parents] if isinstance(parents, str) else list(parents)
        self._keep(build(WarmStartSpec, parents=tuple(names), type=type))
