"""The ``mlopskit`` command (also ``python -m mlopskit`` and ``python -m mlopskit.cli``).

Exit codes: 0 done; 1 refused (not found, conflict, policy, failed job); 2 bad arguments or
invalid input. ``--json`` prints machine-readable output on stdout; errors always go to
stderr as one line. See docs/cli.md.

One module per command group (``jobs``, ``endpoints``, ``pipelines``, ``registry``,
``monitor``, ``doctor``, ``demo``), each with ``add_parser(commands)`` and ``run(args,
session)``; every group acts through the public objects and the session, never a backend
module. ``_app`` builds the parser and turns errors into exit codes; ``_output`` formats.

Example:
    >>> main(["--version"])
    mlopskit 0.1.0
    0
"""

from __future__ import annotations

from ._app import main

__all__ = ["main"]
