"""The error for the parts of the original package that only make sense inside its container."""

from __future__ import annotations

from typing import NoReturn


def not_local(what: str) -> NoReturn:
    """Raise ``NotImplementedError`` explaining that the local backend does ``what`` itself."""
    raise NotImplementedError(
        f"sagemaker_containers.{what} is not available in mlopskit's local stand-in: the local "
        "backend installs, runs and serves the job's script itself. Call your functions "
        "directly, or run the script as a training/processing job or behind a local endpoint.")
