"""Entry point of a detached job supervisor: ``python -m ... ROOT NAME REGION PYTHON``.

``fit(wait=False)`` starts this in its own session so the job outlives the notebook
kernel that started it; its progress is in the store and the job's log files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ...clock import SystemClock
from .backend import LocalBackend
from .runner import TrainingRunner


def main(argv: list[str]) -> int:
    root, name, region, python = argv
    backend = LocalBackend(Path(root), region=region, clock=SystemClock(), python=python)
    try:
        TrainingRunner(backend, name).run()
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
