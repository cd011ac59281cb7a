"""``mlopskit demo``: the end-to-end demo on a fresh local session (see README)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ValidationError
from ._args import action

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``demo`` to the ``mlopskit`` parser."""
    demo = action(
        commands, "demo", "run the end-to-end demo on the local backend (about a minute)",
        json=False,
        description="Make data, run a pipeline (preprocess -> train -> evaluate -> "
                    "register), approve, deploy, predict, batch transform, canary a second "
                    "version in, and print where everything is stored. Local backend only.")
    demo.add_argument("--rows", type=int, default=3000,
                      help="customers in the training data (500..200000, default 3000)")


def run(args: argparse.Namespace) -> None:
    """Run the demo in ``--root`` (it always runs locally, whatever the environment says)."""
    import importlib.util

    from ..errors import MissingDependencyError

    if args.backend not in (None, "local"):
        raise ValidationError(f"--backend: the demo runs on the local backend only (it needs "
                              f"no AWS account); drop --backend {args.backend}",
                              field="backend")
    if not 500 <= args.rows <= 200_000:
        raise ValidationError(f"--rows: between 500 and 200000, got {args.rows}",
                              field="rows")
    for module in ("sklearn", "joblib"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"the demo trains scikit-learn models: pip install "
                                         f"'mlopskit[examples]' ({module} is missing)",
                                         extra="examples")
    from ..demo import run_demo
    from ..session import LocalSession

    run_demo(LocalSession(root=args.root), rows=args.rows)
