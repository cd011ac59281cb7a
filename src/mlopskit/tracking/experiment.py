"""Comparing runs: :class:`Experiment`, an MLflow experiment of a session's tracking store.

Every job, trial and pipeline execution mlopskit tracks is a run of an experiment. Read
them as a DataFrame (:meth:`Experiment.runs`), pick the best (:meth:`Experiment.best`),
chart a metric by a param (:meth:`Experiment.compare`) or read one metric's series
(:meth:`Experiment.history`). MLflow and pandas load on first use.

Example:
    >>> import tempfile, mlopskit
    >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
    >>> tracker = session.tracker()
    >>> for lr, auc in (("0.1", 0.8), ("0.01", 0.9)):
    ...     run = tracker.start_run("demo", f"train-{lr}", params={"lr": lr})
    ...     tracker.finish_run(run, status="FINISHED",
    ...                        metrics=[MetricPoint("auc", auc, 1, 1_700_000_000_000)])
    >>> experiment = Experiment("demo", session=session)
    >>> experiment.best("auc").params
    {'lr': '0.01'}
    >>> experiment.runs()[["run_name", "status", "params.lr", "metrics.auc"]]
         run_name    status params.lr  metrics.auc
    0  train-0.01  FINISHED      0.01          0.9
    1   train-0.1  FINISHED       0.1          0.8
"""

from __future__ import annotations

import builtins
import datetime as _dt
import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._display import card, safe_html, table
from ..errors import NotFoundError, ValidationError
from .chart import Comparison
from .jobs import settle_runs
from .recorder import MetricPoint, Tracker

if TYPE_CHECKING:
    import pandas as pd

    from ..session import Session

__all__ = ["BASE_COLUMNS", "Experiment", "MetricPoint", "RunSummary"]

# The columns of Experiment.runs() before the params.* and metrics.* ones.
BASE_COLUMNS = ("run_id", "run_name", "status", "start_time", "end_time", "duration_s",
                "job", "kind", "parent_run_id")
_KNOWN_SHOWN = 10


@dataclass(frozen=True)
class RunSummary:
    """One run in short: what :meth:`Experiment.best` returns.

    Example:
        >>> best = RunSummary("4f2a", "train-1", "train-1", "FINISHED", {"lr": "0.1"},
        ...                   {"auc": 0.9})
        >>> best.params["lr"], best.metrics["auc"]
        ('0.1', 0.9)
    """

    run_id: str
    run_name: str
    job: str | None
    status: str
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


def _tracker_for(session: Session) -> Tracker:
    return session.tracker()


def _time(ms: int | None) -> _dt.datetime | None:
    return None if ms is None else _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)


def _summary(run: Any) -> RunSummary:
    tags = run.data.tags
    return RunSummary(run_id=run.info.run_id, run_name=run.info.run_name or "",
                      job=tags.get("mlopskit.job_name"), status=run.info.status,
                      params=dict(run.data.params), metrics=dict(run.data.metrics))


