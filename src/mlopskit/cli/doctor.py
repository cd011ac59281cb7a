"""``mlopskit doctor``: check the backend's own state store and settle what dead processes
left running (the ``store-check`` capability: the local backend)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import MlopsKitError, ValidationError
from ._args import action
from ._output import emit

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``doctor`` to the ``mlopskit`` parser."""
    action(commands, "doctor", "check the local store; settle what dead processes left running",
           description="Run SQLite's integrity check on metadata.db, describe every job and "
                       "pipeline execution still running (which fails those whose process "
                       "died and stops what they left), then check mlopskit's invariants. "
                       "Exit 0 when all is well, 1 when problems remain. Local backend only.")


def run(args: argparse.Namespace, session: Session) -> None:
    """Check ``session``'s store; a :class:`~mlopskit.errors.MlopsKitError` (exit 1) when
    problems remain."""
    from ..plugins import Capability

    # A bad argument (exit 2) rather than a refusal: there is nothing to check elsewhere.
    if Capability.STORE_CHECK not in session.backend.capabilities:
        raise ValidationError(f"--backend: doctor checks the local backend's store (SageMaker "
                              f"keeps its own state); drop --backend {session.backend_name}",
                              field="backend")
    report = session.backend.check_store()  # no public object: the backend protocol's verb
    lines = [f"root {report.root}",
             "metadata.db: " + ("integrity ok" if not report.integrity else "DAMAGED")]
    lines += [f"  integrity: {line}" for line in report.integrity]
    lines += [f"settled: {line}" for line in report.settled]
    lines += [f"problem: {line}" for line in report.problems]
    lines += [f"leftover: {path} (an interrupted upload's temporary file)"
              for path in report.leftovers]
    count = len(report.integrity) + len(report.problems)
    lines.append("ok" if report.ok else f"{count} problem{'s' if count != 1 else ''}")
    emit(args, report.to_dict(), "\n".join(lines))
    if not report.ok:
        raise MlopsKitError(f"the store at {report.root} has {count} problem"
                            f"{'s' if count != 1 else ''} (listed above)")
