"""What every ``mlopskit`` command prints: aligned tables, ``--json`` data, times and
one-line error messages.

Example:
    >>> print(table(["NAME", "STATUS"], [["train-1", "Completed"]]))
    NAME     STATUS
    train-1  Completed
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["emit", "emit_lines", "json_default", "one_line", "seconds", "table", "took",
           "when"]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; the last column is not padded; ``None`` is
    shown as ``-``."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r]
                                           for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) if i < len(headers) - 1 else cell
                       for i, cell in enumerate(row)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def json_default(value: Any) -> Any:
    """How ``--json`` writes what JSON has no type for: datetimes in ISO 8601, bytes as
    text, anything else as ``str()``.

    Example:
        >>> json_default(_dt.datetime(2026, 11, 23, 8, 54, 42))
        '2026-11-23T08:54:42'
    """
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _print_json(data: Any, default: Callable[[Any], Any]) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=default))


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """``data`` as JSON with ``--json``, else ``text`` (the jobs, endpoints, pipelines and
    doctor commands)."""
    if getattr(args, "json", False):
        _print_json(data, json_default)
    else:
        print(text)


def emit_lines(args: argparse.Namespace, data: Any, lines: Sequence[str]) -> None:
    """``data`` as JSON with ``--json`` (values JSON has no type for as ``str()``), else
    each of ``lines`` (the registry and monitor commands)."""
    if getattr(args, "json", False):
        _print_json(data, str)
    else:
        for line in lines:
            print(line)


def when(value: _dt.datetime | None) -> str:
    """A time to the second, or ``-``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def seconds(start: _dt.datetime | None, end: _dt.datetime | None) -> float | None:
    """Seconds from ``start`` to ``end`` (milliseconds kept), or None without both."""
    return round((end - start).total_seconds(), 3) if start and end else None


def took(start: _dt.datetime | None, end: _dt.datetime | None) -> str:
    """A duration for a table: ``2.9 s``, or ``-``."""
    elapsed = seconds(start, end)
    return "-" if elapsed is None else f"{elapsed:.1f} s"


def one_line(exc: Exception) -> str:
    """The error's message on one line (a server's traceback, several bad fields).

    Example:
        >>> one_line(ValueError("a: bad\\n  b: worse\\n"))
        'a: bad; b: worse'
    """
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
