"""``mlopskit jobs``: training, processing and transform jobs.

Jobs are read and stopped through their public handles (:class:`~mlopskit.TrainingJob`,
:class:`~mlopskit.ProcessingJob`, :class:`~mlopskit.TransformJob`); a kind the backend lacks
the capability for is left out of ``jobs list`` and refused with ``--type``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from ._args import action, check_name, command_group
from ._output import emit, seconds, table, took, when

if TYPE_CHECKING:
    from ..plugins import Capability
    from ..processing import ProcessingJob
    from ..serving.transform import TransformJob
    from ..session import Session
    from ..training import TrainingJob

    Handle = TrainingJob | ProcessingJob | TransformJob

__all__ = ["JOB_STATUSES", "JOB_TYPES", "add_parser", "run"]

JOB_TYPES = ("training", "processing", "transform")
JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")


def add_parser(commands: Any) -> None:
    """Add ``jobs list|show|logs|stop`` to the ``mlopskit`` parser."""
    verbs = command_group(commands, "jobs", "training, processing and transform jobs")
    listed = action(verbs, "list", "jobs, oldest first")
    listed.add_argument("--type", choices=JOB_TYPES, dest="job_type",
                        help="only this kind (default: all)")
    listed.add_argument("--status", help="only jobs in this status, e.g. Completed, Failed")
    listed.add_argument("--limit", type=int, help="only the newest N")
    for name, text in (("show", "one job in full"), ("logs", "a job's log lines"),
                       ("stop", "stop a running job")):
        verb = action(verbs, name, text, "name:NAME", json=name != "logs")
        verb.add_argument("--type", choices=JOB_TYPES, dest="job_type",
                          help="the job's kind (default: found by name)")


def run(args: argparse.Namespace, session: Session) -> None:
    """Carry out ``mlopskit jobs ACTION`` on ``session``."""
    if args.action == "list":
        _list(args, session)
        return
    kind, job = _find_job(session, check_name(args.name, "NAME", "job"), args.job_type)
    if args.action == "show":
        _show(args, kind, job)
        return
    if kind == "transform":
        raise ValidationError(f"--type: {args.action} works on training and processing jobs; "
                              f"{args.name!r} is a transform job", field="type")
    if args.action == "logs":
        _logs(args, session, kind)
        return
    handle = _handle(session, kind, args.name)
    handle.stop()
    now = handle.describe()
    emit(args, {"name": args.name, "type": kind, "status": now.status},
         f"{kind} job {args.name}: {now.status}")


# -- reading jobs -------------------------------------------------------------------------


def _capability(kind: str) -> Capability:
    from ..plugins import Capability

    return {"training": Capability.TRAINING, "processing": Capability.PROCESSING,
            "transform": Capability.REALTIME_ENDPOINTS}[kind]


def _kinds(session: Session, wanted: str | None) -> list[str]:
    """The kinds of job to look at: ``wanted`` (refused when the backend cannot run it), or
    every kind the backend can."""
    if wanted:
        session.require(_capability(wanted), f"--type {wanted}")
        return [wanted]
    return [kind for kind in JOB_TYPES if _capability(kind) in session.backend.capabilities]


def _handle_type(kind: str) -> type[Handle]:
    if kind == "training":
        from ..training import TrainingJob

        return TrainingJob
    if kind == "processing":
        from ..processing import ProcessingJob

        return ProcessingJob
    from ..serving.transform import TransformJob

    return TransformJob


def _handle(session: Session, kind: str, name: str) -> Handle:
    return _handle_type(kind)(name, session=session)


def _names(session: Session, kind: str) -> list[str]:
    return [job.name for job in _handle_type(kind).list(session)]


def _find_job(session: Session, name: str, kind: str | None) -> tuple[str, Any]:
    """The job's kind and description: ``kind``'s, or the first kind that has ``name``."""
    for candidate in _kinds(session, kind):
        try:
            return candidate, _handle(session, candidate, name).describe()
        except NotFoundError:
            continue
    where = f"{kind} job" if kind else "training, processing or transform job"
    raise NotFoundError(f"no {where} is named {name!r}")


def _job_row(kind: str, job: Any) -> dict[str, Any]:
    return {"name": job.name, "type": kind, "status": job.status,
            "created": job.creation_time,
            "duration_seconds": seconds(job.start_time, job.end_time),
            "failure_reason": job.failure_reason}


def _description_dict(description: Any) -> dict[str, Any]:
    """A job description as JSON-ready data; environment values are never printed (they
    may hold secrets), only their names."""
    data = dataclasses.asdict(description)
    data.pop("raw", None)
    if isinstance(data.get("environment"), dict):
        data["environment"] = sorted(data["environment"])
    return data


# -- actions ------------------------------------------------------------------------------


def _list(args: argparse.Namespace, session: Session) -> None:
    if args.limit is not None and args.limit < 1:
        raise ValidationError(f"--limit: a positive number, got {args.limit}", field="limit")
    if args.status and args.status.lower() not in {s.lower() for s in JOB_STATUSES}:
        raise ValidationError(f"--status: one of {', '.join(JOB_STATUSES)}, got "
                              f"{args.status!r}", field="status")
    rows = [_job_row(kind, _handle(session, kind, name).describe())
            for kind in _kinds(session, args.job_type)
            for name in _names(session, kind)]
    if args.status:
        rows = [r for r in rows if r["status"].lower() == args.status.lower()]
    rows.sort(key=lambda r: (r["created"] is None, r["created"] or 0, r["name"]))
    if args.limit:
        rows = rows[-args.limit:]
    emit(args, rows, table(
        ["NAME", "TYPE", "STATUS", "CREATED", "DURATION"],
        [[r["name"], r["type"], r["status"], when(r["created"]),
          "-" if r["duration_seconds"] is None else f"{r['duration_seconds']:.1f} s"]
         for r in rows]) if rows else "(no jobs)")


def _show(args: argparse.Namespace, kind: str, job: Any) -> None:
    data = {"type": kind, **_description_dict(job)}
    lines = [f"{kind} job {job.name}: {job.status}",
             f"  created   {when(job.creation_time)}",
             f"  ran       {when(job.start_time)} -> {when(job.end_time)} "
             f"({took(job.start_time, job.end_time)})"]
    if job.failure_reason:
        lines.append(f"  failure   {job.failure_reason}")
    for label, field in (("model", "model_data"), ("output", "output_path")):
        if getattr(job, field, None):
            lines.append(f"  {label:<9} {getattr(job, field)}")
    outputs = getattr(job, "outputs", None)
    for output, uri in sorted(outputs.items() if isinstance(outputs, dict) else ()):
        lines.append(f"  output    {output}: {uri}")
    for metric in getattr(job, "metrics", ()) or ():
        lines.append(f"  metric    {metric.name} = {metric.value:g}")
    emit(args, data, "\n".join(lines))


def _logs(args: argparse.Namespace, session: Session, kind: str) -> None:
    """Every log line, page by page: the handles' ``logs()`` reads the first page only, so
    this reads the kind's job verbs (``session.backend.training`` / ``.processing``)."""
    from ..plugins import Capability

    session.require(Capability.TRAINING_LOGS, "mlopskit jobs logs")
    backend = session.backend
    verbs = backend.training if kind == "training" else backend.processing
    cursor: Any = None
    while True:
        lines, cursor = verbs.read_logs(args.name, cursor)
        if not lines:
            break
        sys.stdout.write("".join(line if line.endswith("\n") else line + "\n"
                                 for line in lines))
