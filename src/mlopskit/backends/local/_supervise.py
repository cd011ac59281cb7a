"""Entry point of a detached job supervisor: ``python -m ... ROOT NAME REGION PYTHON [KIND]``.

``fit(wait=False)`` and ``run(wait=False)`` start this in its own session so the job
outlives the notebook kernel that started it; its progress is in the store and the job's
log files. ``KIND`` is ``training`` (the default) or ``processing``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ...clock import SystemClock
from .backend import LocalBackend


def main(argv: list[str]) -> int:
    root, name, region, python, *rest = argv
    kind = rest[0] if rest else "training"
    backend = LocalBackend(Path(root), region=region, clock=SystemClock(), python=python)
    try:
        if kind == "processing":
            from .processing import ProcessingRunner

            ProcessingRunner(backend, name).run()
        else:
            from .runner import TrainingRunner

            TrainingRunner(backend, name).run()
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
