"""Dictionaries as command-line arguments and ``SM_*`` variables, and the environment mapping.

>>> to_cmd_args({"epochs": 3, "lr": 0.1, "b": True, "opts": {"x": 1, "a": "y"}})
['-b', 'True', '--epochs', '3', '--lr', '0.1', '--opts', 'a=y,x=1']
>>> to_env_vars({"model_dir": "/opt/ml/model", "hosts": ["algo-1"], "x": None})
{'SM_MODEL_DIR': '/opt/ml/model', 'SM_HOSTS': '["algo-1"]', 'SM_X': ''}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, NamedTuple, TypeVar, overload

__all__ = ["MappingMixin", "Setting", "SplitResultSpec", "split_by_criteria", "to_cmd_args",
           "to_env_vars"]

_T = TypeVar("_T")


class SplitResultSpec(NamedTuple):
    """The two halves of :func:`split_by_criteria`."""

    included: dict[str, Any]
    excluded: dict[str, Any]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def to_env_vars(mapping: Mapping[str, Any]) -> dict[str, str]:
    """``{"SM_<KEY>": value}``: strings as they are, bytes as latin-1, ``None`` as ``""`` and
    anything else as compact JSON with sorted keys."""

    def value_text(value: object) -> str:
        if value is None or isinstance(value, (str, bytes)):
            return _text(value)
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    return {(f"SM_{str(key).upper()}" if key else ""): value_text(value)
            for key, value in mapping.items()}


def to_cmd_args(mapping: Mapping[str, Any]) -> list[str]:
    """``--key value`` pairs in key order; a one-letter key becomes ``-k``; a mapping value
    becomes ``k=v,k2=v2`` and ``None`` an empty argument."""
    args: list[str] = []
    for key in sorted(mapping):
        name = _text(key)
        flag = "" if not name else (f"-{name}" if len(name) == 1 else f"--{name}")
        value = mapping[key]
        if hasattr(value, "items"):
            text = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        else:
            text = _text(value)
        args.extend([flag, text])
    return args


def split_by_criteria(dictionary: Mapping[str, Any], keys: Iterable[str] | None = None,
                      prefix: str | None = None) -> SplitResultSpec:
    """Split ``dictionary`` into the entries whose key is in ``keys`` or starts with ``prefix``
    and the rest.

    >>> split_by_criteria({"a": 1, "sagemaker_x": 2, "b": 3}, keys=["b"], prefix="sagemaker_")
    SplitResultSpec(included={'sagemaker_x': 2, 'b': 3}, excluded={'a': 1})
    """
    wanted = set(keys or ())

    def matches(key: str) -> bool:
        return key in wanted or bool(prefix and key.startswith(prefix))

    included = {k: v for k, v in dictionary.items() if matches(k)}
    excluded = {k: v for k, v in dictionary.items() if not matches(k)}
    return SplitResultSpec(included=included, excluded=excluded)


class Setting(Generic[_T]):
    """A read-only property whose value the constructor keeps in ``_<name>``.

    >>> class Job:
    ...     hosts: Setting[list[str]] = Setting()
    ...     def __init__(self) -> None:
    ...         self._hosts = ["algo-1"]
    >>> Job().hosts
    ['algo-1']
    >>> Job().hosts = []
    Traceback (most recent call last):
    ...
    AttributeError: hosts is read-only
    """

    _name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Setting[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object, owner: type | None = None) -> _T | Setting[_T]:
        if instance is None:
            return self
        value: _T = getattr(instance, f"_{self._name}")
        return value

    def __set__(self, instance: object, value: object) -> None:
        raise AttributeError(f"{self._name} is read-only")


class MappingMixin(Mapping[str, Any]):
    """Makes an object's public properties (``property`` or :class:`Setting`) readable as a
    read-only dict (``dict(env)``)."""

    def properties(self) -> list[str]:
        """The names of the object's public properties, sorted."""
        return sorted(name for name in dir(type(self))
                      if not name.startswith("_") and self._is_property(name))

    def _is_property(self, name: str) -> bool:
        return isinstance(getattr(type(self), name, None), (property, Setting))

    def __getitem__(self, key: str) -> Any:
        if not self._is_property(key):
            raise KeyError(f"{key!r} is not a property of {type(self).__name__}")
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.properties())

    def __len__(self) -> int:
        return len(self.properties())

    def __str__(self) -> str:
        return str(dict(self))
