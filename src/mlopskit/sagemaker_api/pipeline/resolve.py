"""Run-time meaning of a definition's expressions and conditions (used by the local engine).

Pure functions over JSON: a :class:`Scope` says what parameters, execution variables, step
properties and property files hold; :func:`resolve` turns ``{"Get": ...}``,
``{"Std:Join": ...}`` and ``{"Std:JsonGet": ...}`` into values; :func:`evaluate` decides
a condition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import ValidationError
from .checks import property_path

__all__ = ["ResolutionError", "Scope", "evaluate", "render", "resolve", "walk"]

_JSON_PATH = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")


class ResolutionError(ValidationError):
    """An expression has no value in this execution (a step fails with this reason)."""


@dataclass
class Scope:
    """What an execution knows: ``properties(step)`` is the step's describe-shaped record,
    ``property_file(step, name)`` the parsed JSON of one of its property files."""

    parameters: dict[str, Any]
    execution: dict[str, Any]
    properties: Callable[[str], dict[str, Any]]
    property_file: Callable[[str, str], Any]


def _named(items: list[Any], key: str) -> Any:
    """The element of a describe list that ``key`` names (``Outputs['train']``)."""
    for item in items:
        if isinstance(item, dict) and any(
                k.endswith("Name") and v == key for k, v in item.items()):
            return item
    raise KeyError(key)


def walk(record: Any, parts: list[str | int], where: str) -> Any:
    """Follow ``parts`` (names, indexes, names of list elements) into ``record``."""
    value = record
    for part in parts:
        try:
            if isinstance(value, list):
                value = value[part] if isinstance(part, int) else _named(value, part)
            elif isinstance(value, dict):
                value = value[part]
            else:
                raise KeyError(part)
        except (KeyError, IndexError, TypeError):
            raise ResolutionError(f"{where}: no {part!r} there", field=where) from None
    return value


def render(value: Any) -> str:
    """A value as ``Std:Join`` writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _json_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _JSON_PATH.match(path, position)
        if match is None or match.end() == position:
            raise ResolutionError(f"JsonGet: cannot read the path {path!r}", field="Path")
        name, index, key = match.groups()
        parts.append(int(index) if index is not None else key if key is not None else name)
        position = match.end()
    return parts


def resolve(value: Any, scope: Scope) -> Any:
    """``value`` with every expression in it replaced by what it means in ``scope``."""
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and "Get" in value:
        return _get(str(value["Get"]), scope)
    if len(value) == 1 and "Std:Join" in value:
        join = value["Std:Join"]
        return str(join.get("On", "")).join(render(resolve(v, scope))
                                             for v in join.get("Values") or ())
    if len(value) == 1 and "Std:JsonGet" in value:
        spec = value["Std:JsonGet"]
        reference = str((spec.get("PropertyFile") or {}).get("Get", ""))
        head, step, _, name = ([*reference.split(".", 3), "", "", "", ""])[:4]
        if head != "Steps":
            raise ResolutionError(f"JsonGet: {reference!r} is not a property file reference",
                                  field="PropertyFile")
        document = scope.property_file(step, name)
        path = str(spec.get("Path", ""))
        try:
            return walk(document, _json_path(path), f"JsonGet {path!r} in {step}.{name}")
        except ResolutionError as exc:
            raise ResolutionError(f"JsonGet: property file {name!r} of step {step!r} has no "
                                  f"value at {path!r} ({exc})", field="Path") from None
    return {k: resolve(v, scope) for k, v in value.items()}


def _get(path: str, scope: Scope) -> Any:
    head, _, rest = path.partition(".")
    if head == "Parameters":
        if rest not in scope.parameters:
            raise ResolutionError(f"parameter {rest!r} has no value", field=path)
        return scope.parameters[rest]
    if head == "Execution":
        if rest not in scope.execution:
            raise ResolutionError(f"execution variable {rest!r} has no value", field=path)
        value = scope.execution[rest]
        return value() if callable(value) else value
    if head == "Steps":
        step, _, field_path = rest.partition(".")
        return walk(scope.properties(step), property_path(field_path, path),
                    f"Steps.{step}.{field_path}")
    raise ResolutionError(f"{path!r} is not a reference", field=path)


def _number(value: Any, kind: str, side: str) -> float:
    if isinstance(value, bool):
        raise ResolutionError(f"{kind}: {side} is the boolean {value}; it compares numbers",
                              field=side)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ResolutionError(f"{kind}: {side} is {value!r}, not a number; it compares "
                              "numbers", field=side) from None


def _equal(left: Any, right: Any) -> bool:
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) and not (
            isinstance(left, bool) or isinstance(right, bool)):
        return float(left) == float(right)
    return bool(left == right)


def evaluate(condition: dict[str, Any], scope: Scope) -> bool:
    """Whether ``condition`` (a definition's JSON form) holds in ``scope``."""
    kind = condition.get("Type")
    if kind == "Not":
        return not evaluate(condition["Expression"], scope)
    if kind == "Or":
        return any(evaluate(c, scope) for c in condition["Conditions"])
    if kind == "In":
        query = resolve(condition["QueryValue"], scope)
        return any(_equal(query, resolve(v, scope)) for v in condition["Values"])
    left = resolve(condition["LeftValue"], scope)
    right = resolve(condition["RightValue"], scope)
    if kind == "Equals":
        return _equal(left, right)
    a, b = _number(left, str(kind), "LeftValue"), _number(right, str(kind), "RightValue")
    if kind == "GreaterThan":
        return a > b
    if kind == "GreaterThanOrEqualTo":
        return a >= b
    if kind == "LessThan":
        return a < b
    if kind == "LessThanOrEqualTo":
        return a <= b
    raise ResolutionError(f"condition Type {kind!r} is not supported", field="Type")
