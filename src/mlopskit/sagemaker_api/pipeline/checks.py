"""Checks on a compiled definition, before anything runs.

They read the JSON (not the Python objects), so a definition made by the official SDK and
loaded with ``Pipeline.from_definition`` gets the same checks as one built here.
"""

from __future__ import annotations

import functools
import graphlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...errors import ValidationError
from .parameters import EXECUTION_VARIABLE_NAMES, PARAMETER_TYPES, check_parameter

__all__ = ["DefinitionInfo", "check_definition", "property_path", "step_dependencies"]

VERSION = "2020-12-01"
STEP_TYPES = ("Training", "Processing", "Transform", "Model", "RegisterModel", "Condition",
              "Fail", "Lambda", "Callback", "Tuning", "QualityCheck", "ClarifyCheck", "EMR",
              "AutoML", "CreateModel")
# The describe call whose response a step's properties come from.
DESCRIBE_OPERATIONS = {
    "Training": "DescribeTrainingJob", "Processing": "DescribeProcessingJob",
    "Transform": "DescribeTransformJob", "Model": "DescribeModel",
    "CreateModel": "DescribeModel", "RegisterModel": "DescribeModelPackage",
    "Tuning": "DescribeHyperParameterTuningJob",
}
# Responses whose top-level fields a step's properties also have: a tuning step's
# TrainingJobSummaries (its trials, best first) are ListTrainingJobsFor...'s.
EXTRA_PROPERTY_OPERATIONS = {
    "Tuning": ("ListTrainingJobsForHyperParameterTuningJob",),
}
# The API whose request a step's Arguments is, and the name field the pipeline fills in.
CREATE_OPERATIONS = {
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Transform": ("CreateTransformJob", "TransformJobName"),
    "Model": ("CreateModel", "ModelName"),
    "RegisterModel": ("CreateModelPackage", None),
    "Tuning": ("CreateHyperParameterTuningJob", "HyperParameterTuningJobName"),
}
ORDERING = ("GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo")
_PATH_PART = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


@dataclass
class DefinitionInfo:
    """What the checks learnt: every step (branches included), by name, and the DAG."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)  # branch step -> condition step
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    graph: dict[str, set[str]] = field(default_factory=dict)  # step -> steps it waits for
    order: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def _sagemaker_model() -> Any:
    """botocore's SageMaker service model, loaded once (it is a large JSON file)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _fail(message: str, field: str) -> ValidationError:
    return ValidationError(message, field=field)


def _walk_steps(steps: Any, where: str, parent: str | None,
                info: DefinitionInfo) -> None:
    if not isinstance(steps, list):
        raise _fail(f"{where}: a list of steps", where)
    for index, step in enumerate(steps):
        label = f"{where}[{index}]"
        if not isinstance(step, dict):
            raise _fail(f"{label}: each step is an object with Name, Type and Arguments", label)
        name = step.get("Name")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9\-_]{1,64}$", name):
            raise _fail(f"{label}.Name: {name!r} is not a step name (1-64 letters, digits, "
                        "'-', '_')", f"{label}.Name")
        if name in info.steps:
            raise _fail(f"Steps: two steps are named {name!r}; step names are unique "
                        "(branches of condition steps included)", "Steps")
        kind = step.get("Type")
        if kind not in STEP_TYPES:
            raise _fail(f"{name}.Type: {kind!r} is not a step type; allowed: "
                        f"{', '.join(STEP_TYPES)}", f"{name}.Type")
        info.steps[name] = step
        if parent is not None:
            info.parents[name] = parent
        if kind == "Condition":
            arguments = step.get("Arguments") or {}
            _walk_steps(arguments.get("IfSteps") or [], f"{name}.IfSteps", name, info)
            _walk_steps(arguments.get("ElseSteps") or [], f"{name}.ElseSteps", name, info)


