"""The local scheduler: due monitoring runs and approval-triggered rollouts, on the session
clock.

``run_due(session)`` does one pass: every schedule whose due time has come runs once on
the window that just ended (missed windows are not replayed, as on SageMaker), and every
approval trigger whose model package group has a newer Approved version rolls it out to
its endpoint. ``mlopskit monitor run`` calls it in a loop; tests call it after moving a
``FakeClock``. Claims are compare-and-set rows, so two schedulers never run one due
window twice.

Example:
    >>> import mlopskit, tempfile
    >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
    >>> run_due(session)
    SchedulerPass(runs=[], rollouts=[])
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
from collections.abc import Sequence
from typing import Any

from ..errors import MlopsKitError, ValidationError
from ..sagemaker_api.cadence import Cadence
from ..session import Session, resolve_session
from ..specs._common import NAME_PATTERN
from .monitor import _MONITORS, MonitoringRun, _scheduler

__all__ = ["ApprovalTrigger", "Rollout", "SchedulerPass", "deploy_on_approval", "run_due",
           "run_forever"]

logger = logging.getLogger("mlopskit.monitoring")

_NAME = NAME_PATTERN


@dataclasses.dataclass(frozen=True)
class Rollout:
    """One approval-triggered rollout: which version went where, and how it ended.

    ``outcome`` is ``Completed``, ``RolledBack`` (an alarm fired; ``detail["reason"]`` says
    which) or ``Failed``. Rollouts come from real deployments, so this is not run here.

    Example::

        for event in ApprovalTrigger("churn-on-approval").events():
            print(event.at, event.version, event.outcome, event.detail.get("reason"))
        # 2026-03-01 12:00:00+00:00 4 RolledBack error rate 7.0% over 5.0% (14 of 200 requests)
    """

    trigger: str
    at: _dt.datetime
    version: int
    outcome: str  # Completed, RolledBack, Failed
    detail: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SchedulerPass:
    """What one ``run_due`` pass did: the monitoring runs it made and the rollouts it
    started, each list empty when nothing was due.

    Example:
        >>> import mlopskit, tempfile
        >>> outcome = run_due(mlopskit.LocalSession(root=tempfile.mkdtemp()))
        >>> [run.status for run in outcome.runs], [r.outcome for r in outcome.rollouts]
        ([], [])
    """

    runs: list[MonitoringRun]
    rollouts: list[Rollout]


def run_due(session: Session | None = None) -> SchedulerPass:
    """Run every due monitoring schedule once and every pending approval rollout.

    Example:
        >>> import mlopskit, pandas as pd, tempfile
        >>> from mlopskit.monitoring import DataQualityMonitor, baseline
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp(), clock=mlopskit.FakeClock())
        >>> monitor = DataQualityMonitor("s3://mlopskit-local/capture/churn", baseline(
        ...     pd.DataFrame({"age": [23.0, 35.0]})), name="churn-drift", session=session)
        >>> schedule = monitor.schedule("1h")
        >>> session.clock.advance(3600)  # the first hourly window is now due
        >>> [(run.monitor_name, run.status) for run in run_due(session).runs]  # no traffic
        [('churn-drift', 'Failed')]
        >>> run_due(session).runs  # that window is done; the next is due in an hour
        []
    """
    resolved = resolve_session(session)
    store = _scheduler(resolved)
    now = resolved.clock.now()
    runs: list[MonitoringRun] = []
    for row in store.schedules():
        if row["status"] != "Scheduled" or row["next_due"] > now:
            continue
        cadence = Cadence(row["every_hours"])
        latest_due = cadence.next_due(now) - _dt.timedelta(seconds=cadence.seconds)
        if not store.claim_due(row["name"], row["next_due"], cadence.next_due(now)):
            continue  # another scheduler took this window
        start, end = cadence.window(latest_due)
        try:
            monitor = _MONITORS[row["monitor_type"]]._from_definition(row["definition"],
                                                                      resolved)
            run = monitor.run(start=start, end=end)
        except MlopsKitError as exc:  # a broken schedule must not stop the others
            logger.error("schedule %s: %s", row["name"], exc)
            store.record_run(row["name"], "", f"Failed: {exc}")
            continue
        store.record_run(row["name"], run.run_id, run.status)
        runs.append(run)
    rollouts = [r for trigger in store.triggers() if trigger["status"] == "Enabled"
                for r in [_check_trigger(resolved, store, trigger)] if r is not None]
    return SchedulerPass(runs=runs, rollouts=rollouts)


def run_forever(session: Session | None = None, *, poll_seconds: float = 60.0,
                passes: int | None = None) -> None:
    """Call :func:`run_due` every ``poll_seconds`` on the session clock (``passes`` bounds
    the loop, for tests and cron-style use).

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp(), clock=mlopskit.FakeClock())
        >>> run_forever(session, poll_seconds=60, passes=3)  # a FakeClock sleeps at once
        >>> session.clock.sleeps
        [60, 60]
    """
    resolved = resolve_session(session)
    if not isinstance(poll_seconds, (int, float)) or poll_seconds <= 0:
        raise ValidationError(f"poll_seconds: a positive number, got {poll_seconds!r}",
                              field="poll_seconds")
    done = 0
    while passes is None or done < passes:
        outcome = run_due(resolved)
        for run in outcome.runs:
            logger.info("%s: %s (%d rows, %d violations)", run.monitor_name, run.status,
                        run.rows, len(run.violations))
        done += 1
        if passes is None or done < passes:
            resolved.clock.sleep(poll_seconds)


# -- approval triggers ------------------------------------------------------------------


def _strategy_to_dict(strategy: Any) -> dict[str, Any]:
    from ..serving.rollout import AllAtOnce, Canary, ErrorRateAbove, LatencyAbove, Linear

    if not isinstance(strategy, (AllAtOnce, Canary, Linear)):
        raise ValidationError(f"strategy: expected AllAtOnce, Canary or Linear, got "
                              f"{type(strategy).__name__}", field="strategy")
    alarms = []
    for alarm in strategy.rollback_on:
        if isinstance(alarm, str):
            alarms.append({"type": "alarm", "name": alarm})
        elif isinstance(alarm, (ErrorRateAbove, LatencyAbove)):
            alarms.append({"type": type(alarm).__name__, **dataclasses.asdict(alarm)})
        else:
            raise ValidationError("strategy.rollback_on: a trigger keeps only alarm names, "
                                  "ErrorRateAbove and LatencyAbove (a custom callable cannot "
                                  "be stored)", field="strategy.rollback_on")
    fields = {f.name: getattr(strategy, f.name) for f in dataclasses.fields(strategy)
              if f.name != "rollback_on"}
    return {"type": type(strategy).__name__, **fields, "rollback_on": alarms}


def _strategy_from_dict(data: dict[str, Any]) -> Any:
    from ..serving import rollout

    alarms: list[Any] = []
    for alarm in data.get("rollback_on", ()):
        kind = alarm["type"]
        if kind == "alarm":
            alarms.append(alarm["name"])
        else:
            alarms.append(getattr(rollout, kind)(**{k: v for k, v in alarm.items()
                                                    if k != "type"}))
    fields = {k: v for k, v in data.items() if k not in ("type", "rollback_on")}
    return getattr(rollout, data["type"])(**fields, rollback_on=tuple(alarms))


class ApprovalTrigger:
    """Rolls each newly Approved version of a model package group out to an endpoint.

    Made by :func:`deploy_on_approval`; ``events()`` is its history.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> ApprovalTrigger("churn-on-approval", session=session).describe()
        Traceback (most recent call last):
        ...
        mlopskit.errors.NotFoundError: approval trigger 'churn-on-approval' does not exist ...

    Reading one made earlier (deploying is needed first, so this is not run here)::

        trigger = ApprovalTrigger("churn-on-approval")
        trigger.describe()["last_version"]                   # the newest version it has seen
        [(e.version, e.outcome) for e in trigger.events()]  # [(3, 'Completed')]
        trigger.delete()                                     # stop rolling out approvals
    """

    def __init__(self, name: str, session: Session | None = None) -> None:
        self.name = name
        self.session = resolve_session(session)

    def describe(self) -> dict[str, Any]:
        return dict(_scheduler(self.session).trigger(self.name))

    def events(self) -> list[Rollout]:
        return [Rollout(e["trigger"], e["at"], e["version"], e["outcome"], e["detail"])
                for e in _scheduler(self.session).events(self.name)]

    def delete(self) -> None:
        _scheduler(self.session).delete_trigger(self.name)

    def __repr__(self) -> str:
        return f"ApprovalTrigger({self.name!r})"


def deploy_on_approval(group: Any, endpoint: Any, strategy: Any = None, *,
                       name: str | None = None, session: Session | None = None
                       ) -> ApprovalTrigger:
    """When a version of ``group`` newer than any seen so far is Approved, roll it out to
    ``endpoint`` with ``strategy`` (default: a 10% canary baked 10 minutes).

    Versions approved before the trigger exists are not rolled out. Local only: on AWS,
    an EventBridge rule on "SageMaker Model Package State Change" does this job.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> custom = mlopskit.Canary(10, wait=600, rollback_on=[lambda stats: None])
        >>> deploy_on_approval("churn-models", "churn", custom, session=session)
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: strategy.rollback_on: a trigger keeps only alarm names, ...

    With the group registered and the endpoint deployed (not run here)::

        canary = mlopskit.Canary(percent=20, wait=600,
                                 rollback_on=[mlopskit.ErrorRateAbove(0.05, min_requests=50)])
        trigger = deploy_on_approval("churn-models", "churn", canary)
        mlopskit.ModelPackageGroup.get("churn-models").package(4).approve(by="alice")
        run_due()           # this pass canaries version 4 into "churn"
        trigger.events()    # [Rollout(trigger='churn-on-approval', ..., outcome='Completed', ...)]
    """
    from ..registry import ModelPackageGroup
    from ..serving.endpoint import Endpoint
    from ..serving.rollout import Canary

    resolved = resolve_session(session)
    group_name = group.name if isinstance(group, ModelPackageGroup) else group
    endpoint_name = endpoint.name if isinstance(endpoint, Endpoint) else endpoint
    if not isinstance(group_name, str) or not isinstance(endpoint_name, str):
        raise ValidationError("group/endpoint: a ModelPackageGroup (or its name) and an "
                              "Endpoint (or its name)", field="group")
    strategy_data = _strategy_to_dict(strategy if strategy is not None
                                      else Canary(percent=10, wait=600))
    trigger_name = name or f"{endpoint_name}-on-approval"
    if not _NAME.match(trigger_name):
        raise ValidationError(f"name: {trigger_name!r} must be 1-63 letters, digits and "
                              "hyphens", field="name")
    store = _scheduler(resolved)
    found = ModelPackageGroup.get(group_name, session=resolved)  # NotFoundError if absent
    Endpoint(endpoint_name, session=resolved).describe()  # NotFoundError if absent
    latest = found.latest()
    store.create_trigger(trigger_name, {"group": group_name, "endpoint": endpoint_name,
                                        "strategy": strategy_data},
                         latest.version if latest is not None else 0,
                         resolved.clock.now())
    return ApprovalTrigger(trigger_name, resolved)


def _check_trigger(session: Session, store: Any, trigger: dict[str, Any]) -> Rollout | None:
    from ..registry import ModelPackageGroup
    from ..serving.endpoint import Endpoint

    definition = trigger["definition"]
    try:
        latest = ModelPackageGroup.get(definition["group"], session=session).latest()
    except MlopsKitError as exc:
        logger.error("trigger %s: %s", trigger["name"], exc)
        return None
    if latest is None or latest.version <= trigger["last_version"]:
        return None
    if not store.claim_version(trigger["name"], trigger["last_version"], latest.version):
        return None
    now = session.clock.now()
    try:
        report = Endpoint(definition["endpoint"], session=session).update(
            latest, _strategy_from_dict(definition["strategy"]))
        outcome = "Completed" if report.completed else "RolledBack"
        detail: dict[str, Any] = {"endpoint": definition["endpoint"],
                                  "strategy": definition["strategy"]["type"],
                                  "reason": report.reason, "steps": list(report.steps)}
    except MlopsKitError as exc:
        outcome, detail = "Failed", {"endpoint": definition["endpoint"], "reason": str(exc)}
    store.add_event(trigger["name"], now, latest.version, outcome, detail)
    return Rollout(trigger["name"], now, latest.version, outcome, detail)


def list_triggers(session: Session | None = None) -> Sequence[ApprovalTrigger]:
    resolved = resolve_session(session)
    return [ApprovalTrigger(t["name"], resolved) for t in _scheduler(resolved).triggers()]
