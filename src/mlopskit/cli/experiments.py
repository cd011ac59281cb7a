"""``mlopskit experiments``: MLflow experiments and their runs, through
:class:`~mlopskit.Experiment` (``pip install "mlopskit[tracking]"``)."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from ._args import action, command_group
from ._output import emit, table

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``experiments list|runs|compare|best`` to the ``mlopskit`` parser."""
    verbs = command_group(commands, "experiments", "MLflow experiments and their runs")
    action(verbs, "list", "experiments and their run counts, and how to open the MLflow UI")
    runs = action(verbs, "runs", "an experiment's runs, newest first", "name:NAME")
    runs.add_argument("--filter", help="an MLflow filter, e.g. \"metrics.auc > 0.9\"")
    compare = action(verbs, "compare", "a metric grouped by a param", "name:NAME",
                     "metric:METRIC")
    compare.add_argument("--by", required=True, metavar="PARAM", help="the param to group by")
    compare.add_argument("--output", metavar="FILE", help="write the chart (.svg or .png)")
    best = action(verbs, "best", "the finished run with the best value of a metric",
                  "name:NAME", "metric:METRIC")
    best.add_argument("--mode", choices=("max", "min"), default="max")


def _number(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.6g}" if isinstance(value, float) else str(value)


def _records(frame: Any) -> list[dict[str, Any]]:
    """A runs DataFrame as JSON-ready rows (NaN and NaT as null)."""
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict(
        orient="records")
    return records


def run(args: argparse.Namespace, session: Session) -> None:
    """Carry out ``mlopskit experiments ACTION`` on ``session``."""
    from ..tracking import Experiment

    if args.action == "list":
        names = Experiment.list(session=session)
        counts = [(name, len(Experiment(name, session=session).runs())) for name in names]
        ui = Experiment.ui_command(session)
        uri = session.tracker().display_uri
        lines = [table(["EXPERIMENT", "RUNS"], [[n, str(c)] for n, c in counts])
                 if counts else "(no experiments)", f"tracking store: {uri}",
                 f"MLflow UI: {ui}" if ui else f"MLflow UI: open {uri}"]
        emit(args, {"tracking_uri": uri, "ui_command": ui,
                    "experiments": [{"name": n, "runs": c} for n, c in counts]},
             "\n".join(lines))
        return
    experiment = Experiment(args.name, session=session)
    if args.action == "runs":
        frame = experiment.runs(filter=args.filter)
        records = _records(frame)
        metrics = [c for c in frame.columns if c.startswith("metrics.")][:4]
        emit(args, records, table(
            ["RUN", "STATUS", "JOB", "DURATION", *[c.removeprefix("metrics.").upper()
                                                  for c in metrics]],
            [[r["run_name"], r["status"], r["job"] or "-",
              "-" if r["duration_s"] is None else f"{r['duration_s']:.1f} s",
              *[_number(r[c]) for c in metrics]] for r in records])
            if records else f"(experiment {experiment.name} has no runs"
                            f"{' matching the filter' if args.filter else ''})")
        return
    if args.action == "best":
        found = experiment.best(args.metric, mode=args.mode)
        lines = [f"best run of {experiment.name} by {args.metric} ({args.mode}): "
                 f"{found.run_name} ({found.run_id})", f"  status   {found.status}",
                 f"  job      {found.job or '-'}",
                 *[f"  param    {k} = {v}" for k, v in sorted(found.params.items())],
                 *[f"  metric   {k} = {v:.6g}" for k, v in sorted(found.metrics.items())]]
        emit(args, {"run_id": found.run_id, "run_name": found.run_name, "job": found.job,
                    "status": found.status, "params": dict(found.params),
                    "metrics": dict(found.metrics)}, "\n".join(lines))
        return
    comparison = experiment.compare(args.metric, by=args.by)
    output = str(comparison.save(args.output)) if args.output else None
    means = comparison.means()
    keys, values = comparison.groups(), comparison.values
    groups = [{"value": key, "runs": len(values[key]), "mean": means.get(key),
               "values": list(values[key])} for key in keys]
    text = table([args.by.upper(), "RUNS", "MEAN", "MIN", "MAX"],
                 [[key, str(len(values[key])), _number(means.get(key)),
                   _number(min(values[key])), _number(max(values[key]))] for key in keys])
    emit(args, {"experiment": experiment.name, "metric": args.metric, "by": args.by,
                "groups": groups, "output": output},
         text + (f"\nchart written to {output}" if output else ""))