def _gets(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(``Get`` path, where it is) for every reference in ``value``."""
    if isinstance(value, dict):
        if "Get" in value and len(value) == 1:
            if not isinstance(value["Get"], str):
                raise _fail(f"{where}: Get takes a string path", where)
            yield value["Get"], where
            return
        for key, inner in value.items():
            if key in ("IfSteps", "ElseSteps"):
                continue  # the branch steps are checked as steps of their own
            yield from _gets(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _gets(inner, f"{where}[{index}]")


def property_path(path: str, where: str) -> list[str | int]:
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _PATH_PART.match(path, position)
        if match is None or match.end() == position:
            raise _fail(f"{where}: cannot read the property path {path!r} at "
                        f"{path[position:]!r}", where)
        name, index, key1, key2 = match.groups()
        parts.append(name if name is not None else int(index) if index is not None
                     else key1 if key1 is not None else key2)
        position = match.end()
    return parts


def _check_shape(step: str, kind: str, parts: list[str | int], where: str) -> None:
    """The property path must exist in the describe response of the step's type."""
    operation = DESCRIBE_OPERATIONS.get(kind)
    if operation is None:
        raise _fail(f"{where}: step {step!r} is a {kind} step, which has no properties",
                    where)
    model = _sagemaker_model()
    shape: Any = model.operation_model(operation).output_shape
    for extra in EXTRA_PROPERTY_OPERATIONS.get(kind, ()):
        other: Any = model.operation_model(extra).output_shape
        if parts and parts[0] not in shape.members and parts[0] in other.members:
            operation, shape = extra, other
    walked = ""
    for part in parts:
        if shape.type_name == "structure":
            if not isinstance(part, str) or part not in shape.members:
                known = ", ".join(sorted(shape.members)[:12])
                raise _fail(f"{where}: {operation} has no {walked + str(part)!r}; "
                            f"{walked or 'its top level'} has {known}...", where)
            shape = shape.members[part]
        elif shape.type_name == "list":
            shape = shape.member  # by index, or by name (Outputs['train'])
        elif shape.type_name == "map":
            shape = shape.value
        else:
            raise _fail(f"{where}: {walked.rstrip('.')!r} of {operation} is a "
                        f"{shape.type_name}; it has no {part!r}", where)
        walked += f"{part}."


def _check_reference(path: str, where: str, info: DefinitionInfo,
                     owner: str) -> str | None:
    """Check one ``Get`` path; returns the step it reads from, if any."""
    head, _, rest = path.partition(".")
    if head == "Parameters":
        if rest not in info.parameters:
            raise _fail(f"{where}: parameter {rest!r} is not declared; declared: "
                        f"{', '.join(info.parameters) or 'none'}", where)
        return None
    if head == "Execution":
        if rest not in EXECUTION_VARIABLE_NAMES:
            raise _fail(f"{where}: {rest!r} is not an execution variable; allowed: "
                        f"{', '.join(sorted(EXECUTION_VARIABLE_NAMES))}", where)
        return None
    if head == "Steps":
        step, _, field_path = rest.partition(".")
        if step not in info.steps:
            raise _fail(f"{where}: step {step!r} is not in this pipeline", where)
        if step == owner:
            raise _fail(f"{where}: step {owner!r} reads its own properties", where)
        if not field_path:
            raise _fail(f"{where}: name a field of step {step!r}", where)
        target = info.steps[step]
        if field_path.startswith("PropertyFiles."):
            wanted = field_path.removeprefix("PropertyFiles.")
            declared = [p.get("PropertyFileName") for p in target.get("PropertyFiles") or ()]
            if wanted not in declared:
                raise _fail(f"{where}: step {step!r} declares no property file {wanted!r}; "
                            f"it declares {', '.join(map(str, declared)) or 'none'}", where)
            return step
        _check_shape(step, str(target.get("Type")), property_path(field_path, where), where)
        return step
    raise _fail(f"{where}: {path!r} is not a reference; a Get reads Parameters.<name>, "
                "Execution.<variable> or Steps.<step>.<field>", where)


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in (
        "Get", "Std:Join", "Std:JsonGet")


def typed_placeholders(value: Any, shape: Any) -> Any:
    """``value`` with each expression replaced by a value of the type ``shape`` expects."""
    if _is_expression(value):
        return {"string": "placeholder", "integer": 1, "long": 1, "float": 1.0,
                "double": 1.0, "boolean": True, "timestamp": "2026-01-01T00:00:00Z",
                "list": [], "map": {}, "structure": {}}.get(shape.type_name, "placeholder")
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: typed_placeholders(v, shape.members[k]) if k in shape.members else v
                for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [typed_placeholders(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: typed_placeholders(v, shape.value) for k, v in value.items()}
    return value


def check_arguments(name: str, step: dict[str, Any]) -> None:
    """A step's Arguments must be a valid request of its API (botocore's own validation),
    with expressions standing for values of the right type."""
    kind = step.get("Type")
    if kind not in CREATE_OPERATIONS:
        return
    operation, name_field = CREATE_OPERATIONS[str(kind)]
    from botocore.validate import ParamValidator

    shape = _sagemaker_model().operation_model(operation).input_shape
    assert shape is not None
    arguments = step.get("Arguments")
    if not isinstance(arguments, dict):
        raise _fail(f"{name}.Arguments: the {operation} request, as an object",
                    f"{name}.Arguments")
    request = typed_placeholders(arguments, shape)
    if name_field is not None:
        request.setdefault(name_field, "placeholder")
    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        problems = " ".join(report.generate_report().split())
        raise _fail(f"{name}.Arguments: not a valid {operation} request: {problems}",
                    f"{name}.Arguments")


def _check_conditions(conditions: Any, where: str, info: DefinitionInfo) -> None:
    for index, condition in enumerate(conditions or ()):
        label = f"{where}[{index}]"
        kind = condition.get("Type")
        if kind in ORDERING:
            for side in ("LeftValue", "RightValue"):
                value = condition.get(side)
                if isinstance(value, bool) or (isinstance(value, str)
                                               and not _numeric_text(value)):
                    raise _fail(f"{label}.{side}: {kind} compares numbers; got {value!r}",
                                f"{label}.{side}")
                if isinstance(value, dict) and set(value) == {"Get"}:
                    target = str(value["Get"])
                    if target.startswith("Parameters."):
                        declared = info.parameters.get(target.removeprefix("Parameters."), {})
                        if declared.get("Type") in ("String", "Boolean"):
                            raise _fail(f"{label}.{side}: {kind} compares numbers; parameter "
                                        f"{target.removeprefix('Parameters.')!r} is a "
                                        f"{declared['Type']}", f"{label}.{side}")
        elif kind == "Not":
            _check_conditions([condition.get("Expression")], f"{label}.Expression", info)
        elif kind == "Or":
            _check_conditions(condition.get("Conditions"), f"{label}.Conditions", info)


def _numeric_text(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def check_definition(definition: Any) -> DefinitionInfo:
    """Check ``definition`` (parsed JSON); raise ValidationError naming the first problem."""
    if not isinstance(definition, dict):
        raise _fail("definition: a JSON object with Version, Parameters and Steps",
                    "definition")
    if definition.get("Version") != VERSION:
        raise _fail(f"Version: {definition.get('Version')!r}; this format is {VERSION!r}",
                    "Version")
    info = DefinitionInfo()
    for index, parameter in enumerate(definition.get("Parameters") or ()):
        label = f"Parameters[{index}]"
        if not isinstance(parameter, dict) or not isinstance(parameter.get("Name"), str):
            raise _fail(f"{label}: each parameter is an object with Name and Type", label)
        name = parameter["Name"]
        if name in info.parameters:
            raise _fail(f"Parameters: two parameters are named {name!r}", "Parameters")
        kind = parameter.get("Type", "String")
        if kind not in PARAMETER_TYPES:
            raise _fail(f"{label}.Type: {kind!r}; allowed: {', '.join(PARAMETER_TYPES)}",
                        f"{label}.Type")
        if "DefaultValue" in parameter:
            check_parameter(parameter)  # the default must fit the type
        info.parameters[name] = parameter
    steps = definition.get("Steps")
    if not steps:
        raise _fail("Steps: a pipeline needs at least one step", "Steps")
    _walk_steps(steps, "Steps", None, info)

    for name, step in info.steps.items():
        waits: set[str] = set()
        for dependency in step.get("DependsOn") or ():
            if dependency not in info.steps:
                raise _fail(f"{name}.DependsOn: step {dependency!r} is not in this pipeline",
                            f"{name}.DependsOn")
            if dependency == name:
                raise _fail(f"{name}.DependsOn: a step cannot depend on itself",
                            f"{name}.DependsOn")
            waits.add(dependency)
        for path, where in _gets(step.get("Arguments"), f"{name}.Arguments"):
            source = _check_reference(path, where, info, name)
            if source is not None:
                waits.add(source)
        for key in ("PropertyFiles",):
            for index, entry in enumerate(step.get(key) or ()):
                if step.get("Type") != "Processing":
                    raise _fail(f"{name}.PropertyFiles: only processing steps write property "
                                "files", f"{name}.PropertyFiles")
                outputs = [o.get("OutputName") for o in ((step.get("Arguments") or {}).get(
                    "ProcessingOutputConfig") or {}).get("Outputs") or ()]
                if entry.get("OutputName") not in outputs:
                    raise _fail(f"{name}.PropertyFiles[{index}]: output "
                                f"{entry.get('OutputName')!r} is not one of the step's "
                                f"outputs ({', '.join(map(str, outputs)) or 'none'})",
                                f"{name}.PropertyFiles[{index}]")
        check_arguments(name, step)
        if step.get("Type") == "Condition":
            _check_conditions((step.get("Arguments") or {}).get("Conditions"),
                              f"{name}.Conditions", info)
        if name in info.parents:
            waits.add(info.parents[name])
        info.graph[name] = waits

    # A branch step waits for its condition; it must not be needed by steps outside it
    # that do not also wait for the condition (they could run before the branch is chosen).
    sorter = graphlib.TopologicalSorter(info.graph)
    try:
        info.order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        raise _fail(f"Steps: the steps form a cycle: {' -> '.join(reversed(cycle))}; a "
                    "pipeline is a DAG", "Steps") from None
    return info


def step_dependencies(info: DefinitionInfo) -> dict[str, set[str]]:
    """Each step and the steps it waits for (references, DependsOn, its condition)."""
    return {name: set(waits) for name, waits in info.graph.items()}
