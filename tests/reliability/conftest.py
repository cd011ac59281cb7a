"""Fixtures of the chaos suite (see chaos.py for the method)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlopskit

from .chaos import Caller, Gate, stop_everything


def _supported() -> bool:
    """The harness reads /proc and waits on pidfds: Linux 5.3 or later."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return os.path.isdir("/proc/self")


collect_ignore_glob = [] if _supported() else ["test_*.py"]


class Scenario:
    """One scenario's root, its gates and callers, and a session to judge the outcome with
    (the public API, on the same root)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.root = tmp_path / "root"
        self.session = mlopskit.LocalSession(root=self.root)
        self.gate = Gate(tmp_path / "gate")
        self.go = tmp_path / "go"
        os.mkfifo(self.go)
        self._count = itertools.count(1)

    def caller(self, source: str, **env: str) -> Caller:
        """Start ``source`` (after chaos.PRELUDE) as a process of its own."""
        return Caller(self.root, self.tmp / f"caller-{next(self._count)}", source,
                      {"CHAOS_GATE": str(self.gate.path), "CHAOS_GO": str(self.go), **env})

    def release(self) -> None:
        """Let a program blocked in ``hold()`` go on (the FIFO pairs the two opens)."""
        with open(self.go, "w") as fifo:
            fifo.write("go\n")

    def code(self, name: str, text: str) -> Path:
        """A folder holding one script, to use as ``source_dir``."""
        folder = self.tmp / f"code-{Path(name).stem}"
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text)
        return folder


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    found = Scenario(tmp_path)
    try:
        yield found
    finally:
        stop_everything(found.root)  # a failed scenario must not leave its processes
        found.session.close()
        found.gate.close()
