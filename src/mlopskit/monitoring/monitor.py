"""Monitors: compare a window of an endpoint's traffic with a baseline, act on violations.

A monitor run is computed in the calling process on both backends: it reads the captured
records from the object store (a local folder, or S3), compares them with the baseline and
writes SageMaker's report files plus ``run.json`` under
``<output_uri>/<monitor name>/<yyyy>/<mm>/<dd>/<hh>/<run id>/``. Those files are the run
history on every backend (``monitor.runs()``), so it survives the process that made it.

Example:
    >>> import mlopskit, pandas as pd, tempfile
    >>> from mlopskit.monitoring import DataQualityMonitor, baseline
    >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
    >>> reference = pd.DataFrame({"x": [float(i % 10) for i in range(200)]})
    >>> monitor = DataQualityMonitor(None, baseline(reference), name="demo", session=session)
    >>> monitor.run(reference).status
    'Completed'
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import itertools
import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .._data import checked_uri
from ..backends.base import Capability, SchedulerStore
from ..errors import CapabilityError, MlopsKitError, ValidationError
from ..sagemaker_api.cadence import Cadence
from ..session import Session, resolve_session
from ..specs._common import NAME_PATTERN, build
from ..specs.monitoring import MonitoringJobSpec, MonitoringScheduleSpec
from .actions import Action, action_from_dict, check_actions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataQualityMonitor", "ModelQualityMonitor", "MonitoringRun", "MonitoringSchedule"]

logger = logging.getLogger("mlopskit.monitoring")

_NAME = NAME_PATTERN
DEFAULT_REPORTS = "model-monitor/reports"


def _check_monitor_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(f"name: {name!r} must be 1-63 letters, digits and hyphens, "
                              "starting with a letter or digit", field="name")
    return name


def _as_utc(value: Any, field: str) -> _dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, _dt.datetime):
        raise ValidationError(f"{field}: expected a datetime, got {type(value).__name__}",
                              field=field)
    if value.tzinfo is None:
        raise ValidationError(f"{field}: needs a timezone (naive datetimes are ambiguous); "
                              "use datetime(..., tzinfo=timezone.utc)", field=field)
    return value.astimezone(_dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class MonitoringRun:
    """One monitoring run: what was read, what was found, what was done about it.

    ``status`` is SageMaker's monitoring execution status: ``Completed`` (no violation),
    ``CompletedWithViolations`` or ``Failed`` (``failure_reason`` says why, e.g. no data in
    the window). ``actions`` lists each ``on_violation`` action with its outcome.

    Example:
        >>> import mlopskit, pandas as pd, tempfile
        >>> from mlopskit.monitoring import baseline
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> reference = pd.DataFrame({"x": [float(i % 10) for i in range(200)]})
        >>> monitor = DataQualityMonitor(None, baseline(reference), name="demo", session=session)
        >>> run = monitor.run(reference.assign(x=reference.x * 3))
        >>> run.status, run.drifted_features, run.rows
        ('CompletedWithViolations', ('x',), 200)
        >>> MonitoringRun.from_dict(run.to_dict()) == run  # what run.json keeps
        True
    """

    monitor_name: str
    monitor_type: str
    run_id: str
    status: str
    failure_reason: str | None
    window_start: _dt.datetime | None
    window_end: _dt.datetime | None
    started: _dt.datetime
    rows: int
    violations: tuple[dict[str, Any], ...]
    drifted_features: tuple[str, ...]
    metrics: dict[str, float]
    output_uri: str
    actions: tuple[dict[str, Any], ...] = ()
    report: Any = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def report_uri(self) -> str:
        """The HTML report (open it in a browser, or display the run in a notebook)."""
        return f"{self.output_uri}/report.html"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("report")
        for key in ("window_start", "window_end", "started"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        data["violations"] = list(self.violations)
        data["drifted_features"] = list(self.drifted_features)
        data["actions"] = list(self.actions)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitoringRun:
        def when(key: str) -> _dt.datetime | None:
            value = data.get(key)
            return _dt.datetime.fromisoformat(value) if value else None

        started = when("started")
        assert started is not None
        return cls(
            monitor_name=data["monitor_name"], monitor_type=data["monitor_type"],
            run_id=data["run_id"], status=data["status"],
            failure_reason=data.get("failure_reason"), window_start=when("window_start"),
            window_end=when("window_end"), started=started, rows=int(data.get("rows", 0)),
            violations=tuple(data.get("violations") or ()),
            drifted_features=tuple(data.get("drifted_features") or ()),
            metrics=dict(data.get("metrics") or {}), output_uri=data["output_uri"],
            actions=tuple(data.get("actions") or ()))

    def _repr_html_(self) -> str:
        """Status, window, violations, actions and the report (no backend call)."""
        from .. import _display

        try:
            window = (f"{self.window_start:%Y-%m-%d %H:%M} to {self.window_end:%Y-%m-%d %H:%M}"
                      " UTC" if self.window_start and self.window_end else "given data")
            parts: list[str] = []
            if self.metrics:
                parts.append(_display.table(
                    ("metric", "value"), [(k, f"{v:g}") for k, v in sorted(self.metrics.items())],
                    caption="Metrics"))
            if self.violations:
                parts.append(_display.table(
                    ("feature", "check", "description"),
                    [(v.get("feature_name"), v.get("constraint_check_type"),
                      v.get("description")) for v in self.violations],
                    caption="Violations", limit=50))
            if self.actions:
                parts.append(_display.table(
                    ("action", "result"),
                    [(a.get("action", ""), a.get("result") or a.get("error"))
                     for a in self.actions], caption="Actions"))
            if self.report is not None and hasattr(self.report, "_repr_html_"):
                parts.append(_display.Html(str(self.report._repr_html_())))
            return _display.card("Monitoring run", f"{self.monitor_name} {self.run_id}",
                                 self.status, rows=[
                                     ("failure reason", self.failure_reason),
                                     ("rows", self.rows), ("window", window),
                                     ("report", self.report_uri)], parts=parts)
        except Exception as exc:
            return _display.card("Monitoring run", str(getattr(self, "run_id", "?")), None,
                                 parts=[_display.unavailable("details", exc)])


_RUNS = itertools.count()


def _run_id(moment: _dt.datetime) -> str:
    """Sortable: the time, then this process's run count (runs made at one instant of a
    FakeClock keep their order), then a random part (other processes)."""
    return (f"{moment:%Y%m%dT%H%M%S}{moment.microsecond // 1000:03d}Z-{next(_RUNS):06d}-"
            f"{os.urandom(3).hex()}")


class _Monitor:
    """What both monitors share: source, output, actions, runs and schedules."""

    monitor_type: ClassVar[str]
    _suffix: ClassVar[str]

    def __init__(self, source: Any, *, name: str | None, output_uri: str | None,
                 on_violation: Any, session: Session | None) -> None:
        from ..serving.endpoint import Endpoint

        self.session = resolve_session(session)
        self.endpoint_name: str | None = None
        self.capture_uri: str | None = None
        if isinstance(source, Endpoint):
            self.endpoint_name = source.name
        elif isinstance(source, str) and source.startswith("s3://"):
            self.capture_uri = checked_uri(source, "source").rstrip("/")
        elif isinstance(source, str):
            self.endpoint_name = source
        elif source is not None:
            raise ValidationError(f"source: expected an Endpoint, an endpoint name, an s3:// "
                                  f"URI of captured data, or None, got {type(source).__name__}",
                                  field="source")
        default_name = f"{self.endpoint_name}-{self._suffix}" if self.endpoint_name else None
        if name is None and default_name is None:
            raise ValidationError("name: a monitor of a captured-data URI (or of given data) "
                                  "needs a name", field="name")
        self.name = _check_monitor_name(name if name is not None else str(default_name))
        if output_uri is None:
            output_uri = f"s3://{self.session.default_bucket}/{DEFAULT_REPORTS}"
        self.output_uri = checked_uri(output_uri, "output_uri").rstrip("/")
        self.on_violation: tuple[Action, ...] = check_actions(on_violation)

    # -- reading traffic ----------------------------------------------------------------

    def _captured(self, start: _dt.datetime | None, end: _dt.datetime | None) -> list[Any]:
        from .capture import read_captures

        if self.capture_uri is not None:
            return read_captures(self.capture_uri, start=start, end=end, session=self.session)
        if self.endpoint_name is None:
            raise ValidationError("data: this monitor has no source; pass the data to run()",
                                  field="data")
        return read_captures(self.endpoint_name, start=start, end=end, session=self.session)

    # -- running ------------------------------------------------------------------------

    def _evaluate(self, data: Any, start: _dt.datetime | None, end: _dt.datetime | None
                  ) -> tuple[int, Any, list[dict[str, Any]], list[str], dict[str, float]]:
        raise NotImplementedError

    def run(self, data: pd.DataFrame | None = None, *, start: _dt.datetime | None = None,
            end: _dt.datetime | None = None) -> MonitoringRun:
        """Compare ``data`` (or the traffic captured in ``[start, end)``) with the baseline,
        write the reports, and run the ``on_violation`` actions if anything is violated.

        A window without data gives a ``Failed`` run (as on SageMaker), never an exception;
        bad arguments raise :class:`~mlopskit.errors.ValidationError` before anything runs.
        """
        start, end = _as_utc(start, "start"), _as_utc(end, "end")
        if start is not None and end is not None and start >= end:
            raise ValidationError(f"start: {start.isoformat()} is not before end "
                                  f"{end.isoformat()}", field="start")
        started = self.session.clock.now()
        run_id = _run_id(started)
        anchor = end or started
        folder = (f"{self.output_uri}/{self.name}/{anchor:%Y/%m/%d/%H}/{run_id}")
        failure: str | None = None
        report: Any = None
        rows = 0
        violations: list[dict[str, Any]] = []
        drifted: list[str] = []
        metrics: dict[str, float] = {}
        try:
            rows, report, violations, drifted, metrics = self._evaluate(data, start, end)
        except ValidationError:
            raise
        except MlopsKitError as exc:
            failure = str(exc)
        if failure is None and report is not None:
            report.save(folder, session=self.session)
        status = "Failed" if failure else (
            "CompletedWithViolations" if violations else "Completed")
        run = MonitoringRun(
            monitor_name=self.name, monitor_type=self.monitor_type, run_id=run_id,
            status=status, failure_reason=failure, window_start=start, window_end=end,
            started=started, rows=rows, violations=tuple(violations),
            drifted_features=tuple(drifted), metrics=metrics, output_uri=folder,
            report=report)
        if violations:
            outcomes = []
            for action in self.on_violation:
                name = type(action).__name__
                try:
                    outcomes.append({"action": name, "ok": True,
                                     "result": action(run, self.session)})
                except Exception as exc:  # one broken hook must not hide the others
                    logger.exception("monitor %s: action %s failed", self.name, name)
                    outcomes.append({"action": name, "ok": False,
                                     "error": f"{type(exc).__name__}: {exc}"})
            run = dataclasses.replace(run, actions=tuple(outcomes))
        self.session.backend.objects.put_bytes(
            json.dumps(run.to_dict(), indent=2, sort_keys=True).encode(),
            f"{folder}/run.json")
        return run

    def runs(self) -> list[MonitoringRun]:
        """Every run of this monitor (its ``run.json`` files), oldest first."""
        objects = self.session.backend.objects
        found = []
        for uri in objects.list(f"{self.output_uri}/{self.name}/"):
            if uri.endswith("/run.json"):
                found.append(MonitoringRun.from_dict(json.loads(objects.get_bytes(uri))))
        return sorted(found, key=lambda r: (r.started, r.run_id))

    # -- scheduling -----------------------------------------------------------------------

    def _definition(self) -> dict[str, Any]:
        """What a schedule stores to build this monitor again."""
        return {"name": self.name, "endpoint_name": self.endpoint_name,
                "capture_uri": self.capture_uri, "output_uri": self.output_uri,
                "on_violation": [a.to_dict() for a in self.on_violation]}

    @classmethod
    def _from_definition(cls, definition: Mapping[str, Any], session: Session) -> _Monitor:
        raise NotImplementedError

    def schedule(self, every: str | Cadence = "1h", *, image_uri: str | None = None,
                 instance_type: str = "ml.m5.xlarge") -> MonitoringSchedule:
        """Run this monitor every ``every`` (``"1h"`` ... ``"12h"``, ``"1d"``).

        Locally the schedule is a row the scheduler reads (``mlopskit monitor run``, or
        :func:`mlopskit.monitoring.run_due` on the session clock); each run reads the
        window that just ended. On AWS it is a SageMaker monitoring schedule, run by
        SageMaker's own analyzer container (``image_uri`` defaults to it, through the
        ``sagemaker`` extra); ``on_violation`` actions are not carried there.
        """
        cadence = Cadence.parse(every)
        if self.endpoint_name is None and self.capture_uri is None:
            raise ValidationError("source: a scheduled monitor needs an endpoint or a "
                                  "captured-data URI to read", field="source")
        if self.on_violation and \
                Capability.PYTHON_SCHEDULER not in self.session.backend.capabilities:
            raise CapabilityError(
                "on_violation: SageMaker runs AWS monitoring schedules itself and cannot "
                "call back into Python; react to its CloudWatch metrics or EventBridge "
                "events, or call monitor.run() from your own scheduler")
        spec = build(MonitoringScheduleSpec, "", name=self.name, monitor_type=self.monitor_type,
                     every_hours=cadence.hours,
                     definition=self._definition(),  # refuses actions that cannot be stored
                     job=self._job(image_uri, instance_type))
        self.session.backend.monitoring.create_schedule(spec)
        return MonitoringSchedule(self.name, self.session)

    def _job(self, image_uri: str | None, instance_type: str) -> MonitoringJobSpec:
        """What SageMaker's analyzer would read and write for this monitor."""
        raise NotImplementedError


