"""Conditions a :class:`~mlopskit.pipeline.ConditionStep` branches on.

Operands are plain values or pipeline variables; comparisons other than ``Equals`` need
numbers (or ISO-8601 date strings) at run time.

Example:
    >>> from mlopskit.pipeline import ParameterFloat
    >>> GreaterThanOrEqualTo(0.91, ParameterFloat("Min", 0.9)).definition()
    {'Type': 'GreaterThanOrEqualTo', 'LeftValue': 0.91, 'RightValue': {'Get': 'Parameters.Min'}}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ValidationError
from .variables import PipelineVariable, expression

__all__ = [
    "Condition",
    "Equals",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "In",
    "LessThan",
    "LessThanOrEqualTo",
    "Not",
    "Or",
    "condition_from_definition",
]

COMPARISONS = ("Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan",
               "LessThanOrEqualTo")


def _operand(value: Any, field: str) -> Any:
    if isinstance(value, (PipelineVariable, str, int, float, bool)):
        return value
    raise ValidationError(f"{field}: a condition operand must be a number, string, boolean "
                          f"or pipeline variable; got {type(value).__name__}", field=field)


class Condition:
    """Base of every condition; ``definition()`` is its JSON form.

    A :class:`~mlopskit.pipeline.ConditionStep` takes a list of conditions and runs its
    ``if_steps`` when all of them hold.

    Example:
        >>> from mlopskit.pipeline import ParameterFloat
        >>> checks = [LessThan(ParameterFloat("Loss"), 0.3), Not(Equals("a", "b"))]
        >>> all(isinstance(c, Condition) for c in checks)
        True
        >>> [c.definition()["Type"] for c in checks]
        ['LessThan', 'Not']
    """

    def definition(self) -> dict[str, Any]:
        raise NotImplementedError


class _Comparison(Condition):
    def __init__(self, left: Any, right: Any) -> None:
        self.left = _operand(left, "left")
        self.right = _operand(right, "right")

    def definition(self) -> dict[str, Any]:
        return {"Type": type(self).__name__, "LeftValue": expression(self.left),
                "RightValue": expression(self.right)}


class Equals(_Comparison):
    """``left == right``.

    Example:
        >>> from mlopskit.pipeline import ParameterString
        >>> Equals(ParameterString("Stage"), "prod").definition()
        {'Type': 'Equals', 'LeftValue': {'Get': 'Parameters.Stage'}, 'RightValue': 'prod'}
    """


class GreaterThan(_Comparison):
    """``left > right``.

    Example:
        >>> from mlopskit.pipeline import JsonGet
        >>> auc = JsonGet("Evaluate", "Report", "metrics.auc.value")
        >>> GreaterThan(auc, 0.75).definition()["RightValue"]
        0.75
        >>> GreaterThan(auc, 0.75).definition()["LeftValue"]["Std:JsonGet"]["Path"]
        'metrics.auc.value'
    """


class GreaterThanOrEqualTo(_Comparison):
    """``left >= right``.

    Example:
        >>> from mlopskit.pipeline import ParameterFloat, Properties
        >>> accuracy = Properties("Train").FinalMetricDataList["acc"].Value
        >>> GreaterThanOrEqualTo(accuracy, ParameterFloat("MinAcc", 0.9)).definition()
        {'Type': 'GreaterThanOrEqualTo', \
'LeftValue': {'Get': "Steps.Train.FinalMetricDataList['acc'].Value"}, \
'RightValue': {'Get': 'Parameters.MinAcc'}}
    """


class LessThan(_Comparison):
    """``left < right``.

    Example:
        >>> from mlopskit.pipeline import ParameterFloat
        >>> LessThan(ParameterFloat("Rmse"), 4.5).definition()
        {'Type': 'LessThan', 'LeftValue': {'Get': 'Parameters.Rmse'}, 'RightValue': 4.5}
    """


class LessThanOrEqualTo(_Comparison):
    """``left <= right``.

    Example:
        >>> from mlopskit.pipeline import ParameterInteger
        >>> LessThanOrEqualTo(ParameterInteger("Rows"), 1000).definition()
        {'Type': 'LessThanOrEqualTo', 'LeftValue': {'Get': 'Parameters.Rows'}, 'RightValue': 1000}
    """


class In(Condition):
    """``value in values``.

    Example:
        >>> from mlopskit.pipeline import ParameterString
        >>> In(ParameterString("Region"), ["eu-west-1", "us-east-1"]).definition()
        {'Type': 'In', 'QueryValue': {'Get': 'Parameters.Region'}, \
'Values': ['eu-west-1', 'us-east-1']}
        >>> In("x", [])
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: values: a non-empty list of values to look in
    """

    def __init__(self, value: Any, values: Sequence[Any]) -> None:
        self.value = _operand(value, "value")
        if isinstance(values, (str, bytes)) or not values:
            raise ValidationError("values: a non-empty list of values to look in",
                                  field="values")
        self.values = [_operand(v, f"values[{i}]") for i, v in enumerate(values)]

    def definition(self) -> dict[str, Any]:
        return {"Type": "In", "QueryValue": expression(self.value),
                "Values": [expression(v) for v in self.values]}


class Not(Condition):
    """True when ``condition`` is false.

    Example:
        >>> from mlopskit.pipeline import ParameterBoolean
        >>> Not(Equals(ParameterBoolean("SkipTraining"), True)).definition()
        {'Type': 'Not', 'Expression': {'Type': 'Equals', \
'LeftValue': {'Get': 'Parameters.SkipTraining'}, 'RightValue': True}}
    """

    def __init__(self, condition: Condition) -> None:
        if not isinstance(condition, Condition):
            raise ValidationError("condition: expected a Condition", field="condition")
        self.condition = condition

    def definition(self) -> dict[str, Any]:
        return {"Type": "Not", "Expression": self.condition.definition()}


class Or(Condition):
    """True when any of ``conditions`` is.

    Example:
        >>> from mlopskit.pipeline import ParameterFloat
        >>> drift = ParameterFloat("Drift")
        >>> either = Or([GreaterThan(drift, 0.2), LessThan(drift, -0.2)])
        >>> [c["Type"] for c in either.definition()["Conditions"]]
        ['GreaterThan', 'LessThan']
    """

    def __init__(self, conditions: Sequence[Condition]) -> None:
        if not conditions or not all(isinstance(c, Condition) for c in conditions):
            raise ValidationError("conditions: a non-empty list of Conditions",
                                  field="conditions")
        self.conditions = list(conditions)

    def definition(self) -> dict[str, Any]:
        return {"Type": "Or", "Conditions": [c.definition() for c in self.conditions]}


class _Raw(Condition):
    """A condition read from a definition, kept as written."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def definition(self) -> dict[str, Any]:
        return self.data


def condition_from_definition(data: Any, field: str = "Conditions") -> Condition:
    """Check a condition's JSON form and wrap it (used by ``Pipeline.from_definition``)."""
    if not isinstance(data, dict) or "Type" not in data:
        raise ValidationError(f"{field}: each condition is an object with a Type",
                              field=field)
    kind = data["Type"]
    if kind in COMPARISONS:
        required = {"LeftValue", "RightValue"}
    elif kind == "In":
        required = {"QueryValue", "Values"}
    elif kind == "Not":
        required = {"Expression"}
        condition_from_definition(data.get("Expression"), f"{field}.Expression")
    elif kind == "Or":
        required = {"Conditions"}
        for i, inner in enumerate(data.get("Conditions") or []):
            condition_from_definition(inner, f"{field}.Conditions[{i}]")
    else:
        raise ValidationError(f"{field}: condition Type {kind!r} is not supported; allowed: "
                              f"{', '.join(COMPARISONS)}, In, Not, Or", field=field)
    missing = required - set(data)
    if missing:
        raise ValidationError(f"{field}: a {kind} condition needs {', '.join(sorted(missing))}",
                              field=field)
    return _Raw(data)
