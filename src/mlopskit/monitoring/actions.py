"""What a monitor does when a run finds violations: log, call a function, start a pipeline.

Actions run in the order given, after the run's reports are written. An action that fails
is recorded on the run (``MonitoringRun.actions``) and does not stop the next one, so one
broken hook never hides a violation. Actions a schedule keeps must be storable: a function
is stored as ``"module:qualified_name"`` and imported again when the scheduler runs it.

Example:
    >>> StartPipeline("retrain", parameters={"Epochs": 3}).to_dict()
    {'type': 'StartPipeline', 'pipeline_name': 'retrain', 'parameters': {'Epochs': 3}, \
'workers': 2}
    >>> action_from_dict({"type": "LogViolations", "level": "ERROR"})
    LogViolations(level='ERROR')
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    from ..session import Session
    from .monitor import MonitoringRun

__all__ = ["Action", "CallFunction", "LogViolations", "StartPipeline", "action_from_dict",
           "check_actions"]

logger = logging.getLogger("mlopskit.monitoring")

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclasses.dataclass(frozen=True)
class LogViolations:
    """Log one line per violation on the ``mlopskit.monitoring`` logger.

    Example:
        >>> LogViolations(level="ERROR").to_dict()
        {'type': 'LogViolations', 'level': 'ERROR'}
        >>> LogViolations(level="LOUD")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: level: 'LOUD' is not one of DEBUG, INFO, WARNING, ...
    """

    level: str = "WARNING"

    def __post_init__(self) -> None:
        if self.level not in _LEVELS:
            raise ValidationError(f"level: {self.level!r} is not one of {', '.join(_LEVELS)}",
                                  field="level")

    def __call__(self, run: MonitoringRun, session: Session) -> str:
        level = getattr(logging, self.level)
        for violation in run.violations:
            logger.log(level, "%s: %s on %s: %s", run.monitor_name,
                       violation.get("constraint_check_type"), violation.get("feature_name"),
                       violation.get("description"))
        return f"logged {len(run.violations)} violation(s) at {self.level}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "LogViolations", "level": self.level}


def _function_path(function: Callable[..., Any]) -> str | None:
    """``module:qualname`` when importing it gives back the same object, else None."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        return f"{module}:{qualname}" if _import(f"{module}:{qualname}") is function else None
    except (ImportError, AttributeError, ValueError):
        return None