class Experiment:
    """An MLflow experiment of ``session``'s tracking store (the default session when
    None); it need not exist yet (``id`` is None until a run is recorded in it).

    Example:
        >>> import tempfile, mlopskit
        >>> Experiment("churn", session=mlopskit.LocalSession(root=tempfile.mkdtemp())).name
        'churn'
    """

    def __init__(self, name: str, session: Session | None = None) -> None:
        from ..session import resolve_session

        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"name: expected a non-empty experiment name, got {name!r}",
                                  field="name")
        self._name = name
        self.session = resolve_session(session)

    @property
    def name(self) -> str:
        return self._name

    @property
    def tracker(self) -> Tracker:
        """The session's tracking client."""
        return _tracker_for(self.session)

    @property
    def id(self) -> str | None:
        """The experiment's MLflow id, or None when it does not exist yet."""
        try:
            return self.tracker.experiment_id(self._name, create=False)
        except NotFoundError:
            return None

    @property
    def tracking_uri(self) -> str:
        """Where its runs are (without credentials)."""
        return self.tracker.display_uri

    def __repr__(self) -> str:
        return f"Experiment({self._name!r}, tracking_uri={self.tracking_uri!r})"

    @staticmethod
    def list(session: Session | None = None) -> builtins.list[str]:
        """The names of the experiments in the session's tracking store, sorted."""
        from ..session import resolve_session

        return sorted(e.name for e in _tracker_for(resolve_session(session)).experiments())

    @staticmethod
    def ui_command(session: Session | None = None) -> str | None:
        """The ``mlflow ui`` command that shows a session's own store (SQLite or a
        folder), or None when the store is a server (open its address instead).

        Example:
            >>> import mlopskit
            >>> session = mlopskit.LocalSession(root="/data/ml")
            >>> print(Experiment.ui_command(session))
            mlflow ui --backend-store-uri sqlite:////data/ml/mlflow.db --default-artifact-root file:///data/ml/s3/mlopskit-local/mlflow
        """
        from ..session import resolve_session

        resolved = resolve_session(session)
        uri = resolved.tracking_uri
        if uri is None or not uri.startswith(("sqlite:", "file:")):
            return None
        command = ["mlflow", "ui", "--backend-store-uri", uri]
        if resolved.tracking_artifact_root is not None:
            command += ["--default-artifact-root", resolved.tracking_artifact_root]
        return shlex.join(command)

    # -- reading ---------------------------------------------------------------------

    def _runs(self, filter_string: str | None = None) -> builtins.list[Any]:
        """The MLflow runs, newest first; an unknown experiment names the known ones."""
        tracker = self.tracker
        try:
            found = tracker.runs(self._name, filter_string)
            # Jobs started without waiting that have ended since: recorded now, read again.
            if settle_runs(self.session, found):
                found = tracker.runs(self._name, filter_string)
            return found
        except NotFoundError:
            known = sorted(e.name for e in tracker.experiments())
            shown = ", ".join(known[:_KNOWN_SHOWN]) + (
                f", ... ({len(known)} in all)" if len(known) > _KNOWN_SHOWN else "")
            raise NotFoundError(
                f"experiment {self._name!r} does not exist in {tracker.display_uri} "
                f"(known: {shown or 'none'})") from None

    def runs(self, filter: str | None = None) -> pd.DataFrame:
        """One row per run, newest first: ``run_id``, ``run_name``, ``status``,
        ``start_time``, ``end_time`` (UTC), ``duration_s``, ``job``, ``kind``,
        ``parent_run_id``, then ``params.<name>`` and ``metrics.<name>`` (latest value)
        columns. ``filter`` is an MLflow filter string (``"params.lr = '0.1'"``,
        ``"metrics.auc > 0.9"``, ``"tags.mlopskit.kind = 'trial'"``).
        NotFoundError for an unknown experiment, ValidationError for a bad filter."""
        import pandas as pd

        rows = []
        for run in self._runs(filter):
            info, tags = run.info, run.data.tags
            start, end = info.start_time, info.end_time
            row: dict[str, Any] = {
                "run_id": info.run_id, "run_name": info.run_name, "status": info.status,
                "start_time": _time(start), "end_time": _time(end),
                "duration_s": (end - start) / 1000 if start is not None and end is not None
                else None,
                "job": tags.get("mlopskit.job_name"), "kind": tags.get("mlopskit.kind"),
                "parent_run_id": tags.get("mlflow.parentRunId")}
            row.update({f"params.{k}": v for k, v in run.data.params.items()})
            row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
            rows.append(row)
        extra = sorted({k for row in rows for k in row} - set(BASE_COLUMNS),
                       key=lambda k: (not k.startswith("params."), k))
        frame = pd.DataFrame(rows, columns=[*BASE_COLUMNS, *extra])
        for column in ("start_time", "end_time"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        frame["duration_s"] = frame["duration_s"].astype("float64")
        result: pd.DataFrame = frame
        return result

    def best(self, metric: str, mode: Literal["max", "min"] = "max") -> RunSummary:
        """The finished run with the highest (``mode="max"``) or lowest (``"min"``) value
        of ``metric``; NotFoundError when no finished run has it."""
        if mode not in ("max", "min"):
            raise ValidationError(f"mode: {mode!r} is not one of max, min", field="mode")
        scored = [run for run in self._runs() if run.info.status == "FINISHED"
                  and math.isfinite(run.data.metrics.get(metric, math.nan))]
        if not scored:
            raise NotFoundError(f"no finished run of experiment {self._name!r} has metric "
                                f"{metric!r}")
        sign = 1.0 if mode == "max" else -1.0
        return _summary(max(scored, key=lambda run: sign * run.data.metrics[metric]))

    def compare(self, metric: str, by: str) -> Comparison:
        """``metric`` of the finished runs grouped by the value of param ``by``: data and a
        chart (inline SVG in a notebook, ``.save("x.svg"|"x.png")`` elsewhere).
        NotFoundError when no finished run has both."""
        values: dict[str, list[float]] = {}
        for run in self._runs():
            data = run.data
            if run.info.status == "FINISHED" and metric in data.metrics and by in data.params:
                values.setdefault(data.params[by], []).append(float(data.metrics[metric]))
        if not values:
            raise NotFoundError(f"no finished run of experiment {self._name!r} has both "
                                f"metric {metric!r} and param {by!r}")
        return Comparison(self._name, metric, by, {k: tuple(v) for k, v in values.items()})

    def history(self, run_id: str, metric: str) -> pd.DataFrame:
        """Every value of ``metric`` a run of this experiment recorded: columns ``step``,
        ``value`` and ``timestamp`` (UTC), by step (empty when it has no such metric).
        NotFoundError for a run that does not exist or belongs to another experiment."""
        import pandas as pd

        tracker = self.tracker
        if tracker.get_run(run_id).info.experiment_id != self.id:
            raise NotFoundError(f"run {run_id!r} is not a run of experiment {self._name!r}")
        points = tracker.metric_history(run_id, metric)
        frame = pd.DataFrame(
            [(p.step, p.value, p.timestamp) for p in points],
            columns=["step", "value", "timestamp"]).sort_values(["step", "timestamp"],
                                                                kind="stable")
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
        result: pd.DataFrame = frame.reset_index(drop=True)
        return result

    @safe_html("experiment", lambda self: self.name)
    def _repr_html_(self) -> str:
        """A card: name, id, tracking URI, run count and the newest runs."""
        experiment_id = self.id
        runs = self._runs() if experiment_id is not None else []
        rows = [[r.info.run_name, r.info.status, r.data.tags.get("mlopskit.job_name", ""),
                 ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.data.metrics.items())[:4])]
                for r in runs]
        return card("experiment", self._name, None, rows=[
            ("id", experiment_id or "(not created yet)"), ("tracking URI", self.tracking_uri),
            ("runs", len(runs))], parts=[table(["run", "status", "job", "metrics"], rows,
                                               caption="newest runs", limit=5)] if rows else [])
