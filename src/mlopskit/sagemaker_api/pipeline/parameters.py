"""Pipeline parameters and execution variables, as a definition declares and reads them.

The rules live here once: :mod:`mlopskit.pipeline`'s ``Parameter`` classes check names and
values with them, and :func:`~.checks.check_definition` checks a definition's
``Parameters`` entries (an SDK-made definition included) with the same functions.

Example:
    >>> typed_value("Float", "Threshold", 1, "default_value")
    1.0
    >>> check_parameter({"Name": "Epochs", "Type": "Integer", "DefaultValue": True})
    Traceback (most recent call last):
    ...
    mlopskit.errors.ValidationError: default_value: parameter 'Epochs' is an Integer; got bool True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import ValidationError

__all__ = [
    "EXECUTION_VARIABLE_NAMES",
    "PARAMETER_NAME",
    "PARAMETER_TYPES",
    "allowed_value",
    "check_name",
    "check_parameter",
    "typed_value",
]

# A parameter's Type -> the Python types its values take (bool is no Integer or Float).
PARAMETER_TYPES: dict[str, tuple[type, ...]] = {
    "String": (str,), "Integer": (int,), "Float": (int, float), "Boolean": (bool,)}
PARAMETER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,256}$")
# What ``{"Get": "Execution.<name>"}`` may read.
EXECUTION_VARIABLE_NAMES = frozenset({
    "StartDateTime", "CurrentDateTime", "PipelineName", "PipelineArn", "PipelineExecutionId",
    "PipelineExecutionArn"})


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def check_name(name: Any) -> str:
    """``name`` if it is a parameter name (1-256 letters, digits, ``-`` or ``_``)."""
    if not isinstance(name, str) or not PARAMETER_NAME.match(name):
        raise ValidationError(f"name: parameter name {name!r} must be 1-256 letters, "
                              "digits, '-' or '_'", field="name")
    return name


def typed_value(kind: str, name: str, value: Any, field: str) -> Any:
    """``value`` if it fits a parameter of type ``kind`` (a Float's integer as a float);
    otherwise a ValidationError naming ``field``."""
    ok = isinstance(value, PARAMETER_TYPES[kind]) and not (
        kind != "Boolean" and isinstance(value, bool))
    if not ok:
        raise ValidationError(
            f"{field}: parameter {name!r} is {_article(kind)} {kind}; got "
            f"{type(value).__name__} {value!r}", field=field)
    return float(value) if kind == "Float" else value


def allowed_value(name: str, value: Any, enum_values: Sequence[str] | None,
                  field: str) -> Any:
    """``value`` if a String parameter's ``EnumValues`` allow it (all do when None)."""
    if enum_values is not None and value not in enum_values:
        raise ValidationError(f"{field}: parameter {name!r} allows "
                              f"{', '.join(map(repr, enum_values))}; got {value!r}",
                              field=field)
    return value


def check_parameter(entry: Mapping[str, Any]) -> None:
    """Check a definition's ``Parameters`` entry of a known ``Type``: its name, and its
    ``DefaultValue`` (when given) against the type and a String's ``EnumValues``."""
    kind = entry.get("Type", "String")
    enum_values = entry.get("EnumValues") if kind == "String" else None
    allowed = list(enum_values) if enum_values is not None else None
    name = check_name(entry.get("Name"))
    default = entry.get("DefaultValue")
    if default is not None:
        allowed_value(name, typed_value(kind, name, default, "default_value"), allowed,
                      "default_value")
