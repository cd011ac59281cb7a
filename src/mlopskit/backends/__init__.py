"""Backends: ``local`` (built in) and ``aws`` (loaded on first use).

The names below load on first access, so a process that needs one leaf module (an inference
server, a training supervisor) does not pay for pydantic and the specs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Backend, Capability, ObjectStore, TrainingJobDescription

__all__ = ["Backend", "Capability", "ObjectStore", "TrainingJobDescription"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
