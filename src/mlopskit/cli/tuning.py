"""``mlopskit tuning``: hyperparameter tuning jobs and their trials, through
:class:`~mlopskit.TuningJob`."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from ._args import action, command_group
from ._output import emit, table, when

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``tuning list|show|jobs|stop`` to the ``mlopskit`` parser."""
    verbs = command_group(commands, "tuning", "hyperparameter tuning jobs and their trials")
    action(verbs, "list", "tuning jobs, newest first")
    action(verbs, "show", "a tuning job: strategy, objective, best trial", "name:NAME")
    action(verbs, "jobs", "a tuning job's training jobs, best first", "name:NAME")
    action(verbs, "stop", "stop a tuning job and its running trials", "name:NAME")


def _check(name: str) -> str:
    from ..tuner import checked_tuning_name

    checked = checked_tuning_name(name, field="NAME")
    assert checked is not None
    return checked


def _data(found: Any) -> dict[str, Any]:
    """A TuningJobDescription as JSON-ready data."""
    data: dict[str, Any] = dataclasses.asdict(found)
    return data


def run(args: argparse.Namespace, session: Session) -> None:
    """Carry out ``mlopskit tuning ACTION`` on ``session``."""
    from ..tuner import TuningJob

    if args.action == "list":
        jobs = [job.describe() for job in TuningJob.list(session=session)]
        emit(args, [_data(d) for d in jobs], table(
            ["NAME", "STATUS", "STRATEGY", "TRIALS", "BEST", "CREATED"],
            [[d.name, d.status, d.strategy, str(len(d.trials)),
              "" if d.best_objective is None else f"{d.best_objective:g}",
              when(d.creation_time)] for d in jobs]) if jobs else "(no tuning jobs)")
        return
    job = TuningJob(_check(args.name), session=session)
    if args.action == "stop":
        job.stop()
        emit(args, {"name": job.name, "status": job.status},
             f"tuning job {job.name}: {job.status}")
        return
    found = job.describe()
    if args.action == "show":
        lines = [f"tuning job {found.name}: {found.status}", f"  arn        {found.arn}",
                 f"  strategy   {found.strategy}",
                 f"  objective  {found.objective_type} {found.objective_metric}",
                 f"  trials     {len(found.trials)}", f"  created    {when(found.creation_time)}"]
        if found.best_training_job:
            lines.append(f"  best       {found.best_training_job} ({found.best_objective:g})"
                         if found.best_objective is not None
                         else f"  best       {found.best_training_job}")
        if found.failure_reason:
            lines.append(f"  failure    {found.failure_reason}")
        emit(args, _data(found), "\n".join(lines))
        return
    frame = job.training_jobs()
    records = frame.to_dict(orient="records") if not frame.empty else []
    names = sorted({k for t in found.trials for k in t.params})
    emit(args, records, table(
        ["TRAINING JOB", "STATUS", "OBJECTIVE", *[n.upper() for n in names]],
        [[str(r["TrainingJobName"]), str(r["TrainingJobStatus"]),
          "" if r["FinalObjectiveValue"] != r["FinalObjectiveValue"]
          or r["FinalObjectiveValue"] is None else f"{r['FinalObjectiveValue']:g}",
          *[str(r.get(n, "")) for n in names]] for r in records])
         if records else f"(tuning job {found.name} has no training jobs yet)")
