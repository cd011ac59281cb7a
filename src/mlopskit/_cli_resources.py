"""The resource commands of ``mlopskit``: ``jobs``, ``endpoints``, ``pipelines`` and
``doctor``.

Each command reads or acts on the session the global options pick (``--backend``,
``--root``), prints an aligned table (or JSON with ``--json``), and raises mlopskit errors
that :func:`mlopskit.cli.main` turns into exit codes: a
:class:`~mlopskit.errors.ValidationError` is a bad argument (2), anything else refused
(not found, conflict, a failed execution) is 1.

Example:
    >>> print(_table(["NAME", "STATUS"], [["train-1", "Completed"]]))
    NAME     STATUS
    train-1  Completed
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ValidationError
from .specs._common import NAME_PATTERN, PIPELINE_NAME_PATTERN

__all__ = ["add_resource_commands", "run_resource_command"]

JOB_TYPES = ("training", "processing", "transform")
JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")

# SageMaker's name rules, checked here so a malformed name is a bad argument (exit 2), not
# a "not found" (exit 1): jobs, endpoints and variants take 63 characters, pipelines 256.
_NAME, _PIPELINE_NAME = NAME_PATTERN, PIPELINE_NAME_PATTERN
_EXECUTION_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:pipeline/"
                            r"[a-zA-Z0-9-]{1,256}/execution/[a-zA-Z0-9]{1,256}$")


def _check_name(value: str, argument: str, what: str) -> str:
    """``value`` if it is a valid ``what`` name, else a ValidationError naming ``argument``.

    Example:
        >>> _check_name("train-1", "NAME", "job")
        'train-1'
    """
    long = what == "pipeline"
    if not (_PIPELINE_NAME if long else _NAME).match(value):
        raise ValidationError(
            f"{argument}: {value!r} is not a valid {what} name (1-{256 if long else 63} "
            "letters, digits and hyphens, starting and ending with a letter or digit)",
            field=argument.lstrip("-").lower())
    return value


# -- output -------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r]
                                           for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) if i < len(headers) - 1 else cell
                       for i, cell in enumerate(row)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=_json_default))
    else:
        print(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _when(value: _dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _seconds(start: _dt.datetime | None, end: _dt.datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def _took(start: _dt.datetime | None, end: _dt.datetime | None) -> str:
    seconds = _seconds(start, end)
    return "-" if seconds is None else f"{seconds:.1f} s"


def _description_dict(description: Any) -> dict[str, Any]:
    """A job description as JSON-ready data; environment values are never printed (they
    may hold secrets), only their names."""
    data = dataclasses.asdict(description)
    data.pop("raw", None)
    if isinstance(data.get("environment"), dict):
        data["environment"] = sorted(data["environment"])
    return data


# -- parsers ------------------------------------------------------------------------------


def add_resource_commands(commands: Any) -> None:
    """Add ``jobs``, ``endpoints`` and ``pipelines`` to the ``mlopskit`` parser."""
    jobs = commands.add_parser("jobs", help="training, processing and transform jobs")
    verbs = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)
    listed = verbs.add_parser("list", help="jobs, oldest first")
    listed.add_argument("--type", choices=JOB_TYPES, dest="job_type",
                        help="only this kind (default: all)")
    listed.add_argument("--status", help="only jobs in this status, e.g. Completed, Failed")
    listed.add_argument("--limit", type=int, help="only the newest N")
    listed.add_argument("--json", action="store_true")
    for name, text in (("show", "one job in full"), ("logs", "a job's log lines"),
                       ("stop", "stop a running job")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("name", metavar="NAME")
        verb.add_argument("--type", choices=JOB_TYPES, dest="job_type",
                          help="the job's kind (default: found by name)")
        if name != "logs":
            verb.add_argument("--json", action="store_true")

    endpoints = commands.add_parser("endpoints", help="realtime and serverless endpoints")
    verbs = endpoints.add_subparsers(dest="action", metavar="ACTION", required=True)
    verbs.add_parser("list", help="endpoints and their status").add_argument(
        "--json", action="store_true")
    show = verbs.add_parser("show", help="an endpoint's variants, weights and capture")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true")
    invoke = verbs.add_parser("invoke", help="send one request; prints the answer's body")
    invoke.add_argument("name", metavar="NAME")
    body = invoke.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the request body, as text")
    body.add_argument("--file", type=Path, help="read the request body from this file")
    invoke.add_argument("--content-type", default="text/csv")
    invoke.add_argument("--accept", help="the answer's content type (default: the model's)")
    invoke.add_argument("--variant", help="send to this production variant")
    invoke.add_argument("--json", action="store_true")
    delete = verbs.add_parser("delete", help="delete an endpoint (its servers stop)")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--json", action="store_true")

    pipelines = commands.add_parser("pipelines", help="pipelines and their executions")
    verbs = pipelines.add_subparsers(dest="action", metavar="ACTION", required=True)
    verbs.add_parser("list", help="upserted pipelines").add_argument(
        "--json", action="store_true")
    run = verbs.add_parser("run", help="start an execution of an upserted pipeline")
    run.add_argument("name", metavar="NAME")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a parameter override, typed as the pipeline declares it "
                          "(repeatable)")
    run.add_argument("--wait", action="store_true",
                     help="wait for the end (always so on the local backend)")
    run.add_argument("--json", action="store_true")
    executions = verbs.add_parser("executions", help="a pipeline's executions, newest first")
    executions.add_argument("name", metavar="NAME")
    executions.add_argument("--json", action="store_true")
    steps = verbs.add_parser("steps", help="an execution's steps")
    steps.add_argument("execution_arn", metavar="EXECUTION_ARN")
    steps.add_argument("--json", action="store_true")

    doctor = commands.add_parser(
        "doctor", help="check the local store; settle what dead processes left running",
        description="Run SQLite's integrity check on metadata.db, describe every job and "
                    "pipeline execution still running (which fails those whose process "
                    "died and stops what they left), then check mlopskit's invariants. "
                    "Exit 0 when all is well, 1 when problems remain. Local backend only.")
    doctor.add_argument("--json", action="store_true")


def run_resource_command(args: argparse.Namespace, session: Any) -> None:
    """Carry out ``args`` (from :func:`add_resource_commands`) on ``session``."""
    {"jobs": _jobs, "endpoints": _endpoints, "pipelines": _pipelines,
     "doctor": _doctor}[args.command](args, session)


# -- jobs ---------------------------------------------------------------------------------


def _describe(session: Any, kind: str, name: str) -> Any:
    backend = session.backend
    if kind == "training":
        return backend.describe_training_job(name)
    if kind == "processing":
        return backend.describe_processing_job(name)
    from .serving.endpoint import _serving

    return _serving(session).describe_transform_job(name)


def _names(session: Any, kind: str) -> list[str]:
    backend = session.backend
    if kind == "training":
        return list(backend.list_training_jobs())
    if kind == "processing":
        return list(backend.list_processing_jobs())
    from .serving.endpoint import _serving

    return list(_serving(session).list_transform_jobs())


def _find_job(session: Any, name: str, kind: str | None) -> tuple[str, Any]:
    from .errors import NotFoundError

    for candidate in ([kind] if kind else JOB_TYPES):
        try:
            return candidate, _describe(session, candidate, name)
        except NotFoundError:
            continue
    where = f"{kind} job" if kind else "training, processing or transform job"
    raise NotFoundError(f"no {where} is named {name!r}")


def _job_row(kind: str, job: Any) -> dict[str, Any]:
    return {"name": job.name, "type": kind, "status": job.status,
            "created": job.creation_time,
            "duration_seconds": _seconds(job.start_time, job.end_time),
            "failure_reason": job.failure_reason}


def _jobs(args: argparse.Namespace, session: Any) -> None:
    if args.action == "list":
        if args.limit is not None and args.limit < 1:
            raise ValidationError(f"--limit: a positive number, got {args.limit}",
                                  field="limit")
        if args.status and args.status.lower() not in {s.lower() for s in JOB_STATUSES}:
            raise ValidationError(f"--status: one of {', '.join(JOB_STATUSES)}, got "
                                  f"{args.status!r}", field="status")
        rows = [_job_row(kind, _describe(session, kind, name))
                for kind in ([args.job_type] if args.job_type else JOB_TYPES)
                for name in _names(session, kind)]
        if args.status:
            rows = [r for r in rows if r["status"].lower() == args.status.lower()]
        rows.sort(key=lambda r: (r["created"] is None, r["created"] or 0, r["name"]))
        if args.limit:
            rows = rows[-args.limit:]
        _emit(args, rows, _table(
            ["NAME", "TYPE", "STATUS", "CREATED", "DURATION"],
            [[r["name"], r["type"], r["status"], _when(r["created"]),
              "-" if r["duration_seconds"] is None else f"{r['duration_seconds']:.1f} s"]
             for r in rows]) if rows else "(no jobs)")
        return
    kind, job = _find_job(session, _check_name(args.name, "NAME", "job"), args.job_type)
    if args.action == "show":
        data = {"type": kind, **_description_dict(job)}
        lines = [f"{kind} job {job.name}: {job.status}",
                 f"  created   {_when(job.creation_time)}",
                 f"  ran       {_when(job.start_time)} -> {_when(job.end_time)} "
                 f"({_took(job.start_time, job.end_time)})"]
        if job.failure_reason:
            lines.append(f"  failure   {job.failure_reason}")
        for label, field in (("model", "model_data"), ("output", "output_path")):
            if getattr(job, field, None):
                lines.append(f"  {label:<9} {getattr(job, field)}")
        for output, uri in sorted((getattr(job, "outputs", None) or {}).items()
                                  if isinstance(getattr(job, "outputs", None), dict) else ()):
            lines.append(f"  output    {output}: {uri}")
        for metric in getattr(job, "metrics", ()) or ():
            lines.append(f"  metric    {metric.name} = {metric.value:g}")
        _emit(args, data, "\n".join(lines))
        return
    if kind == "transform":
        raise ValidationError(f"--type: {args.action} works on training and processing jobs; "
                              f"{args.name!r} is a transform job", field="type")
    if args.action == "logs":
        read = (session.backend.read_training_logs if kind == "training"
                else session.backend.read_processing_logs)
        cursor: Any = None
        while True:
            lines, cursor = read(args.name, cursor)
            if not lines:
                break
            sys.stdout.write("".join(line if line.endswith("\n") else line + "\n"
                                     for line in lines))
        return
    stop = (session.backend.stop_training_job if kind == "training"
            else session.backend.stop_processing_job)
    stop(args.name)
    now = _describe(session, kind, args.name)
    _emit(args, {"name": args.name, "type": kind, "status": now.status},
          f"{kind} job {args.name}: {now.status}")


# -- endpoints ----------------------------------------------------------------------------


def _endpoint_dict(found: Any) -> dict[str, Any]:
    data: dict[str, Any] = dataclasses.asdict(found)
    return data


def _endpoints(args: argparse.Namespace, session: Any) -> None:
    from .serving.endpoint import Endpoint

    if args.action == "list":
        described = [e.describe() for e in Endpoint.list(session)]
        _emit(args, [_endpoint_dict(e) for e in described], _table(
            ["NAME", "STATUS", "VARIANTS", "CREATED"],
            [[e.name, e.status, ", ".join(f"{v.name} ({v.weight:g})" for v in e.variants),
              _when(e.creation_time)] for e in described]) if described else "(no endpoints)")
        return
    endpoint = Endpoint(_check_name(args.name, "NAME", "endpoint"), session=session)
    if args.action == "show":
        found = endpoint.describe()
        lines = [f"endpoint {found.name}: {found.status}", f"  arn       {found.arn}",
                 f"  created   {_when(found.creation_time)}"]
        if found.failure_reason:
            lines.append(f"  failure   {found.failure_reason}")
        total = sum(v.weight for v in found.variants) or 1.0
        for v in found.variants:
            size = (f"serverless {v.serverless.memory_size_mb} MB" if v.serverless
                    else f"{v.instance_count} x {v.instance_type}")
            lines.append(f"  variant   {v.name}: {v.weight / total:.0%} of traffic, {size}, "
                         f"model {v.model_name}")
        if found.data_capture is not None:
            lines.append(f"  capture   {found.data_capture.sampling_percent}% to "
                         f"{found.data_capture.destination_s3_uri}")
        _emit(args, _endpoint_dict(found), "\n".join(lines))
        return
    if args.action == "invoke":
        if args.file is not None:
            if not args.file.is_file():
                raise ValidationError(f"--file: {str(args.file)!r} is not a file",
                                      field="file")
            payload = args.file.read_bytes()
        else:
            payload = args.body.encode()
        if args.variant is not None:
            _check_name(args.variant, "--variant", "variant")
        answer = endpoint.invoke(payload, args.content_type, accept=args.accept,
                                 target_variant=args.variant)
        text = answer.body.decode(errors="replace")
        _emit(args, {"body": text, "content_type": answer.content_type,
                     "variant": answer.variant}, text.rstrip("\n"))
        return
    endpoint.delete()
    _emit(args, {"name": args.name, "deleted": True}, f"endpoint {args.name}: deleted")


# -- pipelines ----------------------------------------------------------------------------


def _typed_parameters(definition: dict[str, Any], pairs: Sequence[str], name: str
                      ) -> dict[str, Any]:
    """``NAME=VALUE`` strings typed as the definition declares each parameter."""
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


def _pipelines(args: argparse.Namespace, session: Any) -> None:
    from .backends.base import Capability
    from .pipeline.execution import PipelineExecution, pipeline_engine

    engine = pipeline_engine(session)
    if args.action == "list":
        names = engine.list_pipelines()
        _emit(args, names, "\n".join(names) if names else "(no pipelines)")
        return
    if args.action == "steps":
        if not _EXECUTION_ARN.match(args.execution_arn):
            raise ValidationError(
                f"EXECUTION_ARN: {args.execution_arn!r} is not a pipeline execution ARN "
                "(arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME/execution/ID; `mlopskit "
                "pipelines executions NAME` lists them)", field="execution_arn")
        steps = engine.list_execution_steps(args.execution_arn)
        from ._display import environment_names  # a step's properties hold its request

        _emit(args, [environment_names(dataclasses.asdict(s)) for s in steps], _table(
            ["STEP", "TYPE", "STATUS", "DURATION", "CACHE", "REASON"],
            [[s.name, s.type, s.status, _took(s.start_time, s.end_time),
              "hit" if s.cache_hit else "-", s.failure_reason] for s in steps]))
        return
    _check_name(args.name, "NAME", "pipeline")
    if args.action == "executions":
        engine.describe_pipeline(args.name)  # NotFoundError for an unknown pipeline
        records = [engine.describe_execution(arn) for arn in engine.list_executions(args.name)]
        _emit(args, [_execution_dict(r) for r in records], _table(
            ["EXECUTION", "STATUS", "STARTED", "DURATION"],
            [[r.arn, r.status, _when(r.creation_time), _took(r.creation_time, r.end_time)]
             for r in records]) if records else f"(pipeline {args.name} has no executions)")
        return
    from .pipeline import Pipeline

    definition_text = engine.describe_pipeline(args.name)["PipelineDefinition"]
    definition = json.loads(definition_text)
    overrides = _typed_parameters(definition, args.param, args.name)
    pipeline = Pipeline.from_definition(definition_text, name=args.name, session=session)
    execution = pipeline.start(overrides)
    # An execution run in this process (locally) ends with it: always wait for it there.
    if args.wait or Capability.IN_PROCESS_WAIT in session.backend.capabilities:
        execution = PipelineExecution(execution.arn, session)
        try:
            execution.wait()
        finally:
            record = engine.describe_execution(execution.arn)
    else:
        record = engine.describe_execution(execution.arn)
    _emit(args, _execution_dict(record), f"{record.arn}: {record.status}"
          + (f" ({record.failure_reason})" if record.failure_reason else ""))


# -- doctor -------------------------------------------------------------------------------


def _doctor(args: argparse.Namespace, session: Any) -> None:
    from .backends.base import Capability
    from .errors import MlopsKitError

    if Capability.STORE_CHECK not in session.backend.capabilities:
        raise ValidationError("--backend: doctor checks the local backend's store (SageMaker "
                              "keeps its own state); drop --backend aws", field="backend")
    report = session.backend.check_store()
    lines = [f"root {report.root}",
             "metadata.db: " + ("integrity ok" if not report.integrity else "DAMAGED")]
    lines += [f"  integrity: {line}" for line in report.integrity]
    lines += [f"settled: {line}" for line in report.settled]
    lines += [f"problem: {line}" for line in report.problems]
    lines += [f"leftover: {path} (an interrupted upload's temporary file)"
              for path in report.leftovers]
    count = len(report.integrity) + len(report.problems)
    lines.append("ok" if report.ok else f"{count} problem{'s' if count != 1 else ''}")
    _emit(args, report.to_dict(), "\n".join(lines))
    if not report.ok:
        raise MlopsKitError(f"the store at {report.root} has {count} problem"
                            f"{'s' if count != 1 else ''} (listed above)")
