"""Blue/green rollout strategies and the alarms that roll them back.

A rollout starts the new fleet beside the old one, shifts traffic to it in steps, bakes
each step for a while on the session clock (a FakeClock makes that instant), and checks
the alarms after each bake. A firing alarm sends all traffic back to the old fleet and
removes the new one; otherwise the old fleet is removed at the end.

Pure data and rules: the local backend runs the rollout with them, and UpdateEndpoint's
``DeploymentConfig`` is built from them (:func:`.serving.deployment_config`). Users import
them from :mod:`mlopskit.serving.rollout` (or ``mlopskit.Canary`` and the like).

Example:
    >>> Canary(percent=10, wait=600).steps()
    [(0.1, 600.0), (1.0, 0.0)]
    >>> Linear(step_percent=25, interval=60).steps()
    [(0.25, 60.0), (0.5, 60.0), (0.75, 60.0), (1.0, 0.0)]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ValidationError

__all__ = [
    "AllAtOnce",
    "Alarm",
    "Canary",
    "ErrorRateAbove",
    "FleetStats",
    "LatencyAbove",
    "Linear",
    "RolloutReport",
    "Strategy",
]


@dataclasses.dataclass(frozen=True)
class FleetStats:
    """What the new fleet served since it started: counts and mean latency."""

    requests: int
    errors_4xx: int
    errors_5xx: int
    mean_latency_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors_5xx / self.requests if self.requests else 0.0


Alarm = str | Callable[[FleetStats], str | None]
"""A CloudWatch alarm name (AWS) or a callable that returns a reason to roll back (local)."""


@dataclasses.dataclass(frozen=True)
class ErrorRateAbove:
    """Fires when the new fleet's 5xx share goes over ``threshold`` (0..1).

    It stays quiet until the new fleet has served ``min_requests``, so one early error
    does not roll a deployment back. Pass it in ``rollback_on`` (local backend).

    Example:
        >>> from mlopskit.serving.rollout import FleetStats
        >>> alarm = ErrorRateAbove(0.05, min_requests=20)
        >>> alarm(FleetStats(requests=40, errors_4xx=0, errors_5xx=4, mean_latency_ms=12.0))
        'error rate 10.0% over 5.0% (4 of 40 requests)'
        >>> alarm(FleetStats(requests=10, errors_4xx=0, errors_5xx=4, mean_latency_ms=12.0))
    """

    threshold: float
    min_requests: int = 1

    def __call__(self, stats: FleetStats) -> str | None:
        if stats.requests >= self.min_requests and stats.error_rate > self.threshold:
            return (f"error rate {stats.error_rate:.1%} over {self.threshold:.1%} "
                    f"({stats.errors_5xx} of {stats.requests} requests)")
        return None


@dataclasses.dataclass(frozen=True)
class LatencyAbove:
    """Fires when the new fleet's mean latency goes over ``milliseconds``.

    Like :class:`ErrorRateAbove`, it waits for ``min_requests`` before it judges.

    Example:
        >>> from mlopskit.serving.rollout import FleetStats
        >>> LatencyAbove(250)(FleetStats(requests=10, errors_4xx=0, errors_5xx=0,
        ...                              mean_latency_ms=310.0))
        'mean latency 310.0 ms over 250 ms'
    """

    milliseconds: float
    min_requests: int = 1

    def __call__(self, stats: FleetStats) -> str | None:
        if stats.requests >= self.min_requests and stats.mean_latency_ms > self.milliseconds:
            return f"mean latency {stats.mean_latency_ms:.1f} ms over {self.milliseconds:g} ms"
        return None


def _check_alarms(alarms: Sequence[Alarm]) -> tuple[Alarm, ...]:
    if len(alarms) > 10:
        raise ValidationError(f"rollback_on: {len(alarms)} alarms; at most 10",
                              field="rollback_on")
    for alarm in alarms:
        if not (isinstance(alarm, str) or callable(alarm)):
            raise ValidationError(f"rollback_on: {alarm!r} is neither an alarm name nor a "
                                  "callable", field="rollback_on")
    return tuple(alarms)


def _positive(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
        raise ValidationError(f"{name}: must be seconds >= 0 (got {value!r})", field=name)
    return float(value)


@dataclasses.dataclass(frozen=True)
class AllAtOnce:
    """Shift all traffic at once, bake ``wait`` seconds, then retire the old fleet.

    ``rollback_on`` alarms are checked after the bake; one that fires sends the traffic
    back to the old fleet. ``steps()`` lists (traffic share of the new fleet, bake seconds).

    Example:
        >>> AllAtOnce(wait=300).steps()
        [(1.0, 300.0)]
        >>> AllAtOnce().steps()
        [(1.0, 0.0)]
    """

    wait: float = 0.0
    rollback_on: Sequence[Alarm] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "wait", _positive("wait", self.wait))
        object.__setattr__(self, "rollback_on", _check_alarms(self.rollback_on))

    def steps(self) -> list[tuple[float, float]]:
        return [(1.0, self.wait)]


@dataclasses.dataclass(frozen=True)
class Canary:
    """Send ``percent`` of traffic (at most 50) to the new fleet for ``wait`` seconds, then
    the rest.

    Give it alarms in ``rollback_on``: Python checks such as :class:`ErrorRateAbove` on
    the local backend, CloudWatch alarm names on AWS.

    Example:
        >>> canary = Canary(percent=10, wait=600, rollback_on=[ErrorRateAbove(0.01)])
        >>> canary.steps()
        [(0.1, 600.0), (1.0, 0.0)]
        >>> Canary(percent=80, wait=60)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: percent: a canary takes ... at most 50 percent (got 80)
    """

    percent: float
    wait: float
    rollback_on: Sequence[Alarm] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.percent, (int, float)) or not 0 < self.percent <= 50:
            raise ValidationError(f"percent: a canary takes more than 0 and at most 50 "
                                  f"percent (got {self.percent!r})", field="percent")
        object.__setattr__(self, "wait", _positive("wait", self.wait))
        object.__setattr__(self, "rollback_on", _check_alarms(self.rollback_on))

    def steps(self) -> list[tuple[float, float]]:
        return [(self.percent / 100, self.wait), (1.0, 0.0)]


@dataclasses.dataclass(frozen=True)
class Linear:
    """Shift ``step_percent`` (10 to 50) more every ``interval`` seconds.

    The alarms in ``rollback_on`` are checked after every step.

    Example:
        >>> Linear(step_percent=50, interval=120).steps()
        [(0.5, 120.0), (1.0, 0.0)]
    """

    step_percent: float
    interval: float
    rollback_on: Sequence[Alarm] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.step_percent, (int, float)) or not 10 <= self.step_percent <= 50:
            raise ValidationError(f"step_percent: linear steps are 10 to 50 percent (got "
                                  f"{self.step_percent!r})", field="step_percent")
        object.__setattr__(self, "interval", _positive("interval", self.interval))
        object.__setattr__(self, "rollback_on", _check_alarms(self.rollback_on))

    def steps(self) -> list[tuple[float, float]]:
        shares: list[tuple[float, float]] = []
        share = 0.0
        while share + self.step_percent / 100 < 1.0 - 1e-9:
            share += self.step_percent / 100
            shares.append((round(share, 6), self.interval))
        return [*shares, (1.0, 0.0)]


Strategy = AllAtOnce | Canary | Linear


@dataclasses.dataclass(frozen=True)
class RolloutReport:
    """How a rollout went: each step's traffic share, and why it rolled back if it did."""

    endpoint: str
    strategy: str
    completed: bool
    rolled_back: bool
    reason: str | None
    steps: tuple[dict[str, Any], ...]
