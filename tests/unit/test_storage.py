"""Safe archives and the folder that plays S3."""

from __future__ import annotations

import io
import sqlite3
import tarfile
from pathlib import Path

import pytest

from mlopskit._archive import make_tar_gz, safe_extract
from mlopskit.backends.local.objectstore import LocalObjectStore
from mlopskit.backends.local.store import SCHEMA_VERSION, Store
from mlopskit.errors import BackendError, NotFoundError, ValidationError


def _tar(path: Path, members: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            if member.isfile():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize("member", [
    _member("../escape.txt"),
    _member("/abs/path.txt"),
    _member("ok/../../escape.txt"),
    _member("link", tarfile.SYMTYPE, "/etc/passwd"),
    _member("link", tarfile.SYMTYPE, "../../outside"),
    _member("hard", tarfile.LNKTYPE, "../outside"),
    _member("dev", tarfile.CHRTYPE),
], ids=["dotdot", "absolute", "nested-dotdot", "abs-symlink", "rel-symlink", "hardlink",
        "device"])
def test_unsafe_archives_are_refused_before_anything_is_written(tmp_path, member):
    archive = _tar(tmp_path / "bad.tar.gz", [_member("fine.txt"), member])
    target = tmp_path / "out"
    with pytest.raises(ValidationError, match="archive member"):
        safe_extract(archive, target)
    assert list(target.iterdir()) == []


def test_round_trip_skips_caches(tmp_path):
    source = tmp_path / "src"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "mod.py").write_text("x = 1")
    (source / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    make_tar_gz(source, tmp_path / "a.tar.gz")
    safe_extract(tmp_path / "a.tar.gz", tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*")) == ["pkg", "pkg/mod.py"]


def test_archives_of_the_same_files_are_identical(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.py").write_text("a")
    make_tar_gz(source, tmp_path / "1.tar.gz")
    make_tar_gz(source, tmp_path / "2.tar.gz")
    assert (tmp_path / "1.tar.gz").read_bytes() == (tmp_path / "2.tar.gz").read_bytes()


def test_object_store_round_trip(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.put_bytes(b"1", "s3://bkt/a/b.txt")
    store.put_bytes(b"2", "s3://bkt/a/c/d.txt")
    store.put_bytes(b"3", "s3://bkt/ab.txt")
    assert store.list("s3://bkt/a/") == ["s3://bkt/a/b.txt", "s3://bkt/a/c/d.txt"]
    assert store.list("s3://bkt/a") == ["s3://bkt/a/b.txt", "s3://bkt/a/c/d.txt",
                                        "s3://bkt/ab.txt"]
    assert store.get_bytes("s3://bkt/a/c/d.txt") == b"2"
    store.delete("s3://bkt/a/c/d.txt")
    assert not (tmp_path / "bkt" / "a" / "c").exists()
    with pytest.raises(NotFoundError):
        store.get_bytes("s3://bkt/a/c/d.txt")
    with pytest.raises(NotFoundError, match="other-bucket"):
        store.list("s3://other-bucket/")


@pytest.mark.parametrize("uri", ["s3://bkt/../x", "s3://bkt/a/../../x", "http://bkt/x",
                                 "s3://bkt/"])
def test_object_store_refuses_escapes_and_prefixes(tmp_path, uri):
    store = LocalObjectStore(tmp_path / "s3")
    with pytest.raises(ValidationError):
        store.put_bytes(b"x", uri)
    assert not any((tmp_path).rglob("x"))


def _version_1_store(path: Path) -> None:
    """The tables a 0.1 store had that changed since, as that version wrote them."""
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema_version', '1');
            CREATE TABLE transform_jobs (
                name TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL,
                failure_reason TEXT, outputs TEXT, records INTEGER, created TEXT NOT NULL,
                ended TEXT);
            INSERT INTO transform_jobs (name, spec, status, created)
                VALUES ('old-job', '{}', 'Completed', '2026-01-01T00:00:00+00:00');
        """)
    db.close()


def test_an_older_store_is_brought_up_to_date_and_keeps_its_rows(tmp_path):
    path = tmp_path / "meta.db"
    _version_1_store(path)
    store = Store(path)
    row = store.query_one("SELECT name, started FROM transform_jobs")
    assert (row["name"], row["started"]) == ("old-job", None)
    assert store.query_one("SELECT value FROM meta WHERE key = 'schema_version'")["value"] \
        == str(SCHEMA_VERSION)
    store.close()
    Store(path).close()  # opening it again changes nothing and does not fail


def test_a_store_from_a_newer_mlopskit_is_refused_untouched(tmp_path):
    path = tmp_path / "meta.db"
    _version_1_store(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(BackendError, match="schema version 99; this mlopskit reads up to"):
        Store(path)
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert tables == {"meta", "transform_jobs"}
