"""Time, injected.

Every wait, bake period and schedule in mlopskit reads the session's clock, so tests and
rollouts can move time forward without sleeping.

Example:
    >>> clock = FakeClock()
    >>> start = clock.monotonic()
    >>> clock.sleep(30)
    >>> clock.monotonic() - start
    30.0
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What mlopskit needs from a clock.

    Any object with these three methods is one (``SystemClock`` and ``FakeClock`` are);
    a session takes it as ``clock=`` and every wait reads it.

    Example:
        >>> isinstance(SystemClock(), Clock), isinstance(FakeClock(), Clock)
        (True, True)
        >>> def waited(clock: Clock, seconds: float) -> float:
        ...     start = clock.monotonic()
        ...     clock.sleep(seconds)
        ...     return clock.monotonic() - start
        >>> waited(FakeClock(), 600)
        600.0
    """

    def now(self) -> _dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (or pretend to)."""
        ...


class SystemClock:
    """The real clock.

    Example:
        >>> SystemClock().now().tzinfo is not None
        True
    """

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it at once.

    Thread-safe, so a background waiter and a test can share it.

    Example:
        >>> clock = FakeClock(start=_dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc))
        >>> clock.advance(90)
        >>> clock.now().isoformat()
        '2026-01-01T00:01:30+00:00'
    """

    def __init__(self, start: _dt.datetime | None = None) -> None:
        self._start = start or _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
        if self._start.tzinfo is None:
            self._start = self._start.replace(tzinfo=_dt.timezone.utc)
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> _dt.datetime:
        with self._lock:
            return self._start + _dt.timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._elapsed += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        with self._lock:
            self._elapsed += max(0.0, seconds)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now().isoformat()})"