def _scheduler(session: Session) -> SchedulerStore:
    session.require(Capability.PYTHON_SCHEDULER, "the local scheduler (schedules run in "
                    "Python, approval triggers)")
    return session.backend.scheduler


class MonitoringSchedule:
    """A monitoring schedule by name: its status, its runs, stop/start/delete.

    ``monitor.schedule(every)`` makes one; ``MonitoringSchedule(name)`` finds it again.

    Example:
        >>> import mlopskit, pandas as pd, tempfile
        >>> from mlopskit.monitoring import baseline
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp(), clock=mlopskit.FakeClock())
        >>> base = baseline(pd.DataFrame({"age": [23.0, 35.0, 47.0]}))
        >>> schedule = DataQualityMonitor("churn", base, session=session).schedule("6h")
        >>> schedule.status, schedule.describe()["next_due"].isoformat()
        ('Scheduled', '2026-01-01T06:00:00+00:00')
        >>> schedule.stop()
        >>> [(s.name, s.status) for s in MonitoringSchedule.list(session=session)]
        [('churn-data-quality', 'Stopped')]
    """

    def __init__(self, name: str, session: Session | None = None) -> None:
        self.name = name
        self.session = resolve_session(session)

    def describe(self) -> dict[str, Any]:
        """Name, type, status (``Scheduled``/``Stopped``), cadence, next due time, last run."""
        return self.session.backend.monitoring.describe_schedule(self.name)

    @property
    def status(self) -> str:
        return str(self.describe()["status"])

    def monitor(self) -> _Monitor:
        """The monitor this schedule runs (local schedules only)."""
        row = _scheduler(self.session).schedule(self.name)
        cls = _MONITORS[row["monitor_type"]]
        return cls._from_definition(row["definition"], self.session)

    def runs(self) -> list[MonitoringRun]:
        return self.monitor().runs()

    def stop(self) -> None:
        self._set("Stopped")

    def start(self) -> None:
        self._set("Scheduled")

    def _set(self, status: str) -> None:
        self.session.backend.monitoring.set_schedule_status(self.name, status)

    def delete(self) -> None:
        self.session.backend.monitoring.delete_schedule(self.name)

    @staticmethod
    def list(session: Session | None = None) -> list[MonitoringSchedule]:
        resolved = resolve_session(session)
        return [MonitoringSchedule(name, resolved)
                for name in resolved.backend.monitoring.list_schedules()]

    def __repr__(self) -> str:
        return f"MonitoringSchedule({self.name!r})"


