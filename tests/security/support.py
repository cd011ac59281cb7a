"""Builders for the security tests: tiny models with inline inference scripts, real
processes found by what they run, raw sockets."""

from __future__ import annotations

import io
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import mlopskit

ECHO = """\
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "weights.txt")) as handle:
        return handle.read()


def transform_fn(model, body, content_type, accept):
    return (model + ":" + (body if isinstance(body, str) else body.decode())), "text/plain"
"""


def tar_gz(files: dict[str, bytes], target: Path) -> Path:
    """A .tar.gz holding ``files`` (name -> content)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return target


def echo_model(session: mlopskit.Session, tmp_path: Path, *, script: str = ECHO,
               weights: bytes = b"v1", key: str = "models/echo") -> mlopskit.Model:
    """A model whose artifact holds ``weights.txt`` and whose code is ``script``."""
    archive = tar_gz({"weights.txt": weights}, tmp_path / key / "model.tar.gz")
    uri = f"s3://{session.default_bucket}/{key}/model.tar.gz"
    session.backend.objects.put_file(archive, uri)
    code = tmp_path / key / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "serve.py").write_text(script)
    return mlopskit.Model(uri, entry_point="serve.py", source_dir=code, session=session)


def hostile_code(marker: Path, target: Path) -> Path:
    """A sourcedir.tar.gz whose serve.py leaves ``marker`` behind the moment it is
    imported: proof that the replaced code ran."""
    script = (f"open({str(marker)!r}, 'w').write('imported')\n" + ECHO).encode()
    return tar_gz({"serve.py": script}, target)


def wait_until(predicate: Callable[[], bool], seconds: float) -> bool:
    """Poll a real condition with a bounded wait (no sleeping in tests)."""
    tick = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        tick.wait(0.05)
    return predicate()


def nothing_left(session: mlopskit.LocalSession, endpoint: str) -> None:
    store = session.backend.store
    for table in ("endpoints", "endpoint_configs", "models"):
        assert store.query_all(f"SELECT name FROM {table}") == [], table
    folder = session.backend.root / "endpoints" / endpoint
    assert not folder.exists() or not any(folder.iterdir()), list(folder.iterdir())
