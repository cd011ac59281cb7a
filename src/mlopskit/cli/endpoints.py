"""``mlopskit endpoints``: realtime and serverless endpoints, through
:class:`~mlopskit.Endpoint`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ._args import action, check_name, command_group
from ._output import emit, table, when

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``endpoints list|show|invoke|delete`` to the ``mlopskit`` parser."""
    verbs = command_group(commands, "endpoints", "realtime and serverless endpoints")
    action(verbs, "list", "endpoints and their status")
    action(verbs, "show", "an endpoint's variants, weights and capture", "name:NAME")
    invoke = action(verbs, "invoke", "send one request; prints the answer's body", "name:NAME")
    body = invoke.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the request body, as text")
    body.add_argument("--file", type=Path, help="read the request body from this file")
    invoke.add_argument("--content-type", default="text/csv")
    invoke.add_argument("--accept", help="the answer's content type (default: the model's)")
    invoke.add_argument("--variant", help="send to this production variant")
    action(verbs, "delete", "delete an endpoint (its servers stop)", "name:NAME")


def _endpoint_dict(found: Any) -> dict[str, Any]:
    data: dict[str, Any] = dataclasses.asdict(found)
    return data


def run(args: argparse.Namespace, session: Session) -> None:
    """Carry out ``mlopskit endpoints ACTION`` on ``session``."""
    from ..serving.endpoint import Endpoint

    if args.action == "list":
        described = [e.describe() for e in Endpoint.list(session)]
        emit(args, [_endpoint_dict(e) for e in described], table(
            ["NAME", "STATUS", "VARIANTS", "CREATED"],
            [[e.name, e.status, ", ".join(f"{v.name} ({v.weight:g})" for v in e.variants),
              when(e.creation_time)] for e in described]) if described else "(no endpoints)")
        return
    endpoint = Endpoint(check_name(args.name, "NAME", "endpoint"), session=session)
    if args.action == "show":
        found = endpoint.describe()
        lines = [f"endpoint {found.name}: {found.status}", f"  arn       {found.arn}",
                 f"  created   {when(found.creation_time)}"]
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
        emit(args, _endpoint_dict(found), "\n".join(lines))
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
            check_name(args.variant, "--variant", "variant")
        answer = endpoint.invoke(payload, args.content_type, accept=args.accept,
                                 target_variant=args.variant)
        text = answer.body.decode(errors="replace")
        emit(args, {"body": text, "content_type": answer.content_type,
                    "variant": answer.variant}, text.rstrip("\n"))
        return
    endpoint.delete()
    emit(args, {"name": args.name, "deleted": True}, f"endpoint {args.name}: deleted")
