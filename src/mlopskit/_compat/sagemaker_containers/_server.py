"""The model server: started by the local backend, not by scripts."""

from __future__ import annotations

from typing import NoReturn

from ._local import not_local

__all__ = ["start"]


def start(module_app: str) -> NoReturn:
    """Not available locally (would start gunicorn and nginx); deploy the model to a local
    endpoint instead."""
    not_local("server.start")
