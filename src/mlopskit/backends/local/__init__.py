"""The local backend: pure Python, no Docker, no network.

``LocalBackend`` loads on first access (see :mod:`mlopskit.backends`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["LocalBackend"]


# Not mlopskit._lazy.lazy_exports: a job's bootstrap (``python -m
# mlopskit.backends.local._pathmap``) imports this package and must load no other mlopskit
# module on its way (tests/unit/test_processing_requests.py pins that).
def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from .backend import LocalBackend

        return LocalBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
