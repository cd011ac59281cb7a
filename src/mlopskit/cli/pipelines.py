"""``mlopskit pipelines``: upserted pipelines and their executions, through
:class:`~mlopskit.Pipeline` and its executions' handles; listing and describing pipelines,
which no public object does, through the session's pipeline protocol
(``session.backend.pipelines``)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ._args import action, check_name, command_group
from ._output import emit, table, took, when

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["add_parser", "run"]

_EXECUTION_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:pipeline/"
                            r"[a-zA-Z0-9-]{1,256}/execution/[a-zA-Z0-9]{1,256}$")


def add_parser(commands: Any) -> None:
    """Add ``pipelines list|run|executions|steps`` to the ``mlopskit`` parser."""
    verbs = command_group(commands, "pipelines", "pipelines and their executions")
    action(verbs, "list", "upserted pipelines")
    start = action(verbs, "run", "start an execution of an upserted pipeline", "name:NAME")
    start.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter override, typed as the pipeline declares it "
                            "(repeatable)")
    start.add_argument("--wait", action="store_true",
                       help="wait for the end (always so on the local backend)")
    action(verbs, "executions", "a pipeline's executions, newest first", "name:NAME")
    action(verbs, "steps", "an execution's steps", "execution_arn:EXECUTION_ARN")


def typed_parameters(definition: dict[str, Any], pairs: Sequence[str], name: str
                     ) -> dict[str, Any]:
    """``NAME=VALUE`` strings typed as the definition declares each parameter.

    Example:
        >>> declared = {"Parameters": [{"Name": "Rows", "Type": "Integer"}]}
        >>> typed_parameters(declared, ["Rows=5000"], "nightly")
        {'Rows': 5000}
    """
    declared = {p["Name"]: p.get("Type", "String") for p in definition.get("Parameters", [])}
    typed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValidationError(f"--param: expected NAME=VALUE, got {pair!r}", field="param")
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ValidationError(f"--param {key}: pipeline {name!r} has no such parameter; "
                                  f"it has: {known}", field=f"param.{key}")
        kind = declared[key]
        try:
            if kind == "Integer":
                typed[key] = int(text)
            elif kind == "Float":
                typed[key] = float(text)
            elif kind == "Boolean":
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                typed[key] = text.lower() == "true"
            else:
                typed[key] = text
        except ValueError:
            raise ValidationError(f"--param {key}: expected {'an' if kind == 'Integer' else 'a'}"
                                  f" {kind}, got {text!r}", field=f"param.{key}") from None
    return typed


def _execution_dict(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)


def run(args: argparse.Namespace, session: Session) -> None:
    """Carry out ``mlopskit pipelines ACTION`` on ``session``."""
    from ..pipeline.execution import PipelineExecution

    if args.action == "list":
        names = session.backend.pipelines.list_pipelines()
        emit(args, names, "\n".join(names) if names else "(no pipelines)")
        return
    if args.action == "steps":
        if not _EXECUTION_ARN.match(args.execution_arn):
            raise ValidationError(
                f"EXECUTION_ARN: {args.execution_arn!r} is not a pipeline execution ARN "
                "(arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME/execution/ID; `mlopskit "
                "pipelines executions NAME` lists them)", field="execution_arn")
        steps = PipelineExecution(args.execution_arn, session).steps()
        from .._display import environment_names  # a step's properties hold its request

        emit(args, [environment_names(dataclasses.asdict(s)) for s in steps], table(
            ["STEP", "TYPE", "STATUS", "DURATION", "CACHE", "REASON"],
            [[s.name, s.type, s.status, took(s.start_time, s.end_time),
              "hit" if s.cache_hit else "-", s.failure_reason] for s in steps]))
        return
    check_name(args.name, "NAME", "pipeline")
    from ..pipeline import Pipeline

    # NotFoundError for a pipeline that was never upserted; its definition otherwise.
    described = session.backend.pipelines.describe_pipeline(args.name)
    if args.action == "executions":
        records = [e.describe() for e in Pipeline(args.name, session=session).executions()]
        emit(args, [_execution_dict(r) for r in records], table(
            ["EXECUTION", "STATUS", "STARTED", "DURATION"],
            [[r.arn, r.status, when(r.creation_time), took(r.creation_time, r.end_time)]
             for r in records]) if records else f"(pipeline {args.name} has no executions)")
        return
    from ..plugins import Capability

    definition_text = described["PipelineDefinition"]
    overrides = typed_parameters(json.loads(definition_text), args.param, args.name)
    pipeline = Pipeline.from_definition(definition_text, name=args.name, session=session)
    execution = pipeline.start(overrides)
    # An execution run in this process (locally) ends with it: always wait for it there.
    if args.wait or Capability.IN_PROCESS_WAIT in session.backend.capabilities:
        try:
            execution.wait()
        finally:
            record = execution.describe()
    else:
        record = execution.describe()
    emit(args, _execution_dict(record), f"{record.arn}: {record.status}"
         + (f" ({record.failure_reason})" if record.failure_reason else ""))
