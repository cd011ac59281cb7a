"""Checks of command-line arguments shared by several commands.

A malformed name is a bad argument (exit 2), not a "not found" (exit 1), so names are
checked against SageMaker's rules before anything is asked of the backend.

Example:
    >>> check_name("train-1", "NAME", "job")
    'train-1'
"""

from __future__ import annotations

from typing import Any

from ..errors import ValidationError

__all__ = ["action", "check_name", "command_group"]


def command_group(commands: Any, name: str, help: str) -> Any:
    """``mlopskit NAME ACTION ...``: a command whose ACTION is required; returns the place
    its actions are added (with :func:`action`)."""
    parser = commands.add_parser(name, help=help)
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def action(actions: Any, name: str, help: str, *positionals: str, json: bool = True,
           description: str | None = None) -> Any:
    """Add one command (or a group's action) with its positional arguments (``"name:NAME"``
    gives a metavar) and, unless ``json=False``, ``--json``; returns its parser for more
    options."""
    parser = actions.add_parser(name, help=help, description=description)
    for positional in positionals:
        dest, _, metavar = positional.partition(":")
        parser.add_argument(dest, metavar=metavar or None)
    if json:
        parser.add_argument("--json", action="store_true")
    return parser


def check_name(value: str, argument: str, what: str) -> str:
    """``value`` if it is a valid ``what`` name, else a ValidationError naming ``argument``:
    jobs, endpoints and variants take 63 characters, pipelines 256.

    Example:
        >>> check_name("my_job", "NAME", "job")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: NAME: 'my_job' is not a valid job name (1-63 letters, ...
    """
    # The specs hold SageMaker's name rules once; loaded only when a command runs.
    from ..specs._common import NAME_PATTERN, PIPELINE_NAME_PATTERN

    long = what == "pipeline"
    if not (PIPELINE_NAME_PATTERN if long else NAME_PATTERN).match(value):
        raise ValidationError(
            f"{argument}: {value!r} is not a valid {what} name (1-{256 if long else 63} "
            "letters, digits and hyphens, starting and ending with a letter or digit)",
            field=argument.lstrip("-").lower())
    return value
