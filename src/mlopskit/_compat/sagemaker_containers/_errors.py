"""Errors raised by the stand-in, with the names and bases scripts catch.

::

    Exception
    ├── ClientError                      the user's input or code is at fault, not the container
    │   ├── ImportModuleError
    │   └── _CalledProcessError          a command exited with a non-zero status
    │       ├── InstallModuleError
    │       └── ExecuteUserScriptError
    ├── ChannelDoesNotExistException
    └── UnsupportedFormatError           no encoder/decoder for a content type

The serving containers answer an ``UnsupportedFormatError`` raised while decoding a request with
HTTP 415 and one raised while encoding the answer with HTTP 406.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ChannelDoesNotExistException",
    "ClientError",
    "ExecuteUserScriptError",
    "ImportModuleError",
    "InstallModuleError",
    "UnsupportedFormatError",
]


class ClientError(Exception):
    """A failure caused by the request or the user's code rather than by the container."""


class _CalledProcessError(ClientError):
    """A command exited with a non-zero status; ``output`` is what it printed, if captured."""

    def __init__(self, cmd: str | Sequence[str], return_code: int | None = None,
                 output: bytes | str | None = None) -> None:
        self.cmd = cmd
        self.return_code = return_code
        self.output = output
        super().__init__()

    def __str__(self) -> str:
        command = self.cmd if isinstance(self.cmd, str) else " ".join(self.cmd)
        text = f"{type(self).__name__}:\nCommand {command!r}"
        if self.return_code is not None:
            text += f" exited with status {self.return_code}"
        if self.output:
            printed = self.output.decode("latin-1") if isinstance(self.output, bytes) \
                else self.output
            text += f"\n{printed}"
        return text.strip()


class InstallModuleError(_CalledProcessError):
    """Installing the user's module failed."""


class ImportModuleError(ClientError):
    """Importing the user's module failed."""


class ExecuteUserScriptError(_CalledProcessError):
    """The user's script exited with a non-zero status."""


class ChannelDoesNotExistException(Exception):
    """A channel name that the job's input data configuration does not declare."""

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name
        super().__init__(f"channel {channel_name!r} is not one of the job's input channels")


class UnsupportedFormatError(Exception):
    """No encoder or decoder for ``content_type``.

    >>> error = UnsupportedFormatError("image/png")
    >>> error.content_type, "'image/png'" in str(error)
    ('image/png', True)
    """

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self.message = (
            f"content type {content_type!r} is not supported: the built-in encoders handle "
            "application/json, text/csv and application/x-npy.\n"
            "Define input_fn to decode other request types, and output_fn to encode other "
            "response types."
        )
        super().__init__(self.message)
