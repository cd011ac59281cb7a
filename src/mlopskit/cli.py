"""The ``mlopskit`` command.

Exit codes: 0 done; 1 refused (not found, conflict, policy, failed job); 2 bad arguments or
invalid input. ``--json`` prints machine-readable output on stdout; errors always go to
stderr as one line.

Example:
    >>> main(["--version"])
    mlopskit 0.1.0
    0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__
from .errors import MlopsKitError, ValidationError

__all__ = ["main"]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error printed as one line naming the argument (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mlopskit", description="SageMaker-style ML workflows, locally or on AWS.")
    parser.add_argument("--version", action="store_true", dest="show_version",
                        help="print the version and exit")
    parser.add_argument("--backend", choices=("local", "aws"),
                        help="where to act (default: $MLOPSKIT_BACKEND or local)")
    parser.add_argument("--root", help="local backend folder (default: $MLOPSKIT_ROOT or "
                                       "./.mlopskit)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the end-to-end demo on the local backend (about a minute)",
        description="Make data, run a pipeline (preprocess -> train -> evaluate -> "
                    "register), approve, deploy, predict, batch transform, canary a second "
                    "version in, and print where everything is stored. Local backend only.")
    demo.add_argument("--rows", type=int, default=3000,
                      help="customers in the training data (500..200000, default 3000)")

    from ._cli_resources import add_resource_commands

    add_resource_commands(commands)

    registry = commands.add_parser("registry", help="model package groups and versions")
    actions = registry.add_subparsers(dest="action", metavar="ACTION", required=True)

    groups = actions.add_parser("groups", help="list model package groups")
    groups.add_argument("--json", action="store_true")

    create = actions.add_parser("create", help="create a group (no-op when it exists)")
    create.add_argument("group")
    create.add_argument("--description")
    create.add_argument("--json", action="store_true")

    versions = actions.add_parser("versions", help="list a group's versions, newest first")
    versions.add_argument("group")
    versions.add_argument("--status", help="PendingManualApproval, Approved or Rejected")
    versions.add_argument("--json", action="store_true")

    show = actions.add_parser("show", help="one version in full")
    show.add_argument("group")
    show.add_argument("version", type=int)
    show.add_argument("--json", action="store_true")

    for name, text in (("approve", "approve a version"), ("reject", "reject a version")):
        change = actions.add_parser(name, help=text)
        change.add_argument("group")
        change.add_argument("version", type=int)
        change.add_argument("--note", required=True, help="why (kept in the audit history)")
        change.add_argument("--by", help="who (default: $MLOPSKIT_USER or the OS user)")
        if name == "approve":
            change.add_argument("--require", action="append", default=[],
                                metavar="METRIC>=VALUE",
                                help="refuse unless the metric clears the bar (repeatable)")
        change.add_argument("--json", action="store_true")

    monitor = commands.add_parser("monitor", help="monitoring schedules and their runs")
    verbs = monitor.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = verbs.add_parser("run", help="run due schedules and approval rollouts (local)")
    run.add_argument("--once", action="store_true", help="one pass, then exit")
    run.add_argument("--poll", type=float, default=60.0, metavar="SECONDS",
                     help="seconds between passes (default 60)")
    run.add_argument("--json", action="store_true")
    listed = verbs.add_parser("list", help="monitoring schedules")
    listed.add_argument("--json", action="store_true")
    history = verbs.add_parser("history", help="a schedule's runs, oldest first")
    history.add_argument("schedule")
    history.add_argument("--json", action="store_true")
    for name, text in (("stop", "pause a schedule"), ("start", "resume a schedule"),
                       ("delete", "delete a schedule")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("schedule")
        verb.add_argument("--json", action="store_true")
    return parser


def _session(args: argparse.Namespace) -> Any:
    import os

    from .session import session_from_env

    env = dict(os.environ)
    if args.backend:
        env["MLOPSKIT_BACKEND"] = args.backend
    if args.root:
        env["MLOPSKIT_ROOT"] = args.root
    return session_from_env(env)


def _package_dict(package: Any) -> dict[str, Any]:
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


def _out(args: argparse.Namespace, data: Any, lines: Sequence[str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        for line in lines:
            print(line)


def _demo(args: argparse.Namespace) -> None:
    import importlib.util

    from .errors import MissingDependencyError

    if args.backend == "aws":
        raise ValidationError("--backend: the demo runs on the local backend only (it needs "
                              "no AWS account); drop --backend aws", field="backend")
    if not 500 <= args.rows <= 200_000:
        raise ValidationError(f"--rows: between 500 and 200000, got {args.rows}",
                              field="rows")
    for module in ("sklearn", "joblib"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"the demo trains scikit-learn models: pip install "
                                         f"'mlopskit[examples]' ({module} is missing)",
                                         extra="examples")
    from .demo import run_demo
    from .session import LocalSession

    run_demo(LocalSession(root=args.root), rows=args.rows)


def _registry(args: argparse.Namespace) -> None:
    from .registry import MetricThreshold, ModelPackageGroup

    session = _session(args)
    if args.action == "groups":
        found = ModelPackageGroup.list(session=session)
        _out(args, [{"name": g.name, "description": g.description} for g in found],
             [g.name for g in found] or ["(no groups)"])
        return
    if args.action == "create":
        group = ModelPackageGroup(args.group, args.description, session=session).create()
        _out(args, {"name": group.name, "arn": group.arn}, [f"group {group.name}: {group.arn}"])
        return
    group = ModelPackageGroup.get(args.group, session=session)
    if args.action == "versions":
        packages = list(group.versions(status=args.status))
        rows = [f"{'VERSION':>7}  {'STATUS':<22}  METRICS"]
        rows += [f"{p.version:>7}  {p.approval_status.value:<22}  "
                 + " ".join(f"{k}={v:g}" for k, v in sorted(p.metrics.items()))
                 for p in packages]
        _out(args, [_package_dict(p) for p in packages], rows)
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
    _out(args, data, lines)


def _monitor(args: argparse.Namespace) -> None:
    from .monitoring.monitor import MonitoringSchedule
    from .monitoring.scheduler import run_due, run_forever

    session = _session(args)
    if args.action == "run":
        if not args.once:
            run_forever(session, poll_seconds=args.poll)
            return
        outcome = run_due(session)
        done = [r.to_dict() for r in outcome.runs]
        rollouts = [{"trigger": r.trigger, "version": r.version, "outcome": r.outcome,
                     "at": r.at.isoformat()} for r in outcome.rollouts]
        lines = [f"{r.monitor_name}: {r.status} ({r.rows} rows, {len(r.violations)} "
                 f"violations) {r.output_uri}" for r in outcome.runs]
        lines += [f"{r.trigger}: version {r.version} {r.outcome}" for r in outcome.rollouts]
        _out(args, {"runs": done, "rollouts": rollouts}, lines or ["nothing was due"])
        return
    if args.action == "list":
        found = [s.describe() for s in MonitoringSchedule.list(session=session)]
        rows = [f"{'NAME':<40}  {'TYPE':<12}  {'STATUS':<10}  LAST RUN"]
        rows += [f"{d['name']:<40}  {d['monitor_type']:<12}  {d['status']:<10}  "
                 f"{d.get('last_status') or '-'}" for d in found]
        _out(args, found, rows)
        return
    schedule = MonitoringSchedule(args.schedule, session=session)
    if args.action == "history":
        runs = schedule.runs()
        rows = [f"{'STARTED':<32}  {'STATUS':<24}  {'ROWS':>8}  VIOLATIONS"]
        rows += [f"{r.started.isoformat():<32}  {r.status:<24}  {r.rows:>8}  "
                 + (", ".join(sorted({str(v.get('feature_name')) for v in r.violations}))
                    or "-") for r in runs]
        _out(args, [r.to_dict() for r in runs], rows)
        return
    getattr(schedule, args.action)()
    _out(args, {"schedule": args.schedule, "action": args.action},
         [f"schedule {args.schedule}: {args.action}"])


def _one_line(exc: Exception) -> str:
    """The error's message on one line (a server's traceback, several bad fields).

    Example:
        >>> _one_line(ValueError("a: bad\\n  b: worse\\n"))
        'a: bad; b: worse'
    """
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.show_version:
        print(f"mlopskit {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "demo":
            _demo(args)
        elif args.command == "registry":
            _registry(args)
        elif args.command == "monitor":
            _monitor(args)
        else:
            from ._cli_resources import run_resource_command

            run_resource_command(args, _session(args))
        sys.stdout.flush()  # a closed pipe shows here, where it is handled
    except ValidationError as exc:
        print(f"mlopskit: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except MlopsKitError as exc:
        print(f"mlopskit: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:  # the reader went away (`mlopskit jobs list | head`)
        _silence_stdout()
        return EXIT_REFUSED
    return EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into a closed pipe does
    not print a traceback."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):  # not a real file (captured, replaced)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
