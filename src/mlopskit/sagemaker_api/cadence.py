"""How often a monitor runs, and which window of traffic each run reads.

SageMaker Model Monitor schedules are hourly or daily cron expressions; a run at a due
time ``T`` analyses the traffic captured in ``[T - every, T)``. Both backends use the same
cadences, so a schedule written for the local scheduler means the same thing on AWS.

Example:
    >>> c = Cadence.parse("6h")
    >>> c.seconds, c.cron
    (21600, 'cron(0 */6 ? * * *)')
    >>> import datetime as dt
    >>> c.next_due(dt.datetime(2026, 1, 1, 7, 30, tzinfo=dt.timezone.utc)).isoformat()
    '2026-01-01T12:00:00+00:00'
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re

from ..errors import ValidationError

__all__ = ["Cadence"]

# Hours that divide a day evenly: SageMaker's cron only repeats on whole hours of the day.
_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
_PATTERN = re.compile(r"^\s*(\d+)\s*(h|hr|hrs|hour|hours|d|day|days)\s*$", re.IGNORECASE)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Cadence:
    """A schedule's period: a whole number of hours that divides a day, or one day.

    Example:
        >>> import datetime as dt
        >>> Cadence.parse("daily"), str(Cadence.parse("12 hours"))
        (Cadence(hours=24), '12h')
        >>> due = dt.datetime(2026, 3, 1, 2, tzinfo=dt.timezone.utc)
        >>> [t.isoformat() for t in Cadence.parse("1h").window(due)]  # the hour just ended
        ['2026-03-01T01:00:00+00:00', '2026-03-01T02:00:00+00:00']
        >>> Cadence.parse("5h")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: every: '5h' is not a monitoring cadence; allowed: ...
    """

    hours: int

    @classmethod
    def parse(cls, every: str | Cadence) -> Cadence:
        """``"1h"``, ``"2 hours"``, ``"12h"``, ``"1d"``, ``"daily"`` or ``"hourly"``."""
        if isinstance(every, Cadence):
            return every
        allowed = ", ".join(f"{h}h" for h in _HOURS[:-1]) + ", 1d"
        if not isinstance(every, str):
            raise ValidationError(f"every: expected a string such as '1h', got "
                                  f"{type(every).__name__}; allowed: {allowed}", field="every")
        text = every.strip().lower()
        aliases = {"hourly": 1, "daily": 24}
        if text in aliases:
            return cls(aliases[text])
        match = _PATTERN.match(text)
        hours = None
        if match:
            count = int(match.group(1))
            hours = count * 24 if match.group(2).startswith("d") else count
        if hours not in _HOURS:
            raise ValidationError(f"every: {every!r} is not a monitoring cadence; allowed: "
                                  f"{allowed} (SageMaker schedules repeat on whole hours "
                                  "that divide a day)", field="every")
        return cls(hours)

    @property
    def seconds(self) -> int:
        return self.hours * 3600

    @property
    def cron(self) -> str:
        """The ``ScheduleExpression`` SageMaker takes for this cadence."""
        if self.hours == 1:
            return "cron(0 * ? * * *)"
        if self.hours == 24:
            return "cron(0 0 ? * * *)"
        return f"cron(0 */{self.hours} ? * * *)"

    def next_due(self, after: _dt.datetime) -> _dt.datetime:
        """The first boundary strictly after ``after`` (boundaries are aligned to UTC
        midnight, as cron's are)."""
        elapsed = int((after - _EPOCH).total_seconds())
        return _EPOCH + _dt.timedelta(seconds=(elapsed // self.seconds + 1) * self.seconds)

    def window(self, due: _dt.datetime) -> tuple[_dt.datetime, _dt.datetime]:
        """The traffic a run due at ``due`` reads: ``[due - period, due)``."""
        return due - _dt.timedelta(seconds=self.seconds), due

    def __str__(self) -> str:
        return "1d" if self.hours == 24 else f"{self.hours}h"