# -- data quality -----------------------------------------------------------------------


class DataQualityMonitor(_Monitor):
    """Data drift and data quality of an endpoint's inputs against a baseline.

    ``source`` is an :class:`~mlopskit.Endpoint` (or its name) deployed with a
    :class:`~mlopskit.DataCaptureConfig`, an ``s3://`` URI of captured data, or None when
    you pass the data to :meth:`run` yourself. ``baseline`` is a
    :class:`~mlopskit.monitoring.Baseline` or the URI of a folder holding its
    ``statistics.json`` and ``constraints.json`` (SageMaker's files work too).
    CSV captures carry no header: ``columns`` names them, defaulting to the baseline's
    feature names in order. ``schedule="1h"`` schedules the monitor at once.

    Example:
        >>> import mlopskit, pandas as pd, tempfile
        >>> from mlopskit.monitoring import baseline
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> train = pd.DataFrame({"age": [float(20 + i % 40) for i in range(400)]})
        >>> monitor = DataQualityMonitor("churn", baseline(train), thresholds={"psi": 0.25},
        ...                              session=session)
        >>> monitor.name
        'churn-data-quality'
        >>> monitor.run(train.assign(age=train.age + 15)).drifted_features  # data given here
        ('age',)
    """

    monitor_type = "DataQuality"
    _suffix = "data-quality"

    def __init__(self, source: Any, baseline: Any, *, thresholds: Any = None,
                 columns: Sequence[str] | None = None, name: str | None = None,
                 output_uri: str | None = None, on_violation: Any = None,
                 schedule: str | None = None, session: Session | None = None) -> None:
        super().__init__(source, name=name, output_uri=output_uri, on_violation=on_violation,
                         session=session)
        from .baselines import Baseline
        from .drift import DriftThresholds

        if isinstance(baseline, str):
            self.baseline_uri: str | None = baseline.rstrip("/")
            baseline = Baseline.load(baseline, session=self.session)
        elif isinstance(baseline, Baseline):
            self.baseline_uri = None
        else:
            raise ValidationError(f"baseline: expected a Baseline or the URI of its folder, "
                                  f"got {type(baseline).__name__}", field="baseline")
        self.baseline = baseline
        if thresholds is None:
            thresholds = DriftThresholds()
        elif isinstance(thresholds, Mapping):
            thresholds = DriftThresholds(**thresholds)
        elif not isinstance(thresholds, DriftThresholds):
            raise ValidationError(f"thresholds: expected DriftThresholds or a mapping of its "
                                  f"fields, got {type(thresholds).__name__}", field="thresholds")
        self.thresholds = thresholds
        if columns is not None and (isinstance(columns, str)
                                    or not all(isinstance(c, str) for c in columns)):
            raise ValidationError("columns: a list of column names", field="columns")
        self.columns = list(columns) if columns is not None else None
        if schedule is not None:
            self.schedule(schedule)

    def _feature_names(self) -> list[str]:
        return list(self.columns or self.baseline.feature_names)

    def _evaluate(self, data: Any, start: _dt.datetime | None, end: _dt.datetime | None
                  ) -> tuple[int, Any, list[dict[str, Any]], list[str], dict[str, float]]:
        from ..errors import NotFoundError
        from .drift import compare

        if data is None:
            from .capture import captures_to_frame

            records = self._captured(start, end)
            if not records:
                raise NotFoundError(self._no_data(start, end))
            frame = captures_to_frame(records, columns=self._feature_names(),
                                      include_output=False)
            frame = frame[[c for c in frame.columns if c not in ("inference_id",
                                                                 "inference_time")]]
        else:
            import pandas as pd

            if not isinstance(data, pd.DataFrame):
                raise ValidationError(f"data: expected a pandas DataFrame, got "
                                      f"{type(data).__name__}", field="data")
            frame = data
            if len(frame) == 0:
                raise NotFoundError("no data: the given DataFrame has no rows")
        report = compare(self.baseline, frame, thresholds=self.thresholds)
        violations = list(report.violations)
        return len(frame), report, violations, list(report.drifted_features), {}

    def _no_data(self, start: _dt.datetime | None, end: _dt.datetime | None) -> str:
        where = self.capture_uri or f"endpoint {self.endpoint_name!r}"
        span = (f" between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC"
                if start and end else "")
        return f"no data: nothing was captured from {where}{span}"

    def _baseline_folder(self) -> str:
        if self.baseline_uri is None:
            folder = f"s3://{self.session.default_bucket}/model-monitor/baselines/{self.name}"
            self.baseline.save(folder, session=self.session)
            self.baseline_uri = folder
        return self.baseline_uri

    def _definition(self) -> dict[str, Any]:
        return {**super()._definition(), "baseline_uri": self._baseline_folder(),
                "thresholds": self.thresholds.model_dump(mode="json"),
                "columns": self.columns}

    @classmethod
    def _from_definition(cls, definition: Mapping[str, Any], session: Session
                         ) -> DataQualityMonitor:
        source = definition.get("capture_uri") or definition.get("endpoint_name")
        return cls(source, definition["baseline_uri"], thresholds=definition["thresholds"],
                   columns=definition.get("columns"), name=definition["name"],
                   output_uri=definition["output_uri"],
                   on_violation=[action_from_dict(a) for a in definition["on_violation"]],
                   session=session)

    def _job(self, image_uri: str | None, instance_type: str) -> MonitoringJobSpec:
        folder = self._baseline_folder()
        return build(MonitoringJobSpec, "", endpoint_name=self.endpoint_name,
                     statistics_uri=f"{folder}/statistics.json",
                     constraints_uri=f"{folder}/constraints.json",
                     output_uri=f"{self.output_uri}/{self.name}", image_uri=image_uri,
                     instance_type=instance_type)


