"""Monitoring: captured traffic, read back from where the endpoint wrote it.

Names load on first use, so ``import mlopskit.monitoring`` stays light (pandas loads when
captures are turned into a frame).

Example:
    >>> import mlopskit.monitoring as monitoring
    >>> callable(monitoring.read_captures)
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .capture import CapturedPayload, CaptureRecord, captures_to_frame, read_captures

__all__ = ["CaptureRecord", "CapturedPayload", "captures_to_frame", "read_captures"]

_WHERE = {"CaptureRecord": "capture", "CapturedPayload": "capture",
          "captures_to_frame": "capture", "read_captures": "capture"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mlopskit.monitoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
