"""``mlopskit registry``: model package groups and versions, through
:class:`~mlopskit.ModelPackageGroup` and :class:`~mlopskit.ModelPackage`."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ._args import action, command_group
from ._output import emit_lines

if TYPE_CHECKING:
    from ..registry import ModelPackage
    from ..session import Session

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``registry groups|create|versions|show|approve|reject`` to the parser."""
    actions = command_group(commands, "registry", "model package groups and versions")
    action(actions, "groups", "list model package groups")
    action(actions, "create", "create a group (no-op when it exists)",
           "group").add_argument("--description")
    action(actions, "versions", "list a group's versions, newest first", "group").add_argument(
        "--status", help="PendingManualApproval, Approved or Rejected")
    action(actions, "show", "one version in full", "group").add_argument("version", type=int)
    for name, text in (("approve", "approve a version"), ("reject", "reject a version")):
        change = action(actions, name, text, "group")
        change.add_argument("version", type=int)
        change.add_argument("--note", required=True, help="why (kept in the audit history)")
        change.add_argument("--by", help="who (default: $MLOPSKIT_USER or the OS user)")
        if name == "approve":
            change.add_argument("--require", action="append", default=[],
                                metavar="METRIC>=VALUE",
                                help="refuse unless the metric clears the bar (repeatable)")


def _package_dict(package: ModelPackage) -> dict[str, Any]:
    model = package.model
    return {
        "group": package.group.name, "version": package.version, "arn": package.arn,
        "approval_status": package.approval_status.value, "metrics": package.metrics,
        "metadata": package.metadata, "lineage": package.lineage,
        "model": {"model_data": model.model_data, "image_uri": model.image_uri,
                  "framework": model.framework, "framework_version": model.framework_version},
        "description": package.description,
        "history": [h.to_dict() for h in package.history],
    }


def run(args: argparse.Namespace, session: Session) -> None:
    """Carry out ``mlopskit registry ACTION`` on ``session``."""
    from ..registry import MetricThreshold, ModelPackageGroup

    if args.action == "groups":
        found = ModelPackageGroup.list(session=session)
        emit_lines(args, [{"name": g.name, "description": g.description} for g in found],
                   [g.name for g in found] or ["(no groups)"])
        return
    if args.action == "create":
        group = ModelPackageGroup(args.group, args.description, session=session).create()
        emit_lines(args, {"name": group.name, "arn": group.arn},
                   [f"group {group.name}: {group.arn}"])
        return
    group = ModelPackageGroup.get(args.group, session=session)
    if args.action == "versions":
        packages = list(group.versions(status=args.status))
        rows = [f"{'VERSION':>7}  {'STATUS':<22}  METRICS"]
        rows += [f"{p.version:>7}  {p.approval_status.value:<22}  "
                 + " ".join(f"{k}={v:g}" for k, v in sorted(p.metrics.items()))
                 for p in packages]
        emit_lines(args, [_package_dict(p) for p in packages], rows)
        return
    package = group.package(args.version)
    if args.action == "approve":
        policies = [MetricThreshold.parse(text) for text in args.require]
        package.approve(by=args.by, note=args.note, policies=policies)
    elif args.action == "reject":
        package.reject(by=args.by, note=args.note)
    data = _package_dict(package)
    lines = [f"{group.name} version {package.version}: {package.approval_status.value}",
             f"  model     {data['model']['model_data']}",
             f"  metrics   {json.dumps(package.metrics, sort_keys=True)}"]
    lines += [f"  {h.at}  {h.previous or '-'} -> {h.status}  by {h.by}: {h.note}"
              for h in package.history]
    emit_lines(args, data, lines)
