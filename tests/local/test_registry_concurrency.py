"""Local registry under concurrent writers: versions unique and gapless, kills harmless."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import mlopskit

WRITER = """
import sys, mlopskit
root, count = sys.argv[1], int(sys.argv[2])
session = mlopskit.LocalSession(root=root)
group = mlopskit.ModelPackageGroup("shared", session=session).create()
model = mlopskit.Model("s3://mlopskit-local/artifacts/model.tar.gz", image_uri="img:1")
print("ready", flush=True)
n = 0
while count < 0 or n < count:
    group.register(model, metrics={"n": n}, note=f"writer {sys.argv[3]}")
    n += 1
"""


def _setup(root: Path) -> mlopskit.ModelPackageGroup:
    session = mlopskit.LocalSession(root=root)
    session.backend.objects.put_bytes(b"model", "s3://mlopskit-local/artifacts/model.tar.gz")
    return mlopskit.ModelPackageGroup("shared", session=session).create()


def _versions(root: Path) -> list[int]:
    with sqlite3.connect(root / "metadata.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT version FROM model_packages WHERE group_name = 'shared' "
                          "ORDER BY version").fetchall()
    return [r[0] for r in rows]


def test_eight_processes_register_800_versions_gapless(tmp_path):
    root = tmp_path / "root"
    group = _setup(root)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), "100", str(i)],
                                stdout=subprocess.DEVNULL) for i in range(8)]
    for writer in writers:
        assert writer.wait(timeout=240) == 0
    assert _versions(root) == list(range(1, 801))
    notes = [p.history[0].note for p in group.versions()]
    assert sorted(notes.count(f"writer {i}") for i in range(8)) == [100] * 8


def test_a_killed_writer_leaves_no_half_written_version(tmp_path):
    root = tmp_path / "root"
    group = _setup(root)
    for _ in range(5):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), "-1", "k"],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        start = len(_versions(root))
        progressed = threading.Event()
        for _ in range(400):  # bounded: until the writer has committed a few versions
            if len(_versions(root)) >= start + 5:
                progressed.set()
                break
            progressed.wait(0.01)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        versions = _versions(root)
        assert versions == list(range(1, len(versions) + 1))
    # Every surviving row is whole: it parses and reads back through the public API.
    packages = list(group.versions(newest_first=False))
    assert [p.version for p in packages] == _versions(root)
    assert all(p.history[0].note == "writer k" for p in packages)
    # And the store still takes writes after the kills.
    model = mlopskit.Model("s3://mlopskit-local/artifacts/model.tar.gz", image_uri="img:1")
    assert group.register(model).version == len(packages) + 1
