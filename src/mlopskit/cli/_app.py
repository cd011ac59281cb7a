"""The ``mlopskit`` parser and dispatch: global options, one sub-parser per command group
(each group's module adds its own), the session the options pick, and the exit codes.

Building the parser (``mlopskit --help``) imports no command's work: each group's ``run``
loads the public objects it uses when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn

from .. import __version__
from ..errors import MlopsKitError, ValidationError
from ..plugins import BUILTIN_BACKENDS, available_backends
from . import demo, doctor, endpoints, experiments, jobs, monitor, pipelines, registry, tuning
from ._output import one_line

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

# The command groups that act on the session the global options pick, in --help order
# (demo comes first and makes its own local session).
_COMMANDS = {"jobs": jobs, "endpoints": endpoints, "pipelines": pipelines, "doctor": doctor,
             "registry": registry, "monitor": monitor, "tuning": tuning,
             "experiments": experiments}


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error printed as one line naming the argument (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Backends:
    """``--backend``'s choices: a built-in name is checked without reading the installed
    plug-ins; listing them (``--help``, an unknown name) reads them. (With a ``metavar``,
    argparse lists the choices only for those.)"""

    def __contains__(self, name: object) -> bool:
        return name in BUILTIN_BACKENDS or name in available_backends()

    def __iter__(self) -> Iterator[str]:
        return iter(available_backends())


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mlopskit", description="SageMaker-style ML workflows, locally or on AWS.")
    parser.add_argument("--version", action="store_true", dest="show_version",
                        help="print the version and exit")
    parser.add_argument("--backend", choices=_Backends(), metavar="BACKEND",
                        help="where to act: %(choices)s (default: $MLOPSKIT_BACKEND or "
                             "local)")
    parser.add_argument("--root", help="local backend folder (default: $MLOPSKIT_ROOT or "
                                       "./.mlopskit)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.add_parser(commands)
    for group in _COMMANDS.values():
        group.add_parser(commands)
    return parser


def _session(args: argparse.Namespace) -> Session:
    """The session of ``MLOPSKIT_*`` (see ``session_from_env``), ``--backend`` and ``--root``
    overriding the first two."""
    from ..session import session_from_env

    env = dict(os.environ)
    if args.backend:
        env["MLOPSKIT_BACKEND"] = args.backend
    if args.root:
        env["MLOPSKIT_ROOT"] = args.root
    return session_from_env(env)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code: 0 done; 1 refused (not found, conflict,
    policy, failed job); 2 bad arguments or invalid input.

    Example:
        >>> main(["--version"])
        mlopskit 0.1.0
        0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.show_version:
        print(f"mlopskit {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "demo":
            demo.run(args)
        else:
            _COMMANDS[args.command].run(args, _session(args))
        sys.stdout.flush()  # a closed pipe shows here, where it is handled
    except ValidationError as exc:
        print(f"mlopskit: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except MlopsKitError as exc:
        print(f"mlopskit: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:  # the reader went away (`mlopskit jobs list | head`)
        _silence_stdout()
        return EXIT_REFUSED
    return EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into a closed pipe does
    not print a traceback."""
    import contextlib

    with contextlib.suppress(OSError, ValueError):  # not a real file (captured, replaced)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
