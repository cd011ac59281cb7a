"""Helpers for calling user functions: matching arguments by name, wrapping their errors."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from . import _mapping

__all__ = ["ArgSpec", "error_wrapper", "getargspec", "matching_args"]

R = TypeVar("R")


class ArgSpec(NamedTuple):
    """A function's positional parameter names, ``*args`` and ``**kwargs`` names and defaults
    (the shape of the ``inspect.ArgSpec`` that Python 3.11 removed)."""

    args: list[str]
    varargs: str | None
    keywords: str | None
    defaults: tuple[Any, ...] | None


def getargspec(fn: Callable[..., Any]) -> ArgSpec:
    """The :class:`ArgSpec` of ``fn``.

    >>> getargspec(lambda a, b=1, *rest, **extra: None)
    ArgSpec(args=['a', 'b'], varargs='rest', keywords='extra', defaults=(1,))
    """
    spec = inspect.getfullargspec(fn)
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)


def matching_args(fn: Callable[..., Any], dictionary: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``dictionary`` that ``fn`` takes as arguments (all of them when ``fn``
    has ``**kwargs``).

    >>> def train(model_dir, epochs=1): ...
    >>> matching_args(train, {"model_dir": "/m", "epochs": 2, "other": 0})
    {'model_dir': '/m', 'epochs': 2}
    """
    spec = getargspec(fn)
    if spec.keywords:
        return dict(dictionary)
    return _mapping.split_by_criteria(dictionary, spec.args).included


def error_wrapper(fn: Callable[..., R], error_class: type[Exception]) -> Callable[..., R]:
    """``fn`` with any exception it raises re-raised as ``error_class(exception)``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise error_class(error) from error

    return wrapper