def _import(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise ValueError(f"{path!r} is not 'module:name'")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


@dataclasses.dataclass(frozen=True)
class CallFunction:
    """Call ``function(run)``; its return value (if any) is recorded as text.

    ``function`` is a callable or a ``"module:name"`` string. Schedules keep only the
    string form: pass a module-level function (lambdas and closures work with ``run()``).

    Example:
        >>> import json
        >>> CallFunction(json.dumps).to_dict()  # stored as "module:name"
        {'type': 'CallFunction', 'function': 'json:dumps'}
        >>> CallFunction(lambda run: "paged").to_dict()
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: on_violation: <function <lambda> ...> cannot be stored ...
    """

    function: Callable[..., Any] | str

    def __post_init__(self) -> None:
        if isinstance(self.function, str):
            if ":" not in self.function:
                raise ValidationError(f"function: {self.function!r} must be 'module:name'",
                                      field="function")
        elif not callable(self.function):
            raise ValidationError(f"function: expected a callable or 'module:name', got "
                                  f"{type(self.function).__name__}", field="function")

    def __call__(self, run: MonitoringRun, session: Session) -> str:
        target = self.function
        if isinstance(target, str):
            try:
                target = _import(target)
            except (ImportError, AttributeError, ValueError) as exc:
                raise ValidationError(f"function: cannot import {self.function!r}: {exc}",
                                      field="function") from None
        result = target(run)
        return "called" if result is None else str(result)

    def to_dict(self) -> dict[str, Any]:
        path = self.function if isinstance(self.function, str) else \
            _function_path(self.function)
        if path is None:
            raise ValidationError(
                f"on_violation: {self.function!r} cannot be stored with a schedule (a lambda, "
                "closure or __main__ function cannot be imported again); pass a module-level "
                "function or its 'module:name'", field="on_violation")
        return {"type": "CallFunction", "function": path}


@dataclasses.dataclass(frozen=True)
class StartPipeline:
    """Start an execution of the upserted pipeline ``pipeline_name`` with ``parameters``.

    The run is handed to the pipeline as nothing more than those parameters: put what the
    retraining needs (data location, the quality bar to beat) there.

    Example:
        >>> action = StartPipeline("churn-retrain", {"InputDataUrl": "s3://my-bucket/fresh/"})
        >>> action.pipeline_name, dict(action.parameters), action.workers
        ('churn-retrain', {'InputDataUrl': 's3://my-bucket/fresh/'}, 2)
        >>> StartPipeline("churn retrain")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: pipeline_name: 'churn retrain' is not a pipeline name ...
    """

    pipeline_name: str
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    workers: int = 2

    def __post_init__(self) -> None:
        from ..pipeline.pipeline import PIPELINE_NAME

        if not isinstance(self.pipeline_name, str) or not PIPELINE_NAME.match(
                self.pipeline_name):
            raise ValidationError(f"pipeline_name: {self.pipeline_name!r} is not a pipeline "
                                  "name (letters, digits and hyphens, up to 256)",
                                  field="pipeline_name")
        if not isinstance(self.parameters, Mapping):
            raise ValidationError("parameters: expected a mapping of parameter name to value",
                                  field="parameters")
        try:
            json.dumps(dict(self.parameters))
        except (TypeError, ValueError):
            raise ValidationError("parameters: values must be strings, numbers or booleans",
                                  field="parameters") from None
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or \
                self.workers < 1:
            raise ValidationError(f"workers: a positive integer, got {self.workers!r}",
                                  field="workers")

    def __call__(self, run: MonitoringRun, session: Session) -> str:
        from ..pipeline import Pipeline
        from ..pipeline.execution import pipeline_engine

        definition = pipeline_engine(session).describe_pipeline(self.pipeline_name)
        pipeline = Pipeline.from_definition(definition["PipelineDefinition"],
                                            name=self.pipeline_name, session=session)
        execution = pipeline.start(dict(self.parameters), workers=self.workers)
        return execution.arn

    def to_dict(self) -> dict[str, Any]:
        return {"type": "StartPipeline", "pipeline_name": self.pipeline_name,
                "parameters": dict(self.parameters), "workers": self.workers}


Action = LogViolations | CallFunction | StartPipeline


def check_actions(actions: Any) -> tuple[Action, ...]:
    """``on_violation`` as a tuple of actions: one action, a callable, or a list of them."""
    if actions is None:
        return ()
    items = list(actions) if isinstance(actions, (list, tuple)) else [actions]
    checked: list[Action] = []
    for index, item in enumerate(items):
        if isinstance(item, (LogViolations, CallFunction, StartPipeline)):
            checked.append(item)
        elif callable(item):
            checked.append(CallFunction(item))
        else:
            raise ValidationError(
                f"on_violation[{index}]: expected LogViolations, CallFunction, StartPipeline "
                f"or a callable, got {type(item).__name__}", field=f"on_violation[{index}]")
    return tuple(checked)


def action_from_dict(data: Mapping[str, Any]) -> Action:
    """The action a schedule stored with ``to_dict()``."""
    kind = data.get("type")
    fields = {k: v for k, v in data.items() if k != "type"}
    if kind == "LogViolations":
        return LogViolations(**fields)
    if kind == "CallFunction":
        return CallFunction(**fields)
    if kind == "StartPipeline":
        return StartPipeline(**fields)
    raise ValidationError(f"on_violation: unknown action type {kind!r}; allowed: "
                          "LogViolations, CallFunction, StartPipeline", field="on_violation")
