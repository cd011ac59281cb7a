"""Running the user's entry point: done by the local backend, not by scripts."""

from __future__ import annotations

from typing import Any, NoReturn

from ._local import not_local

__all__ = ["install", "run"]


def run(uri: str, user_entry_point: str, args: list[str], env_vars: dict[str, str] | None = None,
        wait: bool = True, capture_error: bool = False, runner: Any = None,
        extra_opts: dict[str, str] | None = None) -> NoReturn:
    """Not available locally (would download and run the entry point)."""
    not_local("entry_point.run")


def install(name: str, dst: str, capture_error: bool = False) -> NoReturn:
    """Not available locally (would install the entry point's package)."""
    not_local("entry_point.install")


def _wait_hostname_resolution() -> None:
    """Return at once.

    In a real cluster this waits until every host's name resolves in DNS. The hosts of a local
    job are processes on this machine, with no DNS names to wait for, and some public training
    scripts call this before distributed training.
    """
