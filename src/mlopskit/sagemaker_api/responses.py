"""Reading SageMaker's responses: what every describe call's answer shares."""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["aware_time"]


def aware_time(value: Any) -> _dt.datetime | None:
    """A timestamp from a SageMaker response, timezone-aware (UTC when botocore gave none).

    Example:
        >>> aware_time(_dt.datetime(2026, 1, 2, 3, 4))
        datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
        >>> aware_time("2026-01-02T03:04:00+01:00").utcoffset()
        datetime.timedelta(seconds=3600)
        >>> aware_time(None) is None
        True
    """
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    return _dt.datetime.fromisoformat(str(value))
