"""``mlopskit monitor``: monitoring schedules and the local scheduler, through
:class:`~mlopskit.monitoring.MonitoringSchedule`, :func:`~mlopskit.monitoring.run_due` and
:func:`~mlopskit.monitoring.run_forever`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ._args import action, command_group
from ._output import emit_lines

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``monitor run|list|history|stop|start|delete`` to the ``mlopskit`` parser."""
    verbs = command_group(commands, "monitor", "monitoring schedules and their runs")
    scheduler = action(verbs, "run", "run due schedules and approval rollouts (local)")
    scheduler.add_argument("--once", action="store_true", help="one pass, then exit")
    scheduler.add_argument("--poll", type=float, default=60.0, metavar="SECONDS",
                           help="seconds between passes (default 60)")
    action(verbs, "list", "monitoring schedules")
    action(verbs, "history", "a schedule's runs, oldest first", "schedule")
    for name, text in (("stop", "pause a schedule"), ("start", "resume a schedule"),
                       ("delete", "delete a schedule")):
        action(verbs, name, text, "schedule")


def run(args: argparse.Namespace, session: Session) -> None:
    """Carry out ``mlopskit monitor ACTION`` on ``session``."""
    from ..monitoring import MonitoringSchedule, run_due, run_forever

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
        emit_lines(args, {"runs": done, "rollouts": rollouts}, lines or ["nothing was due"])
        return
    if args.action == "list":
        found = [s.describe() for s in MonitoringSchedule.list(session=session)]
        rows = [f"{'NAME':<40}  {'TYPE':<12}  {'STATUS':<10}  LAST RUN"]
        rows += [f"{d['name']:<40}  {d['monitor_type']:<12}  {d['status']:<10}  "
                 f"{d.get('last_status') or '-'}" for d in found]
        emit_lines(args, found, rows)
        return
    schedule = MonitoringSchedule(args.schedule, session=session)
    if args.action == "history":
        runs = schedule.runs()
        rows = [f"{'STARTED':<32}  {'STATUS':<24}  {'ROWS':>8}  VIOLATIONS"]
        rows += [f"{r.started.isoformat():<32}  {r.status:<24}  {r.rows:>8}  "
                 + (", ".join(sorted({str(v.get('feature_name')) for v in r.violations}))
                    or "-") for r in runs]
        emit_lines(args, [r.to_dict() for r in runs], rows)
        return
    {"stop": schedule.stop, "start": schedule.start, "delete": schedule.delete}[args.action]()
    emit_lines(args, {"schedule": args.schedule, "action": args.action},
               [f"schedule {args.schedule}: {args.action}"])