# -- model quality ----------------------------------------------------------------------


class ModelQualityMonitor(_Monitor):
    """Model quality (accuracy, AUC, RMSE...) of an endpoint's predictions, once the true
    labels are known.

    Labels are merged with the captured predictions by inference id: write them with
    :func:`mlopskit.monitoring.put_ground_truth` (SageMaker's ground-truth record format)
    under ``ground_truth_uri``. ``thresholds`` maps a metric to the worst acceptable value
    (``{"accuracy": 0.8}`` is violated below 0.8; ``{"rmse": 2.0}`` above 2.0).
    ``probability_threshold`` turns a binary classifier's probability output into a label.

    Example:
        >>> import mlopskit, pandas as pd, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> monitor = ModelQualityMonitor("churn", "s3://mlopskit-local/ground-truth/churn",
        ...                               thresholds={"accuracy": 0.8}, session=session)
        >>> scored = pd.DataFrame({"label": [1, 0, 1, 1], "prediction": [1, 0, 0, 1]})
        >>> run = monitor.run(scored)  # without data: captures joined with ground truth
        >>> run.status, run.metrics["accuracy"]
        ('CompletedWithViolations', 0.75)
    """

    monitor_type = "ModelQuality"
    _suffix = "model-quality"

    def __init__(self, source: Any, ground_truth_uri: str | None = None, *,
                 problem_type: str = "BinaryClassification",
                 thresholds: Mapping[str, float] | None = None,
                 probability_threshold: float | None = None, name: str | None = None,
                 output_uri: str | None = None, on_violation: Any = None,
                 schedule: str | None = None, session: Session | None = None) -> None:
        super().__init__(source, name=name, output_uri=output_uri, on_violation=on_violation,
                         session=session)
        from .quality import check_problem_type, check_quality_thresholds

        self.problem_type = check_problem_type(problem_type)
        self.thresholds = check_quality_thresholds(thresholds or {}, self.problem_type)
        self.ground_truth_uri = (None if ground_truth_uri is None else
                                 checked_uri(ground_truth_uri, "ground_truth_uri").rstrip("/"))
        if probability_threshold is not None and (
                not isinstance(probability_threshold, (int, float))
                or not 0 < probability_threshold < 1):
            raise ValidationError(f"probability_threshold: a number between 0 and 1 "
                                  f"(exclusive), got {probability_threshold!r}",
                                  field="probability_threshold")
        self.probability_threshold = probability_threshold
        if schedule is not None:
            self.schedule(schedule)

    def _evaluate(self, data: Any, start: _dt.datetime | None, end: _dt.datetime | None
                  ) -> tuple[int, Any, list[dict[str, Any]], list[str], dict[str, float]]:
        from .quality import evaluate_quality, labelled_predictions

        if data is None:
            if self.ground_truth_uri is None:
                raise ValidationError("ground_truth_uri: needed to read labels (or pass a "
                                      "DataFrame with 'label' and 'prediction' to run())",
                                      field="ground_truth_uri")
            data = labelled_predictions(self._captured(start, end), self.ground_truth_uri,
                                        start=start, session=self.session,
                                        empty_message=self._no_data(start, end))
        report = evaluate_quality(data, problem_type=self.problem_type,
                                  thresholds=self.thresholds,
                                  probability_threshold=self.probability_threshold)
        return report.rows, report, list(report.violations), [], dict(report.metrics)

    def _no_data(self, start: _dt.datetime | None, end: _dt.datetime | None) -> str:
        where = self.capture_uri or f"endpoint {self.endpoint_name!r}"
        span = (f" between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC"
                if start and end else "")
        return f"no data: no labelled predictions from {where}{span}"

    def _definition(self) -> dict[str, Any]:
        return {**super()._definition(), "ground_truth_uri": self.ground_truth_uri,
                "problem_type": self.problem_type, "thresholds": dict(self.thresholds),
                "probability_threshold": self.probability_threshold}

    @classmethod
    def _from_definition(cls, definition: Mapping[str, Any], session: Session
                         ) -> ModelQualityMonitor:
        source = definition.get("capture_uri") or definition.get("endpoint_name")
        return cls(source, definition.get("ground_truth_uri"),
                   problem_type=definition["problem_type"],
                   thresholds=definition["thresholds"],
                   probability_threshold=definition.get("probability_threshold"),
                   name=definition["name"], output_uri=definition["output_uri"],
                   on_violation=[action_from_dict(a) for a in definition["on_violation"]],
                   session=session)

    def _job(self, image_uri: str | None, instance_type: str) -> MonitoringJobSpec:
        return build(MonitoringJobSpec, "", endpoint_name=self.endpoint_name,
                     ground_truth_uri=self.ground_truth_uri, problem_type=self.problem_type,
                     output_uri=f"{self.output_uri}/{self.name}", image_uri=image_uri,
                     instance_type=instance_type,
                     probability_threshold=self.probability_threshold)


_MONITORS: dict[str, type[_Monitor]] = {"DataQuality": DataQualityMonitor,
                                        "ModelQuality": ModelQualityMonitor}
