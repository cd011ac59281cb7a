"""A detached job's supervisor: ``python -m ... ROOT NAME REGION PYTHON [KIND [CREATOR]]``.

``fit(wait=False)`` and ``run(wait=False)`` start one in its own session so the job
outlives the notebook kernel that started it; its progress is in the store and the job's
log files. ``KIND`` is ``training`` (the default) or ``processing``; ``CREATOR`` is the pid
of the process that created the job: the supervisor takes the job over only while the
job is still that process's (see ``TrainingRunner._claim``). Most supervisors are not
started as a new interpreter but forked by a pre-started one, which runs :func:`run_job`
(see :mod:`._supervisor_server`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ...clock import SystemClock
from .backend import LocalBackend

__all__ = ["main", "run_job"]


def run_job(root: Path, name: str, region: str, python: str, kind: str,
            creator: int | None) -> int:
    """Run job ``name`` of ``kind`` to its end in this process; the exit code."""
    backend = LocalBackend(root, region=region, clock=SystemClock(), python=python)
    try:
        if kind == "processing":
            from .processing import ProcessingRunner

            ProcessingRunner(backend, name, creator=creator).run()
        else:
            from .runner import TrainingRunner

            TrainingRunner(backend, name, creator=creator).run()
    finally:
        backend.close()
    return 0


def main(argv: list[str]) -> int:
    root, name, region, python, *rest = argv
    kind = rest[0] if rest else "training"
    creator = int(rest[1]) if len(rest) > 1 else None
    return run_job(Path(root), name, region, python, kind, creator)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
